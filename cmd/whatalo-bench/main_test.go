package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/whatalo-wazion/whatalo-wazion/config"
)

func TestParseArgsDefaultsAndQuick(t *testing.T) {
	o, err := parseArgs([]string{"whatalo-bench"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.duration != 10*time.Second || o.zipfDuration != 10*time.Minute || o.naiveDuration != 2*time.Minute || o.bigLatency != 80*time.Millisecond {
		t.Errorf("defaults: duration %s, zipf %s, big latency %s", o.duration, o.zipfDuration, o.bigLatency)
	}
	if len(o.scenarios) != 6 {
		t.Errorf("default scenarios = %v, want all six", o.scenarios)
	}
	if o.replicaPhones != 300 {
		t.Errorf("default replica phones = %d, want 300", o.replicaPhones)
	}

	o, err = parseArgs([]string{"whatalo-bench", "--quick", "--duration", "3s", "--only", "2, 5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.duration != 3*time.Second {
		t.Errorf("--duration with --quick = %s, want the explicit 3s", o.duration)
	}
	if o.zipfDuration != 6*time.Second || o.searches != 10 || o.bigLatency != 0 || o.replicaPhones != 100 {
		t.Errorf("--quick: zipf %s, searches %d, big latency %s, replica phones %d", o.zipfDuration, o.searches, o.bigLatency, o.replicaPhones)
	}
	if !o.scenarios[2] || !o.scenarios[5] || o.scenarios[1] {
		t.Errorf("--only 2,5 = %v", o.scenarios)
	}
}

func TestParseArgsRejects(t *testing.T) {
	for _, args := range [][]string{
		{"--only", "7"},
		{"--only", "0"},
		{"--replica-phones", "0"},
		{"--only", "x"},
		{"--zipf-s", "1"},
		{"--duration", "0s"},
		{"--concurrency", "0"},
		{"extra"},
	} {
		if _, err := parseArgs(append([]string{"whatalo-bench"}, args...), io.Discard); err == nil {
			t.Errorf("parseArgs(%q) = nil error", args)
		}
	}
}

func TestParseProcFiles(t *testing.T) {
	status := "Name:\twhatalo-wazion\nVmPeak:\t 900000 kB\nVmHWM:\t  150000 kB\nVmRSS:\t  123456 kB\nThreads:\t9\n"
	rss, hwm, err := parseProcStatus(strings.NewReader(status))
	if err != nil || rss != 123456 || hwm != 150000 {
		t.Errorf("parseProcStatus = %d, %d, %v; want 123456, 150000", rss, hwm, err)
	}
	if _, _, err := parseProcStatus(strings.NewReader("Name:\tx\n")); err == nil {
		t.Error("parseProcStatus without VmRSS: nil error")
	}

	// The command name may hold spaces and parentheses.
	stat := "4242 (whatalo (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1000 0 0"
	cpu, err := parseProcStat(stat)
	if err != nil || cpu != 3*time.Second {
		t.Errorf("parseProcStat = %s, %v; want 3s (300 ticks)", cpu, err)
	}
	if _, err := parseProcStat("4242 (x) S 1"); err == nil {
		t.Error("parseProcStat on a short line: nil error")
	}
}

const exposition = `# HELP whatalo_wazion_cache_lookups_total Cache lookups.
# TYPE whatalo_wazion_cache_lookups_total counter
whatalo_wazion_cache_lookups_total{cache="orders",result="hit",store="bench"} %d
whatalo_wazion_cache_lookups_total{cache="orders",result="stale",store="bench"} %d
whatalo_wazion_cache_lookups_total{cache="orders",result="miss",store="bench"} %d
whatalo_wazion_cache_lookups_total{cache="orders",result="refresh_error",store="bench"} %d
whatalo_wazion_cache_lookups_total{cache="orders",result="hit",store="other"} %d
# HELP whatalo_wazion_requests_total Requests.
# TYPE whatalo_wazion_requests_total counter
whatalo_wazion_requests_total{endpoint="sidePanel_CustomerInfo",outcome="found",store="bench"} %d
whatalo_wazion_requests_total{endpoint="sidePanel_CustomerInfo",outcome="error",store="bench"} %d
`

func TestCacheAndOutcomeDeltas(t *testing.T) {
	before, err := parseMetrics(strings.NewReader(fmt.Sprintf(exposition, 10, 0, 5, 0, 100, 7, 1)))
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseMetrics(strings.NewReader(fmt.Sprintf(exposition, 80, 10, 15, 4, 900, 107, 1)))
	if err != nil {
		t.Fatal(err)
	}
	d := cacheBetween(before, after, benchStore)
	// hit +70, stale +10 served; miss +10; refresh_error is not a lookup;
	// the other store is not counted.
	if d.served != 80 || d.lookups != 90 {
		t.Errorf("cacheBetween = served %g of %g, want 80 of 90", d.served, d.lookups)
	}
	if got, want := d.hitRatio(), 80.0/90; got != want {
		t.Errorf("hitRatio = %g, want %g", got, want)
	}
	out := outcomesBetween(before, after)
	if len(out) != 1 || out["found"] != 100 {
		t.Errorf("outcomesBetween = %v, want only found 100", out)
	}
	if (cacheDelta{}).hitRatio() != 0 {
		t.Error("hitRatio of no lookups is not 0")
	}
}

func TestServiceConfigLoads(t *testing.T) {
	for _, naive := range []bool{false, true} {
		data, err := serviceConfig("127.0.0.1:1234", "http://127.0.0.1:5678/v1", serviceOpts{rateLimit: 90000, naive: naive})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Parse(data, func(string) string { return "" })
		if err != nil {
			t.Fatalf("the service rejects the bench's configuration: %v\n%s", err, data)
		}
		st := cfg.Stores[0]
		if st.RateLimit != 90000 || st.BaseURL != "http://127.0.0.1:5678/v1" || cfg.Listen != "127.0.0.1:1234" {
			t.Errorf("store = %+v, listen %s", st, cfg.Listen)
		}
		if cfg.Cache.Disabled != naive || cfg.Index.Disabled != naive {
			t.Errorf("naive %v: cache disabled %v, index disabled %v", naive, cfg.Cache.Disabled, cfg.Index.Disabled)
		}
		if cfg.Server.TokenRate >= 0 {
			t.Errorf("token rate = %g, want the per-token bound off", cfg.Server.TokenRate)
		}
	}
}

func TestServiceConfigRedis(t *testing.T) {
	data, err := serviceConfig("127.0.0.1:1234", "http://127.0.0.1:5678/v1", serviceOpts{
		rateLimit: 90000, noIndex: true, redisURL: "redis://127.0.0.1:6390/0", redisPrefix: "whatalo-bench-6b:",
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data, func(string) string { return "" })
	if err != nil {
		t.Fatalf("the service rejects the bench's configuration: %v\n%s", err, data)
	}
	r := cfg.Redis
	if !r.Enabled() || r.URL.Value() != "redis://127.0.0.1:6390/0" || r.KeyPrefix != "whatalo-bench-6b:" || r.ExpectedReplicas != benchReplicas {
		t.Errorf("redis = url %q, prefix %q, expected replicas %d", r.URL.Value(), r.KeyPrefix, r.ExpectedReplicas)
	}
	if !cfg.Index.Disabled || cfg.Cache.Disabled {
		t.Errorf("index off, cache on: index disabled %v, cache disabled %v", cfg.Index.Disabled, cfg.Cache.Disabled)
	}

	// Without a URL the instance runs alone, and the prefix is the
	// service's own default.
	data, err = serviceConfig("127.0.0.1:1234", "http://127.0.0.1:5678/v1", serviceOpts{rateLimit: 90000})
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err = config.Parse(data, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if cfg.Redis.Enabled() || cfg.Index.Disabled {
		t.Errorf("plain instance: redis enabled %v, index disabled %v", cfg.Redis.Enabled(), cfg.Index.Disabled)
	}
}

func TestRedisArgsKeepNothingOnDisk(t *testing.T) {
	args, err := redisArgs("127.0.0.1:6390", "/tmp/x")
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]string{}
	for i := 0; i+1 < len(args); i += 2 {
		set[args[i]] = args[i+1]
	}
	for k, want := range map[string]string{"--bind": "127.0.0.1", "--port": "6390", "--save": "", "--appendonly": "no", "--dir": "/tmp/x", "--daemonize": "no"} {
		if got, ok := set[k]; !ok || got != want {
			t.Errorf("redis-server %s = %q (given %v), want %q", k, got, ok, want)
		}
	}
	if _, err := redisArgs("no port", "/tmp/x"); err == nil {
		t.Error("redisArgs without a port: nil error")
	}
}

func TestReplicasWithoutRedisServer(t *testing.T) {
	b := &bench{o: options{scenarios: map[int]bool{6: true}}, log: io.Discard, dir: t.TempDir(),
		lookPath: func(string) (string, error) { return "", exec.ErrNotFound }}
	rep := &report{}
	if err := b.replicasGroup(context.Background(), rep); err != nil {
		t.Fatalf("replicasGroup without redis-server = %v, want a row instead of an error", err)
	}
	if len(rep.rows) != 1 || rep.rows[0].scenario != "6" {
		t.Fatalf("rows = %+v, want one row for scenario 6", rep.rows)
	}
	if r := rep.rows[0]; !strings.Contains(r.service, "redis-server not found") || !strings.Contains(r.reference, "apt-get install redis-server") {
		t.Errorf("row = %+v, want it to say redis-server is missing and how to install it", r)
	}
	if len(b.procs) != 0 {
		t.Errorf("started %d processes without redis-server", len(b.procs))
	}
}

func TestStartRedisIsStoppedByClose(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not installed (apt-get install redis-server; .ci/run installs it): %v", err)
	}
	b := &bench{log: io.Discard, dir: t.TempDir(), lookPath: exec.LookPath}
	r, err := b.startRedis(context.Background(), "redis", bin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.url(), "redis://127.0.0.1:") || !strings.HasSuffix(r.url(), "/0") {
		t.Errorf("url = %q", r.url())
	}
	if err := redisPing(context.Background(), r.addr); err != nil {
		t.Fatalf("started redis-server does not answer: %v", err)
	}
	b.close() // as on Ctrl-C: every process the bench started
	select {
	case <-r.done:
	default:
		t.Fatal("redis-server still running after close")
	}
	if err := redisPing(context.Background(), r.addr); err == nil {
		t.Error("redis-server still answers after close")
	}
}

func TestCountsText(t *testing.T) {
	if got := countsText(map[string]float64{"ping": 4, "cache_get": 0, "lease": 1200}); got != "lease 1,200, ping 4" {
		t.Errorf("countsText = %q", got)
	}
	if got := countsText(nil); got != "none" {
		t.Errorf("countsText(nil) = %q", got)
	}
	if got := callsText(fakeStats{Total: 255}, loadResult{metrics: vegeta.Metrics{Requests: 100}}); got != "255 (2.55 per request)" {
		t.Errorf("callsText = %q", got)
	}
}

func TestBareAppServesTheBytes(t *testing.T) {
	body := []byte(`{"found":true,"customers":[]}`)
	app := newBareApp("/wazion/sidePanel_CustomerInfo", body, "application/json; charset=utf-8")
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		resp, err := app.Test(httptest.NewRequest(method, "/wazion/sidePanel_CustomerInfo?phone=%2B1809", nil))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(got) != string(body) || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%s: %d %q %q", method, resp.StatusCode, resp.Header.Get("Content-Type"), got)
		}
	}
}

func TestAttackIsBoundedAndClassifies(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+benchToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case n%10 == 0:
			fmt.Fprint(w, `{"found":false,"error":"upstream error"}`)
		case n%10 == 1:
			fmt.Fprint(w, `{"found":false}`)
		default:
			fmt.Fprint(w, `{"found":true}`)
		}
	}))
	defer srv.Close()

	// Closed loop: the count cap ends the run long before the duration.
	errs := map[string]int{}
	start := time.Now()
	res := attack(context.Background(), loadSpec{name: "t", targeter: staticTargeter(srv.URL), workers: 4,
		duration: time.Minute, maxHits: 50, classify: wazionOutcome(errs)})
	if time.Since(start) > 20*time.Second {
		t.Errorf("attack ran %s despite maxHits", time.Since(start))
	}
	if res.metrics.Requests != 50 || hits.Load() != 50 {
		t.Fatalf("sent %d, server saw %d; want 50", res.metrics.Requests, hits.Load())
	}
	if res.outcomes["error"] != 5 || res.outcomes["not_found"] != 5 || res.ok != 40 || errs["upstream error"] != 5 {
		t.Errorf("outcomes %v, ok %d, errors %v", res.outcomes, res.ok, errs)
	}

	// Open loop: rate times duration, then it stops by itself.
	hits.Store(0)
	res = attack(context.Background(), loadSpec{name: "t", targeter: staticTargeter(srv.URL), rate: 100, duration: 300 * time.Millisecond})
	if res.metrics.Requests < 20 || res.metrics.Requests > 31 {
		t.Errorf("100/s for 300ms sent %d requests", res.metrics.Requests)
	}
}

func TestAttackStopsWithContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	attack(ctx, loadSpec{name: "t", targeter: staticTargeter(srv.URL), workers: 2, duration: time.Minute})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("attack ran %s after its context ended", d)
	}
}

func TestZipfPhonesAndTargeter(t *testing.T) {
	custs := []customer{
		{Phone: "809-555-0001"},
		{Phone: "+1 809-555-0002"},
		{Phone: "+18095550003"},
		{Phone: "+573001234567"},
		{Phone: ""},
		{Phone: "n/a"},
		{Phone: "+18095550001"}, // the same number as the first
	}
	phones := zipfPhones(custs, 1)
	if len(phones) != 4 {
		t.Fatalf("zipfPhones = %q, want 4 distinct numbers", phones)
	}
	for _, p := range phones {
		if !strings.HasPrefix(p, "+") || strings.ContainsAny(p, " -") {
			t.Errorf("phone %q is not E.164", p)
		}
	}
	if again := zipfPhones(custs, 1); strings.Join(again, ",") != strings.Join(phones, ",") {
		t.Errorf("same seed, different order: %q vs %q", again, phones)
	}

	svc := &svcProc{root: "http://127.0.0.1:1"}
	tr := zipfTargeter(svc, phones, 1.1, 7)
	counts := map[string]int{}
	for i := 0; i < 2000; i++ {
		var tg vegeta.Target
		if err := tr(&tg); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(tg.URL)
		if err != nil {
			t.Fatal(err)
		}
		counts[u.Query().Get("phone")]++
	}
	for _, p := range phones[1:] {
		if counts[p] >= counts[phones[0]] {
			t.Errorf("rank 0 %s drawn %d times, %s %d times", phones[0], counts[phones[0]], p, counts[p])
		}
	}
}

