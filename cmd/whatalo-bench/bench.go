package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/sync/errgroup"
	"gopkg.in/yaml.v3"
)

// Fixed identities of the bench's store. The fake accepts the key; the
// service is configured with both. They guard nothing.
const (
	benchStore  = "bench"
	benchAPIKey = "wk_live_bench0000000000"
	benchToken  = "bench-token-0000"
	benchRegion = "DO" // the generated store's country
)

// Rate limits of the throughput scenarios: high enough that Whatalo's
// limit never decides a figure that is about the service's own cost.
const (
	highFakeLimit    = 100000 // per minute, on the fake
	highServiceLimit = 90000  // per minute, in the service's configuration
)

// bench is one run: the work directory, the binaries and every process
// started, so that close can stop them all whatever happened.
type bench struct {
	o       options
	log     io.Writer
	dir     string
	ownDir  bool
	fakeBin string
	svcBin  string
	selfBin string
	// lookPath finds a program on PATH (exec.LookPath): redis-server,
	// which the bench runs but does not build.
	lookPath func(file string) (string, error)
	// gen runs the closed-loop and fixed-rate rounds.
	gen *generator

	mu    sync.Mutex
	procs []*proc
}

func newBench(ctx context.Context, o options, log io.Writer) (*bench, error) {
	b := &bench{o: o, log: log, dir: o.workDir, lookPath: exec.LookPath}
	if b.dir == "" {
		d, err := os.MkdirTemp("", "whatalo-bench-")
		if err != nil {
			return nil, fmt.Errorf("work directory: %w", err)
		}
		b.dir, b.ownDir = d, true
	} else if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		b.close()
		return nil, fmt.Errorf("find own binary for the bare handler: %w", err)
	}
	b.selfBin = self
	if b.gen, err = pickGenerator(o.generator, b.lookPath, self, b.dir); err != nil {
		b.close()
		return nil, err
	}
	b.logf("load generator of the closed-loop rounds: %s", b.gen.name)
	if b.gen.caveat != "" {
		b.logf("%s", b.gen.caveat)
	}
	b.logf("building whatalo-fake and whatalo-wazion in %s", b.dir)
	if b.fakeBin, b.svcBin, err = buildBinaries(ctx, b.dir); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *bench) logf(format string, a ...any) {
	fmt.Fprintf(b.log, "whatalo-bench: "+format+"\n", a...)
}

// close stops every process still running and removes the work directory
// unless asked to keep it.
func (b *bench) close() {
	b.mu.Lock()
	procs := b.procs
	b.procs = nil
	b.mu.Unlock()
	for _, p := range procs {
		p.stop(15 * time.Second)
	}
	if b.ownDir && !b.o.keep {
		os.RemoveAll(b.dir)
	} else if b.dir != "" {
		b.logf("work directory kept: %s", b.dir)
	}
}

func (b *bench) start(name, bin string, args, env []string) (*proc, error) {
	p, err := startProc(name, bin, args, env, b.dir)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.procs = append(b.procs, p)
	b.mu.Unlock()
	return p, nil
}

// stop ends p and forgets it.
func (b *bench) stop(p *proc) {
	if p == nil {
		return
	}
	p.stop(15 * time.Second)
	b.mu.Lock()
	b.procs = slices.DeleteFunc(b.procs, func(q *proc) bool { return q == p })
	b.mu.Unlock()
}

// fakeProc is a running whatalo-fake.
type fakeProc struct {
	*proc
	root string // http://127.0.0.1:port
}

func (f *fakeProc) apiURL() string { return f.root + "/v1" }

// startFake starts a fake with n generated customers. rateLimit 0 keeps
// Whatalo's documented limit for the key (1,000 per minute for wk_live_).
func (b *bench) startFake(ctx context.Context, name string, n int, latency time.Duration, rateLimit int) (*fakeProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--listen", addr, "--generate", strconv.Itoa(n), "--rand-seed", strconv.FormatInt(b.o.randSeed, 10),
		"--api-key", benchAPIKey, "--latency", latency.String(),
	}
	if rateLimit > 0 {
		args = append(args, "--rate-limit", strconv.Itoa(rateLimit))
	}
	b.logf("starting %s: %d customers, latency %s, rate limit %s", name, n, latency, limitText(rateLimit, "1000 (wk_live_ default)"))
	p, err := b.start(name, b.fakeBin, args, nil)
	if err != nil {
		return nil, err
	}
	f := &fakeProc{proc: p, root: "http://" + addr}
	if err := waitHTTP200(ctx, p, f.root+"/_fake/stats", 10*time.Minute); err != nil {
		return nil, err
	}
	return f, nil
}

