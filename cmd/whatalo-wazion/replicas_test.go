package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/redisshare/redistest"
	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// The replica tests run three services whose rate_limit is 60 a minute
// against one fake Whatalo, and read from the fake the most requests its
// key received in any window. So that a run takes seconds, the fake counts
// over a shorter window w, and the bound is what a 60-a-minute budget lets
// through in any window w: the limiters (local bucket and shared GCRA
// alike) allow a burst of a tenth of the budget, then the rest spread over
// the minute, so window(60, 60 s) is 60 and window(60, 3 s) is 6 + 2.7,
// that is 8. Three replicas each holding their own 60 a minute send three
// bursts at once, which no shorter window can hide. The fake itself allows
// far more, so that only the services' limiters hold the traffic back:
// Whatalo's rate-limit headers, which also pause a replica, play no part.
const (
	replicaLimit  = 60
	replicaWindow = 3 * time.Second
	fakeLimit     = 10000
)

// window is the most requests a per-minute budget allows in any window w.
func window(perMinute int, w time.Duration) int {
	burst := max(1, perMinute/10)
	return burst + int(float64(perMinute-burst)*w.Seconds()/60)
}

func TestReplicaWindowBound(t *testing.T) {
	if got := window(60, time.Minute); got != 60 {
		t.Fatalf("window(60, 1m) = %d, want the whole budget", got)
	}
	if got := window(replicaLimit, replicaWindow); got != 8 {
		t.Fatalf("window(60, 3s) = %d, want 8", got)
	}
}

// startReplicas runs n services for one store against fake, sharing
// redisURL when it is not empty. Their index is off unless withIndex, so
// that every lookup of an unknown query costs an upstream call; their
// margin leaves globalSearch half a second, so a request the budget cannot
// serve soon is refused at once instead of waiting.
func startReplicas(t *testing.T, fake *whatalotest.Server, n int, redisURL string, withIndex bool) []*testService {
	t.Helper()
	env := map[string]string{
		"WHATALO_RATE_LIMIT": strconv.Itoa(replicaLimit),
		"LOG_LEVEL":          "info",
	}
	if redisURL != "" {
		env["REDIS_URL"] = redisURL
		env["REDIS_EXPECTED_REPLICAS"] = strconv.Itoa(n)
	}
	out := make([]*testService, n)
	for i := range out {
		out[i] = startService(t, fake, env, func(c *config.Config) {
			c.Server.Margin = 4500 * time.Millisecond
			c.Server.TokenRate = -1
			c.Index.Disabled = !withIndex
			c.Index.RefreshInterval = 2 * time.Second
			// Answers kept longer than any wait below: a changed answer
			// must come from another replica's message, not from expiry.
			c.Server.AnswerTTL = time.Minute
		})
		// /readyz reads the store's settings, which stay cached: later
		// probes do not depend on the budget the load spends. On a busy
		// machine Redis may answer late at first, and the replica then
		// probes on its own small share of the budget: give it a moment.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(250 * time.Millisecond) {
			status, body := out[i].get(t, "/readyz")
			if status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d not ready: %s", i+1, body)
			}
		}
	}
	return out
}

// loadResult sums up the WAzion answers of a load run.
type loadResult struct {
	mu       sync.Mutex
	requests int
	bad      []string // answers that were not 200 with a JSON object
	slowest  time.Duration
}

func (r *loadResult) add(status int, body string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.slowest = max(r.slowest, d)
	var obj map[string]any
	if status != http.StatusOK || json.Unmarshal([]byte(body), &obj) != nil {
		if len(r.bad) < 5 {
			r.bad = append(r.bad, fmt.Sprintf("%d %.200s", status, body))
		}
	}
}

// load sends globalSearch requests for queries no customer matches, each
// new, spread over every replica, until ctx ends.
func load(ctx context.Context, t *testing.T, replicas []*testService, res *loadResult) {
	var wg sync.WaitGroup
	for _, r := range replicas {
		for range 3 {
			wg.Go(func() {
				client := &http.Client{Timeout: 10 * time.Second}
				for ctx.Err() == nil {
					q := fmt.Sprintf("zq%08x", rand.Uint32())
					start := time.Now()
					resp, err := client.Get(r.URL + wazionPath("globalSearch", "query", q))
					if err != nil {
						res.add(0, err.Error(), time.Since(start))
						continue
					}
					var body [4096]byte
					n, _ := resp.Body.Read(body[:])
					for {
						if _, err := resp.Body.Read(body[n:]); err != nil {
							break
						}
					}
					resp.Body.Close()
					res.add(resp.StatusCode, string(body[:n]), time.Since(start))
					time.Sleep(25 * time.Millisecond)
				}
			})
		}
	}
	wg.Wait()
}

// runLoad loads the replicas for d and checks every answer.
func runLoad(t *testing.T, replicas []*testService, d time.Duration) *loadResult {
	t.Helper()
	res := &loadResult{}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	load(ctx, t, replicas, res)
	return res
}