func TestSearchQueriesAreDistinctNames(t *testing.T) {
	custs := []customer{{Name: "Ana Pérez Gómez"}, {Name: "Ana Pérez"}, {Name: "Luis Díaz"}, {Name: "Mononym"}}
	q := searchQueries(custs, 10, 1)
	if len(q) != 2 {
		t.Fatalf("searchQueries = %q, want Ana Pérez and Luis Díaz once each", q)
	}
	seen := map[string]bool{}
	for _, s := range q {
		if seen[s] || len(strings.Fields(s)) != 2 {
			t.Errorf("query %q repeated or not first and last name", s)
		}
		seen[s] = true
	}
}

func TestReportMarkdown(t *testing.T) {
	r := &report{started: time.Unix(0, 0), finished: time.Unix(75, 0), machine: machine{cpus: 2, cpuModel: "Test CPU"}}
	r.add(row{"1", "cached | pipe", "throughput", "6,000 req/s", "bare 10,000 req/s", "≥ 60 % of bare", verdictOf(true)})
	r.add(row{"2", "fixed", "p99", "7.00 ms", "", "≤ 5 ms", verdictOf(false)})
	r.note("a note")
	md := r.Markdown()
	for _, want := range []string{
		"| 1 | cached \\| pipe | throughput | 6,000 req/s | bare 10,000 req/s | ≥ 60 % of bare | yes |",
		"| 2 | fixed | p99 | 7.00 ms |  | ≤ 5 ms | **no** |",
		"2 CPUs (Test CPU)", "1m15s", "- a note",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestFormatting(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{thousands(0), "0"},
		{thousands(1234567), "1,234,567"},
		{thousands(-1000), "-1,000"},
		{fmtMs(1500 * time.Microsecond), "1.50 ms"},
		{fmtMs(42 * time.Millisecond), "42.0 ms"},
		{fmtMs(9252 * time.Millisecond), "9.25 s"},
		{fmtPct(0.05), "5.0 %"},
		{fmtPct(0.0012), "0.12 %"},
		{fmtMB(150 * 1024), "150 MB"},
		{outcomeText(map[string]int{"ok": 1200, "error": 3, "invalid_json": 1}), "ok 1,200, error 3, invalid_json 1"},
		{outcomeText(nil), "none"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	tb := &tailBuffer{max: 100}
	for i := 0; i < 50; i++ {
		fmt.Fprintf(tb, "line %02d\n", i)
	}
	got := string(tb.bytes())
	if len(got) > 100 || !strings.HasSuffix(got, "line 49\n") || strings.Contains(got, "line 00") {
		t.Errorf("tail = %q", got)
	}
}

func TestWindowRatios(t *testing.T) {
	z := zipfResult{upstreamAt: []int64{100, 130, 150}, sentPerWindow: []int64{1000, 1000, 400}}
	if got := windowRatios(z); len(got) != 3 || got[0] != 0.1 || got[1] != 0.03 || got[2] != 0.05 {
		t.Errorf("windowRatios = %v, want [0.1 0.03 0.05] (100/1000, 30/1000, 20/400)", got)
	}
	if got := windowRatios(zipfResult{}); len(got) != 0 {
		t.Errorf("windowRatios of an empty run = %v", got)
	}
	// A window in which nothing was sent ends the list.
	if got := windowRatios(zipfResult{upstreamAt: []int64{7, 9}, sentPerWindow: []int64{70, 0}}); len(got) != 1 || got[0] != 0.1 {
		t.Errorf("windowRatios = %v, want [0.1]", got)
	}
}

func TestRatioOf(t *testing.T) {
	x := rounds{ok: 300, active: 2 * time.Second}
	y := rounds{ok: 400, active: 2 * time.Second}
	if r := ratioOf(&x, &y); r != 0.75 {
		t.Errorf("ratioOf = %v, want 150/200 req/s = 0.75", r)
	}
	if r := ratioOf(&x, &rounds{}); r != 0 {
		t.Errorf("ratioOf against no throughput = %v, want 0", r)
	}
}