func limitText(n int, def string) string {
	if n == 0 {
		return def
	}
	return strconv.Itoa(n) + "/min"
}

// fakeStats is the fake's GET /_fake/stats.
type fakeStats struct {
	Total        int64            `json:"total"`
	PerRoute     map[string]int64 `json:"per_route"`
	RateLimited  int64            `json:"rate_limited"`
	MaxPerMinute int              `json:"max_per_minute"`
}

func (f *fakeProc) stats(ctx context.Context) (fakeStats, error) {
	var s fakeStats
	code, err := getJSON(ctx, f.root+"/_fake/stats", &s)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("fake stats: status %d", code)
	}
	return s, err
}

func (f *fakeProc) reset(ctx context.Context) error {
	if err := postJSON(ctx, f.root+"/_fake/reset", nil); err != nil {
		return fmt.Errorf("reset fake: %w", err)
	}
	return nil
}

// customer is what the bench needs of a Whatalo customer.
type customer struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Phone       string `json:"phone"`
	OrdersCount int    `json:"orders_count"`
}

// customers pages through every customer of the fake, parallel pages at
// a time.
func (f *fakeProc) customers(ctx context.Context, parallel int) ([]customer, error) {
	type page struct {
		Data       []customer `json:"data"`
		Pagination struct {
			TotalPages int `json:"total_pages"`
		} `json:"pagination"`
	}
	get := func(ctx context.Context, n int) (page, error) {
		var p page
		u := fmt.Sprintf("%s/customers?per_page=100&page=%d&sort=created_at", f.apiURL(), n)
		code, err := getJSON(ctx, u, &p, "X-API-Key", benchAPIKey)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("status %d", code)
		}
		if err != nil {
			return p, fmt.Errorf("list customers page %d from the fake: %w", n, err)
		}
		return p, nil
	}
	first, err := get(ctx, 1)
	if err != nil {
		return nil, err
	}
	pages := make([][]customer, max(1, first.Pagination.TotalPages))
	pages[0] = first.Data
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, parallel))
	for n := 2; n <= len(pages); n++ {
		g.Go(func() error {
			p, err := get(gctx, n)
			pages[n-1] = p.Data
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []customer
	for _, p := range pages {
		out = append(out, p...)
	}
	return out, nil
}

// e164 returns phone as WhatsApp (and so WAzion) sends it, or "" when it
// is not a phone number.
func e164(phone string) string {
	if phone == "" {
		return ""
	}
	n, err := phonenumbers.Parse(phone, benchRegion)
	if err != nil {
		return ""
	}
	return phonenumbers.Format(n, phonenumbers.E164)
}

// serviceOpts are the knobs of one service instance.
type serviceOpts struct {
	rateLimit int  // per minute; 0 = the documented default for the key
	naive     bool // cache and phone index off: a plain pass-through
	noIndex   bool // phone index off, cache on
	// redisURL, if set, makes the instance one of several replicas sharing
	// that Redis, under keys starting with redisPrefix (default: the
	// service's own).
	redisURL    string
	redisPrefix string
}

// benchReplicas is redis.expected_replicas of the bench's replicas: the
// several-replicas scenario runs two at a time.
const benchReplicas = 2

// svcProc is a running whatalo-wazion.
type svcProc struct {
	*proc
	root string
}

// serviceConfig is the YAML configuration of one service instance.
func serviceConfig(listen, baseURL string, so serviceOpts) ([]byte, error) {
	store := map[string]any{
		"name":     benchStore,
		"api_key":  benchAPIKey,
		"base_url": baseURL,
		"tokens":   []string{benchToken},
		"region":   benchRegion,
	}
	if so.rateLimit > 0 {
		store["rate_limit"] = so.rateLimit
	}
	// The bench is one token: held to a token's share of the budget, the
	// Zipf runs would measure that share, not the cache behind it.
	store["token_share"] = 1
	cfg := map[string]any{
		"listen":    listen,
		"log_level": "info",
		// The per-token request bound and share guard the upstream budget
		// against a runaway caller; the bench is that caller on purpose,
		// and measures what lies behind the guard.
		"server": map[string]any{"token_rate": -1},
		"stores": []any{store},
	}
	if so.naive {
		cfg["cache"] = map[string]any{"disabled": true}
	}
	if so.naive || so.noIndex {
		cfg["index"] = map[string]any{"disabled": true}
	}
	if so.redisURL != "" {
		redis := map[string]any{"url": so.redisURL, "expected_replicas": benchReplicas}
		if so.redisPrefix != "" {
			redis["key_prefix"] = so.redisPrefix
		}
		cfg["redis"] = redis
	}
	return yaml.Marshal(cfg)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// startService writes a configuration for fake and starts a service on
// it, waiting for /healthz.
func (b *bench) startService(ctx context.Context, name string, fake *fakeProc, so serviceOpts) (*svcProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg, err := serviceConfig(addr, fake.apiURL(), so)
	if err != nil {
		return nil, fmt.Errorf("%s configuration: %w", name, err)
	}
	path := filepath.Join(b.dir, name+".yaml")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		return nil, fmt.Errorf("%s configuration: %w", name, err)
	}
	mode := "cached"
	switch {
	case so.naive:
		mode = "naive pass-through (cache and index off)"
	case so.noIndex:
		mode = "cached, index off"
	}
	if so.redisURL != "" {
		mode += ", sharing Redis under " + orDefault(so.redisPrefix, "the default key prefix")
	}
	b.logf("starting %s: %s, rate limit %s", name, mode, limitText(so.rateLimit, "default for the key"))
	p, err := b.start(name, b.svcBin, []string{"serve", "--config", path}, nil)
	if err != nil {
		return nil, err
	}
	s := &svcProc{proc: p, root: "http://" + addr}
	if err := waitHTTP200(ctx, p, s.root+"/healthz", time.Minute); err != nil {
		return nil, err
	}
	return s, nil
}

// readiness is the part of the service's /readyz the bench reads.
type readiness struct {
	Status string `json:"status"`
	Stores map[string]struct {
		Reachable bool   `json:"reachable"`
		Error     string `json:"error"`
		Index     struct {
			State     string `json:"state"`
			Customers int    `json:"customers"`
			Keys      int    `json:"keys"`
			Error     string `json:"error"`
		} `json:"index"`
	} `json:"stores"`
}

// indexState is the bench store's index as /readyz reports it.
type indexState struct {
	State     string
	Customers int
	Keys      int
}

// waitIndex waits until /readyz reports the store's phone index ready (or
// disabled), and returns its last report.
func (s *svcProc) waitIndex(ctx context.Context, timeout time.Duration) (indexState, error) {
	var st indexState
	err := waitFor(ctx, s.proc, timeout, 250*time.Millisecond, "phone index ready", func(ctx context.Context) (bool, error) {
		var r readiness
		code, err := getJSON(ctx, s.root+"/readyz", &r)
		if err != nil {
			return false, err
		}
		if code == http.StatusNotFound {
			return false, errors.New("the service has no /readyz")
		}
		store, ok := r.Stores[benchStore]
		if !ok {
			return false, fmt.Errorf("/readyz has no store %q (status %d)", benchStore, code)
		}
		st = indexState{State: store.Index.State, Customers: store.Index.Customers, Keys: store.Index.Keys}
		switch store.Index.State {
		case "ready", "disabled":
			return true, nil
		case "failed":
			return false, fmt.Errorf("index failed: %s", store.Index.Error)
		}
		return false, fmt.Errorf("index %s with %d customers", store.Index.State, store.Index.Customers)
	})
	return st, err
}

func (s *svcProc) metrics(ctx context.Context) (scrape, error) {
	return scrapeMetrics(ctx, s.root+"/metrics")
}

// endpointURL is the URL of a WAzion endpoint with query parameters.
func (s *svcProc) endpointURL(endpoint string, params url.Values) string {
	return s.root + "/wazion/" + endpoint + "?" + params.Encode()
}

// authHeader authenticates as WAzion does with a bearer token.
func authHeader() http.Header {
	return http.Header{"Authorization": {"Bearer " + benchToken}}
}

// fetch GETs u with the bench's token and returns body and content type.
func fetch(ctx context.Context, u string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header = authHeader()
	resp, err := ctlClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return body, "", fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

// startBare starts the bare handler serving body on path.
func (b *bench) startBare(ctx context.Context, path string, body []byte, contentType string) (*proc, string, error) {
	bodyPath := filepath.Join(b.dir, "bare-body.json")
	if err := os.WriteFile(bodyPath, body, 0o600); err != nil {
		return nil, "", fmt.Errorf("bare body: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	b.logf("starting bare Fiber handler (%d bytes, %s)", len(body), contentType)
	p, err := b.start("bare", b.selfBin, []string{bareCommand, "--listen", addr, "--body", bodyPath,
		"--content-type", contentType, "--path", path}, nil)
	if err != nil {
		return nil, "", err
	}
	root := "http://" + addr
	if err := waitHTTP200(ctx, p, root+"/healthz", 30*time.Second); err != nil {
		return nil, "", err
	}
	return p, root, nil
}