func (r *loadResult) check(t *testing.T, what string) {
	t.Helper()
	// Requests wait for their turn, so few are sent; enough to ask for
	// more than twice the budget is all the runs need.
	if r.requests <= 2*window(replicaLimit, replicaWindow) {
		t.Errorf("%s: only %d requests sent", what, r.requests)
	}
	if len(r.bad) > 0 {
		t.Errorf("%s: answers that were not 200 with JSON: %q", what, r.bad)
	}
	// globalSearch's budget is 5 s.
	if r.slowest >= 5*time.Second {
		t.Errorf("%s: slowest answer took %s, past WAzion's 5 s budget", what, r.slowest)
	}
}

func TestReplicasShareOneBudget(t *testing.T) {
	t.Parallel()
	limit := window(replicaLimit, replicaWindow)
	srv := redistest.Start(t)
	fake := whatalotest.NewServer(t, nil, whatalotest.WithRateLimit(fakeLimit), whatalotest.WithWindow(replicaWindow))
	replicas := startReplicas(t, fake, 3, srv.URL, false)

	res := runLoad(t, replicas, replicaWindow+500*time.Millisecond)
	res.check(t, "with redis")
	st := fake.Stats()
	t.Logf("with redis: %d WAzion requests, %d upstream, busiest %s window %d (bound %d)",
		res.requests, st.Total, replicaWindow, st.MaxPerMinute, limit)
	if st.MaxPerMinute > limit {
		t.Errorf("three replicas sent %d requests in one %s window; one budget of %d a minute allows %d",
			st.MaxPerMinute, replicaWindow, replicaLimit, limit)
	}
	if st.MaxPerMinute < limit-3 {
		t.Errorf("busiest window held %d requests: the load did not reach the bound %d, so it proves nothing", st.MaxPerMinute, limit)
	}
	for i, r := range replicas {
		if n := r.scrape(t).sum("whatalo_wazion_redis_calls_total", "op", "rate"); n == 0 {
			t.Errorf("replica %d never asked the shared budget", i+1)
		}
	}
}

func TestReplicasWithoutRedisOverrunTheBudget(t *testing.T) {
	t.Parallel()
	// The same run without Redis, for contrast: each replica spends the
	// whole budget.
	limit := window(replicaLimit, replicaWindow)
	fake := whatalotest.NewServer(t, nil, whatalotest.WithRateLimit(fakeLimit), whatalotest.WithWindow(replicaWindow))
	replicas := startReplicas(t, fake, 3, "", false)
	res := runLoad(t, replicas, replicaWindow+500*time.Millisecond)
	res.check(t, "without redis")
	st := fake.Stats()
	t.Logf("without redis: %d WAzion requests, %d upstream, busiest %s window %d (bound %d)",
		res.requests, st.Total, replicaWindow, st.MaxPerMinute, limit)
	if st.MaxPerMinute <= limit {
		t.Errorf("without a shared budget three replicas stayed within it (busiest window %d, bound %d): the contrast shows nothing",
			st.MaxPerMinute, limit)
	}
}

