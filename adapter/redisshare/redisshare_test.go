package redisshare

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/redisshare/redistest"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

func newClient(t *testing.T, srv *redistest.Server, prefix string) *Client {
	t.Helper()
	c, err := New(Options{URL: srv.URL, KeyPrefix: prefix, PingInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// hammer asks l for turns from workers goroutines for d and returns the
// times of the turns given.
func hammer(l *Limiter, p whatalo.Priority, workers int, d time.Duration) []time.Time {
	var mu sync.Mutex
	var got []time.Time
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(end) {
				wait, err := l.Allow(context.Background(), p)
				if err != nil {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				if wait > 0 {
					time.Sleep(min(wait, time.Until(end)+time.Millisecond))
					continue
				}
				mu.Lock()
				got = append(got, time.Now())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return got
}

// busiest returns the most turns within any window of length w.
func busiest(ts []time.Time, w time.Duration) int {
	best := 0
	for i := range ts {
		n := 0
		for j := range ts {
			if !ts[j].Before(ts[i]) && ts[j].Sub(ts[i]) < w {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

func TestLimiterHoldsReplicasToOneBudget(t *testing.T) {
	srv := redistest.Start(t)
	// 60 per 3 s: a burst of 6, then 18 a second, for all replicas.
	const per, period = 60, 3 * time.Second
	var all []time.Time
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 3 {
		l := newClient(t, srv, "t1:").limiter("wk_test_shared", per, 1, period)
		wg.Go(func() {
			ts := hammer(l, whatalo.Interactive, 4, 1500*time.Millisecond)
			mu.Lock()
			all = append(all, ts...)
			mu.Unlock()
		})
	}
	wg.Wait()
	// Any window w holds at most burst + rate*w turns.
	limit := 6 + int(18*1.5) + 1 // +1: the window's edge
	if len(all) > limit {
		t.Errorf("three replicas got %d turns in 1.5 s; one budget allows %d", len(all), limit)
	}
	if len(all) < 20 {
		t.Errorf("three replicas got only %d turns in 1.5 s; the budget allows about 33", len(all))
	}
	if b := busiest(all, 500*time.Millisecond); b > 6+9+1 {
		t.Errorf("busiest 500 ms window held %d turns, want at most 16", b)
	}
}

func TestLimiterBackgroundShareLeavesInteractiveTurns(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv, "t2:")
	l := c.limiter("wk_test_bg", 100, 0.5, 10*time.Second)
	// Background may take half the burst (5) and half the rate.
	got := hammer(l, whatalo.Background, 2, 300*time.Millisecond)
	if len(got) < 5 || len(got) > 7 {
		t.Fatalf("background got %d turns in 300 ms, want its share of the burst, 5 (+ refill)", len(got))
	}
	wait, err := l.Allow(context.Background(), whatalo.Background)
	if err != nil || wait == 0 {
		t.Fatalf("background after its share: wait %s, err %v; want a wait", wait, err)
	}
	for i := range 3 {
		wait, err := l.Allow(context.Background(), whatalo.Interactive)
		if err != nil || wait != 0 {
			t.Fatalf("interactive call %d after background used its share: wait %s, err %v", i, wait, err)
		}
	}
}

func TestLimiterChargeTakesWhatIsLeft(t *testing.T) {
	srv := redistest.Start(t)
	l := newClient(t, srv, "t3:").limiter("wk_test_charge", 100, 1, time.Minute)
	if err := l.Charge(context.Background(), 1000); err != nil {
		t.Fatal(err)
	}
	wait, err := l.Allow(context.Background(), whatalo.Interactive)
	if err != nil || wait == 0 {
		t.Fatalf("after charging more than the burst: wait %s, err %v; want a wait", wait, err)
	}
	if wait > 2*time.Second {
		t.Fatalf("wait %s: a charge must take at most what is left, not run a debt", wait)
	}
}

func TestLimiterKeysAreHashed(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv, "t4:")
	l := c.Limiter("wk_live_supersecret", 900, 0.3)
	if strings.Contains(l.all+l.bg, "supersecret") {
		t.Fatalf("limiter keys %q %q hold the API key", l.all, l.bg)
	}
	if l.lim.Burst != 90 || l.lim.Rate != 810 || l.lim.Period != time.Minute {
		t.Fatalf("limit = %+v, want burst 90 and 810/min (900 in any minute)", l.lim)
	}
	if _, err := l.Allow(context.Background(), whatalo.Background); err != nil {
		t.Fatal(err)
	}
}

func TestStoreCache(t *testing.T) {
	srv := redistest.Start(t)
	a := newClient(t, srv, "t5:").Store("shop", "wk_test_a")
	b := newClient(t, srv, "t5:").Store("shop", "wk_test_a") // another replica
	other := newClient(t, srv, "t5:").Store("other", "wk_test_a")
	ctx := context.Background()
	err := a.Write(ctx, []cache.SharedWrite{
		{Key: "customer:1", Value: []byte("one"), TTL: time.Minute},
		{Key: "customer:2", Value: []byte("two"), TTL: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := b.Get(ctx, "customer:1"); err != nil || !ok || string(v) != "one" {
		t.Fatalf("another replica reads %q %v %v, want one", v, ok, err)
	}
	if _, ok, _ := other.Get(ctx, "customer:1"); ok {
		t.Fatal("another store sees the entry")
	}
	if err := b.Write(ctx, []cache.SharedWrite{{Key: "customer:1"}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := a.Get(ctx, "customer:1"); ok || err != nil {
		t.Fatalf("after delete: found %v, err %v", ok, err)
	}
	time.Sleep(150 * time.Millisecond)
	if _, ok, _ := a.Get(ctx, "customer:2"); ok {
		t.Fatal("entry outlived its TTL")
	}
	st := a.c.Stats()
	if st.CacheHits != 0 || st.CacheMisses != 2 || st.Calls[OpCacheGet] != 2 {
		t.Fatalf("stats of the first replica = %+v", st)
	}
}

func TestStoreBus(t *testing.T) {
	srv := redistest.Start(t)
	a := newClient(t, srv, "t6:").Store("shop", "wk_test_a")
	b := newClient(t, srv, "t6:").Store("shop", "wk_test_a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 10)
	subscribed := make(chan error, 2)
	for _, s := range []*Store{a, b} {
		go func() {
			subscribed <- s.Subscribe(ctx, func(msg []byte) { got <- string(msg) })
		}()
	}
	// Subscriptions are confirmed before Subscribe hands messages on; wait
	// until Redis counts both.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := a.c.rdb.PubSubNumSub(ctx, a.channel).Result()
		if err == nil && n[a.channel] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscriptions not made: %v %v", n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.Publish(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case m := <-got:
			if m != "hello" {
				t.Fatalf("got %q", m)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("a subscriber did not get the message")
		}
	}
	cancel()
	for range 2 {
		if err := <-subscribed; err != nil {
			t.Fatalf("Subscribe returned %v when its context ended", err)
		}
	}
}

func TestStoreLeaseAndIndex(t *testing.T) {
	srv := redistest.Start(t)
	a := newClient(t, srv, "t7:").Store("shop", "wk_test_a")
	b := newClient(t, srv, "t7:").Store("shop", "wk_test_a")
	ctx := context.Background()
	steps := []struct {
		s    *Store
		ttl  time.Duration
		want bool
	}{
		{a, time.Minute, true},
		{b, time.Minute, false},
		{a, 200 * time.Millisecond, true}, // extends, shortened
		{b, time.Minute, false},
	}
	for i, st := range steps {
		held, err := st.s.Acquire(ctx, st.ttl)
		if err != nil || held != st.want {
			t.Fatalf("step %d: held %v err %v, want %v", i, held, err, st.want)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if held, _ := b.Acquire(ctx, time.Minute); !held {
		t.Fatal("lease not free after its TTL")
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if held, _ := a.Acquire(ctx, time.Minute); held {
		t.Fatal("a released a lease it no longer held")
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if held, _ := a.Acquire(ctx, time.Minute); !held {
		t.Fatal("lease not free after Release")
	}

	if m, err := b.Meta(ctx); m != nil || err != nil {
		t.Fatalf("meta before any save = %q, %v", m, err)
	}
	if err := a.Save(ctx, []byte("m1"), []byte("snap1")); err != nil {
		t.Fatal(err)
	}
	if err := a.Save(ctx, []byte("m2"), nil); err != nil {
		t.Fatal(err)
	}
	m, err1 := b.Meta(ctx)
	s, err2 := b.Snapshot(ctx)
	if string(m) != "m2" || string(s) != "snap1" || err1 != nil || err2 != nil {
		t.Fatalf("meta %q snapshot %q (%v %v), want m2 and the snapshot kept", m, s, err1, err2)
	}
}

func TestRedisDownFailsFastAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	var ups, downs atomic.Int32
	c, err := New(Options{
		URL: srv.URL, KeyPrefix: "t8:", PingInterval: 100 * time.Millisecond,
		OnChange: func(up bool, err error) {
			if up {
				ups.Add(1)
			} else {
				downs.Add(1)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l := c.Limiter("wk_test_down", 100, 1)
	s := c.Store("shop", "wk_test_down")
	ctx := context.Background()
	if _, err := l.Allow(ctx, whatalo.Interactive); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	for i := range 20 {
		start := time.Now()
		_, err1 := l.Allow(ctx, whatalo.Interactive)
		_, _, err2 := s.Get(ctx, "k")
		if err1 == nil || err2 == nil {
			t.Fatalf("call %d with Redis down: %v, %v; want errors", i, err1, err2)
		}
		if el := time.Since(start); el > 150*time.Millisecond {
			t.Fatalf("call %d with Redis down took %s", i, el)
		}
	}
	h := c.Health()
	if h.Up || h.LastError == "" || downs.Load() != 1 {
		t.Fatalf("health with Redis down = %+v (downs %d)", h, downs.Load())
	}
	if !errors.Is(func() error { _, err := l.Allow(ctx, whatalo.Interactive); return err }(), ErrUnavailable) {
		t.Error("calls right after a failure should be refused without asking Redis")
	}

	srv.Restart()
	deadline := time.Now().Add(3 * time.Second)
	for !c.Health().Up {
		if time.Now().After(deadline) {
			t.Fatal("health did not recover after Redis came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := l.Allow(ctx, whatalo.Interactive); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if ups.Load() != 1 {
		t.Fatalf("OnChange(up) called %d times, want 1", ups.Load())
	}
}

func TestURLErrorsHidePassword(t *testing.T) {
	for _, u := range []string{
		"redis://user:s3cretpw@localhost:notaport/0",
		"http://user:s3cretpw@localhost:6379",
		"redis://user:s3cretpw@local host:6379",
	} {
		_, err := New(Options{URL: u})
		if err == nil {
			t.Errorf("New(%q) accepted a bad URL", strings.ReplaceAll(u, "s3cretpw", "***"))
			continue
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("error %q shows the password", err)
		}
	}
}

func TestSubscribeFailsWhenRedisIsDown(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv, "t9:")
	s := c.Store("shop", "wk_test_a")
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var buf bytes.Buffer
	err := s.Subscribe(ctx, func(msg []byte) { buf.Write(msg) })
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Subscribe with Redis down returned %v after the context ended: want a prompt error", err)
	}
}

// Ping names the cause of a failure, and go-redis' own messages about it
// reach the Client's logger (at debug level), not the process's stderr.
func TestPingNamesTheCauseAndLogsThroughSlog(t *testing.T) {
	srv := redistest.Start(t)
	addr := srv.Addr
	srv.Stop()
	var buf syncBuffer
	c, err := New(Options{
		URL:    "redis://:s3cretpw@" + addr + "/0",
		Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = c.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Ping with Redis stopped = %v, want a refused connection", err)
	}
	if c.Health().Up {
		t.Error("health up after a failed Ping")
	}
	logged := buf.String()
	if !strings.Contains(logged, "failed to dial") || !strings.Contains(logged, `"level":"DEBUG"`) {
		t.Errorf("go-redis' dial failure not in the Client's log at debug level:\n%s", logged)
	}
	if strings.Contains(logged, "s3cretpw") {
		t.Error("the log shows the password")
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With master_name in the URL the client asks Redis Sentinel for the
// master and shares through it like through a single Redis.
func TestSentinelURL(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "shop-master")
	c, err := New(Options{URL: sentinel.URL, KeyPrefix: "ts:"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping through the sentinel: %v", err)
	}
	s := c.Store("shop", "wk_test_sentinel")
	if err := s.Write(ctx, []cache.SharedWrite{{Key: "k", Value: []byte("v"), TTL: time.Minute}}); err != nil {
		t.Fatalf("write through the sentinel: %v", err)
	}
	// The value is in the master the sentinel watches.
	direct := newClient(t, master, "ts:")
	if got, ok, err := direct.Store("shop", "wk_test_sentinel").Get(ctx, "k"); err != nil || !ok || string(got) != "v" {
		t.Fatalf("master holds %q, %v, %v; want the value written through the sentinel", got, ok, err)
	}
	if _, err := c.Limiter("wk_test_sentinel", 60, 0.5).Allow(ctx, whatalo.Interactive); err != nil {
		t.Errorf("limiter through the sentinel: %v", err)
	}

	// A master name the sentinel does not know is a failure with a cause.
	bad, err := New(Options{URL: strings.Replace(sentinel.URL, "shop-master", "other", 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.Ping(ctx); err == nil {
		t.Error("Ping with an unknown master name succeeded")
	} else {
		t.Logf("unknown master: %v", err)
	}
}

// When the sentinel promotes a replica, the client follows it.
func TestSentinelFailover(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.StartReplica(t, master)
	sentinel := redistest.StartSentinel(t, master, "shop-master")
	c, err := New(Options{URL: sentinel.URL, KeyPrefix: "tf:", PingInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := c.Store("shop", "wk_test_failover")
	ctx := context.Background()
	if err := s.Write(ctx, []cache.SharedWrite{{Key: "before", Value: []byte("1"), TTL: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	// The sentinel promotes only a replica it knows and that is in sync.
	direct := newClient(t, replica, "tf:")
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr})
	defer sc.Close()
	ready := time.Now().Add(20 * time.Second)
	for {
		_, synced, _ := direct.Store("shop", "wk_test_failover").Get(ctx, "before")
		known, _ := sc.Replicas(ctx, "shop-master").Result()
		if synced && len(known) == 1 {
			break
		}
		if time.Now().After(ready) {
			t.Fatalf("replica not ready for a failover: synced %v, sentinel knows %d replicas", synced, len(known))
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	master.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		err := s.Write(wctx, []cache.SharedWrite{{Key: "after", Value: []byte("2"), TTL: time.Minute}})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write through the sentinel 30 s after the master stopped: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("writes resumed %s after the master stopped", time.Since(start).Round(time.Millisecond))
	if got, ok, err := direct.Store("shop", "wk_test_failover").Get(ctx, "after"); err != nil || !ok || string(got) != "2" {
		t.Fatalf("promoted replica holds %q, %v, %v; want the write made after the failover", got, ok, err)
	}
}

func TestStoreWebhookState(t *testing.T) {
	srv := redistest.Start(t)
	a := newClient(t, srv, "tw:").Store("shop", "wk_test_a")
	b := newClient(t, srv, "tw:").Store("shop", "wk_test_a") // another replica
	ctx := context.Background()
	if fresh, err := a.Remember(ctx, "id:dlv_1", time.Minute); !fresh || err != nil {
		t.Fatalf("first Remember: %v %v", fresh, err)
	}
	if fresh, err := b.Remember(ctx, "id:dlv_1", time.Minute); fresh || err != nil {
		t.Fatalf("another replica's Remember of the same key: %v %v, want not new", fresh, err)
	}
	if fresh, _ := a.Remember(ctx, "id:short", 50*time.Millisecond); !fresh {
		t.Fatal("Remember of a new key said it was known")
	}
	time.Sleep(100 * time.Millisecond)
	if fresh, _ := b.Remember(ctx, "id:short", time.Minute); !fresh {
		t.Error("a key outlived its TTL")
	}
	if v, err := b.ReadState(ctx, "carts:x"); v != nil || err != nil {
		t.Fatalf("ReadState of nothing = %q, %v", v, err)
	}
	if err := a.WriteState(ctx, "carts:x", []byte("list"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, err := b.ReadState(ctx, "carts:x"); string(v) != "list" || err != nil {
		t.Fatalf("ReadState = %q, %v", v, err)
	}
	if ttl := a.c.rdb.PTTL(ctx, a.hooks+"carts:x").Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("state kept for %s, want the hour given", ttl)
	}
	if err := b.WriteState(ctx, "carts:x", nil, 0); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.ReadState(ctx, "carts:x"); v != nil {
		t.Errorf("deleted state reads %q", v)
	}
	if other, _ := newClient(t, srv, "tw:").Store("other", "wk_test_a").Remember(ctx, "id:dlv_1", time.Minute); !other {
		t.Error("another store shares the deliveries seen")
	}
}

// What a Backend keeps in Redis from its webhooks lasts as long as its
// memory would: a delivery id a day, a signature until its timestamp
// goes stale, a cart and a completion the 30 days a cart is shown.
func TestWebhookStateTTLsMatchTheMemoryBounds(t *testing.T) {
	srv := redistest.Start(t)
	fake := whatalotest.NewServer(t, nil)
	c := newClient(t, srv, "tt:")
	client, err := whatalo.NewClient(fake.APIKey, whatalo.WithBaseURL(fake.APIURL), whatalo.WithRetryMax(0))
	if err != nil {
		t.Fatal(err)
	}
	st := c.Store("demo", fake.APIKey)
	o := adapter.Options{Name: "demo", Region: "DO", WebhookSecret: "whsec_ttl", Index: adapter.IndexOptions{Disabled: true}}
	o.Shared.Webhooks = st
	b := adapter.New(client, o)
	defer b.Close()
	now := time.Now()
	for _, d := range []struct{ event, body string }{
		{"checkout.abandoned", `{"checkout":{"id":"chk_t","customer":{"phone":"+18095551234"}}}`},
		{"checkout.completed", `{"checkout":{"id":"chk_u","customer":{"phone":"+18095557777"}}}`},
	} {
		h := http.Header{}
		h.Set(whatalo.HeaderWebhookEvent, d.event)
		h.Set(whatalo.HeaderWebhookID, "dlv_"+d.event)
		whatalo.SignWebhook(h, "whsec_ttl", []byte(d.body), now)
		if _, err := b.HandleWebhook(context.Background(), h, []byte(d.body)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	keys, err := c.rdb.Keys(ctx, st.hooks+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	want := map[string][2]time.Duration{
		"id:":                 {day - time.Minute, day},
		"sig:":                {whatalo.WebhookTolerance - time.Minute, whatalo.WebhookTolerance + 10*time.Second},
		"carts:":              {30*day - time.Minute, 30 * day},
		"checkout-completed:": {30*day - time.Minute, 30 * day},
	}
	seen := map[string]int{}
	for _, k := range keys {
		name := strings.TrimPrefix(k, st.hooks)
		ttl := c.rdb.PTTL(ctx, k).Val()
		matched := false
		for prefix, bounds := range want {
			if strings.HasPrefix(name, prefix) {
				matched = true
				seen[prefix]++
				if ttl < bounds[0] || ttl > bounds[1] {
					t.Errorf("%s kept for %s, want %s to %s", name, ttl, bounds[0], bounds[1])
				}
			}
		}
		if !matched {
			t.Errorf("unexpected key %s", name)
		}
		if strings.Contains(k, "whsec_ttl") {
			t.Errorf("key %s shows the webhook secret", k)
		}
	}
	if seen["id:"] != 2 || seen["sig:"] != 2 || seen["carts:"] != 1 || seen["checkout-completed:"] != 1 {
		t.Errorf("keys by kind = %v", seen)
	}
}

func TestLimiterReserveKeepsTheShareFromOtherReplicas(t *testing.T) {
	srv := redistest.Start(t)
	// 100 per 10 s: a burst of 10 and 9/s; the share half of both.
	leader := newClient(t, srv, "t9:").limiter("wk_test_hold", 100, 0.5, 10*time.Second)
	follower := newClient(t, srv, "t9:").limiter("wk_test_hold", 100, 0.5, 10*time.Second)
	ctx := context.Background()
	if err := leader.Reserve(ctx); err != nil {
		t.Fatal(err)
	}
	// The follower's lookups push eight times as hard as the leader's
	// build. Without the hold the build gets 0 or 1 of the 28 turns in 2 s;
	// with it, most of its share's 14 (5 at once, 4.5/s): a turn the share
	// gives that the whole budget then refuses is lost, as Allow does not
	// queue.
	var bg, fg []time.Time
	var wg sync.WaitGroup
	wg.Go(func() { bg = hammer(leader, whatalo.Background, 1, 2*time.Second) })
	wg.Go(func() { fg = hammer(follower, whatalo.Interactive, 8, 2*time.Second) })
	wg.Wait()
	t.Logf("while held: background %d turns, interactive %d in 2 s", len(bg), len(fg))
	if len(bg) < 7 {
		t.Errorf("background got %d turns in 2 s while holding the share, want at least half its 14", len(bg))
	}
	if n := len(bg) + len(fg); n > 10+18+1 {
		t.Errorf("%d turns in 2 s, over the budget's 28", n)
	}

	if err := leader.Unreserve(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(follower.holdCheck() + 2*time.Second) // the follower reads the hold again; the buckets refill
	if fg = hammer(follower, whatalo.Interactive, 8, 500*time.Millisecond); len(fg) < 10 {
		t.Errorf("interactive got %d turns in 500 ms after the hold ended, want the whole burst, 10", len(fg))
	}
}