func TestReplicasShareWebhooks(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	fake := whatalotest.NewServer(t, nil)
	replicas := startReplicas(t, fake, 3, srv.URL, true)
	first, third := replicas[0], replicas[2]

	// One replica syncs the index; the others load its snapshot.
	leaders := 0
	for i, r := range replicas {
		b := r.svc.backend(config.DefaultStoreName)
		eventually(t, 10*time.Second, fmt.Sprintf("replica %d's index ready", i+1), func() bool {
			return b.IndexStatus().State == "ready"
		})
		if b.IndexStatus().Role == "leader" {
			leaders++
		}
	}
	if leaders != 1 {
		t.Errorf("%d replicas sync the index, want 1", leaders)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	eventually(t, 5*time.Second, "every replica subscribed to the bus", func() bool {
		chans, err := rdb.PubSubChannels(context.Background(), "*").Result()
		if err != nil || len(chans) != 1 {
			return false
		}
		n, err := rdb.PubSubNumSub(context.Background(), chans[0]).Result()
		return err == nil && n[chans[0]] == 3
	})

	name := func(r *testService) string {
		_, body := r.get(t, wazionPath("sidePanel_CustomerInfo", "phone", "+18095551234"))
		var resp struct {
			Customers []struct{ Name string } `json:"customers"`
		}
		if err := json.Unmarshal([]byte(body), &resp); err != nil || len(resp.Customers) == 0 {
			t.Fatalf("customer info: %s", body)
		}
		return resp.Customers[0].Name
	}
	if got := name(third); got != "María García" {
		t.Fatalf("before the webhook replica 3 answers %q", got)
	}
	status, err := fake.Emit(context.Background(), whatalotest.Delivery{
		URL:    first.URL + "/webhooks/whatalo/" + config.DefaultStoreName,
		Secret: testWebhookSecret,
		Event:  "customer.updated",
		Data:   json.RawMessage(`{"id":"365047281936","name":"María G. de Peña"}`),
	})
	if err != nil || status != http.StatusOK {
		t.Fatalf("webhook to replica 1: %d %v", status, err)
	}
	eventually(t, 2*time.Second, "replica 3's answer to change", func() bool {
		return name(third) == "María G. de Peña"
	})
	if got := third.scrape(t).sum("whatalo_wazion_bus_messages_received_total"); got < 1 {
		t.Errorf("replica 3 counted %v bus messages", got)
	}
}

func TestReplicasRideOutRedisOutage(t *testing.T) {
	t.Parallel()
	limit := window(replicaLimit, replicaWindow)
	srv := redistest.Start(t)
	fake := whatalotest.NewServer(t, nil, whatalotest.WithRateLimit(fakeLimit), whatalotest.WithWindow(replicaWindow))
	replicas := startReplicas(t, fake, 3, srv.URL, false)
	readyz := func(r *testService) (int, readiness) {
		status, body := r.get(t, "/readyz")
		var out readiness
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("/readyz: %s", body)
		}
		return status, out
	}

	ctx, cancel := context.WithCancel(context.Background())
	res := &loadResult{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		load(ctx, t, replicas, res)
	}()
	time.Sleep(time.Second)
	srv.Stop()
	eventually(t, 3*time.Second, "replica 2 to report redis degraded", func() bool {
		status, out := readyz(replicas[1])
		return status == http.StatusOK && out.Status == "ready" && out.Redis != nil && out.Redis.Status == "degraded"
	})
	if up := replicas[1].scrape(t).sum("whatalo_wazion_redis_up"); up != 0 {
		t.Errorf("redis_up = %v while Redis is down", up)
	}
	// Long enough for the replicas' shares, which start empty, to serve
	// calls: each refills 54/3 a minute, one every 3.3 s.
	time.Sleep(4 * time.Second)
	degraded := 0
	for _, r := range replicas {
		if r.svc.sharing.limiters[config.DefaultStoreName].SharedState().Degraded {
			degraded++
		}
	}
	if degraded == 0 {
		t.Error("no replica's limiter fell back while Redis was down")
	}

	srv.Restart()
	for i, r := range replicas {
		eventually(t, 5*time.Second, fmt.Sprintf("replica %d to report redis ok", i+1), func() bool {
			_, out := readyz(r)
			return out.Redis != nil && out.Redis.Status == "ok"
		})
	}
	// Back on the shared budget: Redis, restarted empty, holds its state.
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	eventually(t, 5*time.Second, "the shared budget in use again", func() bool {
		keys, err := rdb.Keys(context.Background(), "rate:*").Result()
		return err == nil && len(keys) > 0
	})
	time.Sleep(500 * time.Millisecond)
	cancel()
	<-done

	res.check(t, "through a Redis outage")
	st := fake.Stats()
	t.Logf("redis outage: %d WAzion requests, %d upstream, busiest %s window %d (bound %d)",
		res.requests, st.Total, replicaWindow, st.MaxPerMinute, limit)
	if st.MaxPerMinute > limit {
		t.Errorf("through the outage three replicas sent %d requests in one %s window (bound %d)",
			st.MaxPerMinute, replicaWindow, limit)
	}
	// Upstream calls went on during the outage, from each replica's share.
	var fallbacks int64
	for _, r := range replicas {
		fallbacks += r.svc.sharing.limiters[config.DefaultStoreName].SharedState().Fallbacks
	}
	if fallbacks == 0 {
		t.Error("no upstream call was made from a replica's share during the outage")
	}
}

func TestRedisMetricsAndReadiness(t *testing.T) {
	srv := redistest.Start(t)
	fake := whatalotest.NewServer(t, nil)
	with := startService(t, fake, map[string]string{"REDIS_URL": srv.URL}, nil)
	without := startService(t, fake, nil, nil)

	problems, err := testutil.GatherAndLint(with.svc.metrics.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, metricsNamespace) {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	m := with.scrape(t)
	for _, name := range []string{
		"whatalo_wazion_redis_up", "whatalo_wazion_redis_calls_total", "whatalo_wazion_redis_errors_total",
		"whatalo_wazion_shared_limiter_degraded", "whatalo_wazion_shared_limiter_fallback_total",
		"whatalo_wazion_shared_limiter_rejections_total", "whatalo_wazion_shared_cache_lost_writes_total",
		"whatalo_wazion_bus_messages_received_total", "whatalo_wazion_bus_publish_errors_total",
	} {
		if m[name] == nil {
			t.Errorf("metric %s missing with Redis", name)
		}
	}
	if m.sum("whatalo_wazion_redis_up") != 1 {
		t.Error("redis_up is not 1 with Redis running")
	}
	if without.scrape(t)["whatalo_wazion_redis_up"] != nil {
		t.Error("redis metrics exported without Redis")
	}
	_, body := without.get(t, "/readyz")
	if strings.Contains(body, `"redis"`) {
		t.Errorf("/readyz without Redis mentions it: %s", body)
	}
	_, body = with.get(t, "/readyz")
	if !strings.Contains(body, `"redis":{"status":"ok"}`) {
		t.Errorf("/readyz with Redis: %s", body)
	}
	if strings.Contains(with.Logs.String(), srv.URL) {
		t.Error("the log shows the Redis URL, which may hold a password")
	}
}
