package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/config"
)

// wrkSample is what wrk 4.1 prints with --latency and the check script.
const wrkSample = `Running 2s test @ http://127.0.0.1:40000/wazion/sidePanel_CustomerInfo?phone=%2B18095551234
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.67ms   15.30ms 126.58ms   95.78%
    Req/Sec    16.62k     5.57k   24.89k    71.43%
  Latency Distribution
     50%  153.00us
     75%  407.00us
     90%    3.56ms
     99%   98.55ms
  34708 requests in 2.10s, 4.53MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 5
Requests/sec:  16527.62
Transfer/sec:      2.16MB
whatalo-bench-check: checked 34708 wrong_body 7 bad_status 5
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	want := roundResult{requests: 34708, ok: 34708 - 7 - 5, wrongBody: 7, badStatus: 5, errors: 6,
		elapsed: 2100 * time.Millisecond, p50: 153 * time.Microsecond, p99: 98550 * time.Microsecond, max: 126580 * time.Microsecond}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("parseWrk =\n %+v\nwant\n %+v", r, want)
	}

	// Without the script's line the bodies went unchecked: not a result.
	noCheck := strings.Replace(wrkSample, "whatalo-bench-check:", "other:", 1)
	if _, err := parseWrk(noCheck); err == nil {
		t.Error("parseWrk without the check line: nil error")
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Error("parseWrk of a failed run: nil error")
	}
	// Answers the script did not see are not counted good.
	short := strings.Replace(wrkSample, "checked 34708", "checked 34000", 1)
	if r, err := parseWrk(short); err != nil || r.wrongBody != 7+708 || r.ok != 34000-7-5 {
		t.Errorf("parseWrk with unchecked answers: %+v, %v", r, err)
	}
}

func TestLuaQuote(t *testing.T) {
	got := luaQuote([]byte("{\"a\":\"b\\\\c\"}\n\xc3\xa9]]"))
	want := `"{\034a\034:\034b\092\092c\034}\010\195\169]]"`
	if got != want {
		t.Errorf("luaQuote = %s, want %s", got, want)
	}
	if s := luaCheckScript([]byte("x")); !strings.Contains(s, `local expected = "x"`) || !strings.Contains(s, "function response(status, headers, body)") {
		t.Errorf("check script:\n%s", s)
	}
}

func TestPickGenerator(t *testing.T) {
	found := func(string) (string, error) { return "/usr/bin/wrk", nil }
	missing := func(string) (string, error) { return "", exec.ErrNotFound }
	if g, err := pickGenerator(genAuto, found, "/self", t.TempDir()); err != nil || g.name != genWrk || g.wrkBin != "/usr/bin/wrk" || g.caveat != "" {
		t.Errorf("auto with wrk: %+v, %v", g, err)
	}
	if g, err := pickGenerator(genAuto, missing, "/self", t.TempDir()); err != nil || g.name != genVegeta || g.caveat == "" {
		t.Errorf("auto without wrk: %+v, %v; want vegeta with its caveat", g, err)
	}
	if g, err := pickGenerator(genAuto, missing, "/self", t.TempDir()); err != nil || !strings.Contains(g.caveat, "wrk not found") {
		t.Errorf("auto without wrk: caveat %q does not say wrk is missing (%v)", g.caveat, err)
	}
	if g, err := pickGenerator(genVegeta, found, "/self", t.TempDir()); err != nil || g.name != genVegeta || strings.Contains(g.caveat, "not found") {
		t.Errorf("vegeta asked for: %+v, %v", g, err)
	}
	if _, err := pickGenerator(genWrk, missing, "/self", t.TempDir()); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("wrk asked for and missing: %v", err)
	}
}

// A server answering the expected body to every other request: the
// generator must count the others as wrong, whichever it is.
func bodySwitchServer(t *testing.T, want []byte) *httptest.Server {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+benchToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if n.Add(1)%2 == 0 {
			w.Write(want)
			return
		}
		w.Write(bytes.ToUpper(want))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGeneratorChecksEveryBody(t *testing.T) {
	want := []byte(`{"found":true,"name":"ana"}`)
	srv := bodySwitchServer(t, want)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	g, err := pickGenerator(genAuto, exec.LookPath, self, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if g.name == genVegeta {
		// The test binary is not the bench: run the load subcommand the
		// way the generator would, in this process.
		var out bytes.Buffer
		if err := run(context.Background(), []string{"whatalo-bench", loadCommand, "--url", srv.URL, "--duration", "500ms",
			"--workers", "2", "--expect", writeTemp(t, want)}, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		var s loadSummary
		if err := json.Unmarshal(out.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		checkHalfWrong(t, s.result())
		return
	}
	r, err := g.closedRound(context.Background(), closedTarget{name: "switch", url: srv.URL, body: want}, 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	checkHalfWrong(t, r)
}

func checkHalfWrong(t *testing.T, r roundResult) {
	t.Helper()
	if r.requests < 10 || r.ok+r.wrongBody != r.requests || r.wrongBody < r.requests/2-2 || r.ok < r.requests/2-2 {
		t.Errorf("round %+v: want about half the answers counted wrong, the rest ok", r)
	}
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "body")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return f.Name()
}

func TestLoadCommand(t *testing.T) {
	want := []byte(`{"found":true}`)
	srv := bodySwitchServer(t, want)
	var out bytes.Buffer
	err := run(context.Background(), []string{"whatalo-bench", loadCommand, "--url", srv.URL, "--duration", "400ms",
		"--rate", "100", "--expect", writeTemp(t, want)}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var s loadSummary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("summary %q: %v", out.String(), err)
	}
	if s.Requests < 30 || s.Requests > 41 || s.OK+s.WrongBody != s.Requests || s.WrongBody == 0 || s.OK == 0 || s.P99NS <= 0 || s.ElapsedNS <= 0 {
		t.Errorf("summary %+v: want about 40 requests at 100/s, half of them wrong", s)
	}
	if s.LatenciesUS != nil {
		t.Errorf("latencies without --latencies: %d", len(s.LatenciesUS))
	}
	out.Reset()
	err = run(context.Background(), []string{"whatalo-bench", loadCommand, "--url", srv.URL, "--duration", "300ms",
		"--rate", "100", "--latencies"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s = loadSummary{}
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("summary %q: %v", out.String(), err)
	}
	if len(s.LatenciesUS) != s.Requests || s.Requests == 0 || int64(slices.Max(s.LatenciesUS)) > s.MaxNS/1000 {
		t.Errorf("--latencies: %d latencies (max %v µs) for %d requests (max %d ns)", len(s.LatenciesUS), slices.Max(append(s.LatenciesUS, 0)), s.Requests, s.MaxNS)
	}
	if err := run(context.Background(), []string{"whatalo-bench", loadCommand, "--url", "http://example.com/"}, &out, io.Discard); err == nil {
		t.Error("load against a non-loopback URL: nil error")
	}
}

// TestLoadCmdHoldsTheCollectorOff: the generator's process runs with its
// collector off up to a memory limit, whatever the bench's own setting.
func TestLoadCmdHoldsTheCollectorOff(t *testing.T) {
	t.Setenv("GOGC", "50")
	g := &generator{selfBin: "/bin/true"}
	cmd := g.loadCmd(context.Background(), []string{loadCommand, "--url", "http://127.0.0.1:1/"})
	if !slices.Equal(cmd.Args, []string{"/bin/true", loadCommand, "--url", "http://127.0.0.1:1/"}) {
		t.Errorf("args %q", cmd.Args)
	}
	env := map[string]string{}
	for _, kv := range cmd.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v // the last one wins, as for the process
	}
	if env["GOGC"] != "off" || env["GOMEMLIMIT"] != loadMemoryLimit {
		t.Errorf("GOGC=%q GOMEMLIMIT=%q, want off and %s", env["GOGC"], env["GOMEMLIMIT"], loadMemoryLimit)
	}
}

func TestRoundsPoolCPUPerRequest(t *testing.T) {
	var svc, bare rounds
	svc.add(roundResult{requests: 40000, ok: 40000, elapsed: 2 * time.Second, cpu: 1200 * time.Millisecond, p50: time.Millisecond, p99: 4 * time.Millisecond})
	svc.add(roundResult{requests: 60000, ok: 59990, wrongBody: 10, elapsed: 2 * time.Second, cpu: 1800 * time.Millisecond, p50: 2 * time.Millisecond, p99: 9 * time.Millisecond})
	bare.add(roundResult{requests: 100000, ok: 100000, elapsed: 2 * time.Second, cpu: 2400 * time.Millisecond})
	if got := svc.cpuPerRequest(); got != 30*time.Microsecond {
		t.Errorf("service CPU per request = %s, want 3 s / 100,000 = 30µs", got)
	}
	if got := bare.cpuPerRequest(); got != 24*time.Microsecond {
		t.Errorf("bare CPU per request = %s, want 24µs", got)
	}
	if got := cpuRatio(&svc, &bare); got != 0.8 {
		t.Errorf("cpuRatio = %v, want bare / service = 24 / 30 = 0.8", got)
	}
	if got := cpuRatio(&svc, &rounds{}); got != 0 {
		t.Errorf("cpuRatio without the reference's CPU = %v, want 0", got)
	}
	if got := svc.throughput(); got != 99990.0/4 {
		t.Errorf("throughput = %v, want 99,990 good answers in 4 s", got)
	}
	// Percentiles of rounds are weighted by their answers.
	if svc.p50() != 1600*time.Microsecond || svc.p99() != 7*time.Millisecond || svc.requests() != 100000 || svc.wrongBody != 10 {
		t.Errorf("pooled: p50 %s, p99 %s, requests %d, wrong %d", svc.p50(), svc.p99(), svc.requests(), svc.wrongBody)
	}
	if svc.successRatio() != 0.9999 {
		t.Errorf("success ratio = %v", svc.successRatio())
	}
}

// Rounds that report every answer's latency are pooled answer by answer:
// one slow round moves the p99 of all answers only as far as its answers
// reach, not by its own p99's weight. A round without them falls back to
// the mean of the rounds'.
func TestRoundsPoolLatencies(t *testing.T) {
	lat := func(n int, us uint32) []uint32 { return slices.Repeat([]uint32{us}, n) }
	var rs rounds
	// 1,000 answers at 1 ms, then a round with 980 at 1 ms and 20 at 50 ms.
	rs.add(roundResult{requests: 1000, ok: 1000, p50: time.Millisecond, p99: time.Millisecond, latencies: lat(1000, 1000)})
	rs.add(roundResult{requests: 1000, ok: 1000, p50: time.Millisecond, p99: 50 * time.Millisecond, latencies: append(lat(980, 1000), lat(20, 50000)...)})
	if !rs.pooledLatencies() || rs.p99() != time.Millisecond || rs.p50() != time.Millisecond {
		t.Errorf("pooled p50 %s, p99 %s (pooled %v), want 1ms: 20 slow answers of 2,000 are 1 %%", rs.p50(), rs.p99(), rs.pooledLatencies())
	}
	rs.add(roundResult{requests: 1000, ok: 1000, p50: time.Millisecond, p99: 50 * time.Millisecond, latencies: append(lat(980, 1000), lat(20, 50000)...)})
	if rs.p99() != 50*time.Millisecond {
		t.Errorf("p99 with 40 slow answers of 3,000 = %s, want 50ms", rs.p99())
	}
	rs.add(roundResult{requests: 1000, ok: 1000, p50: time.Millisecond, p99: 2 * time.Millisecond})
	if rs.pooledLatencies() || rs.p99() != (1+50+50+2)*time.Millisecond/4 {
		t.Errorf("a round without latencies: p99 %s (pooled %v), want the mean of the rounds' 25.75ms", rs.p99(), rs.pooledLatencies())
	}
	if got := nearestRank([]uint32{5, 1, 4, 2, 3}, 0.5); got != 3 {
		t.Errorf("nearestRank median of 1..5 = %d, want 3", got)
	}
	if got := nearestRank([]uint32{7}, 0.99); got != 7 {
		t.Errorf("nearestRank of one value = %d, want 7", got)
	}
}

func TestStoresConfigLoads(t *testing.T) {
	data, err := storesConfig("127.0.0.1:1234", "http://127.0.0.1:5678/v1", 1000)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data, func(string) string { return "" })
	if err != nil {
		t.Fatalf("the service rejects the many-stores configuration: %v", err)
	}
	if len(cfg.Stores) != 1000 {
		t.Fatalf("%d stores, want 1000", len(cfg.Stores))
	}
	keys, tokens := map[string]bool{}, map[string]bool{}
	for i, st := range cfg.Stores {
		if st.Name != storeName(i) || st.BaseURL != "http://127.0.0.1:5678/v1" || st.Region != benchRegion || len(st.Tokens) != 1 {
			t.Fatalf("store %d = %+v", i, st)
		}
		keys[st.APIKey.Value()], tokens[st.Tokens[0].Value()] = true, true
	}
	if len(keys) != 1000 || len(tokens) != 1000 {
		t.Errorf("%d distinct keys, %d distinct tokens; want a key and a token per store", len(keys), len(tokens))
	}
	fakeKeys := strings.Split(storesKeys(1000), ",")
	if len(fakeKeys) != 1000 || !keys[fakeKeys[0]] || !keys[fakeKeys[999]] {
		t.Errorf("the fake's keys are not the stores': %d, %q, %q", len(fakeKeys), fakeKeys[0], fakeKeys[999])
	}
	if _, err := storesConfig("127.0.0.1:1", "http://x/v1", 0); err == nil {
		t.Error("storesConfig of 0 stores: nil error")
	}
}

func TestPendingStores(t *testing.T) {
	var r readiness
	if err := json.Unmarshal([]byte(`{"stores":{"store-0001":{"index":{"state":"ready"}},"store-0002":{"index":{"state":"building"}},`+
		`"store-0004":{"index":{"state":"disabled"}}}}`), &r); err != nil {
		t.Fatal(err)
	}
	if got := pendingStores(r, 4); !slices.Equal(got, []string{"store-0002", "store-0003"}) {
		t.Errorf("pendingStores = %v, want the building one and the missing one", got)
	}
}

func TestCountLines(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{{"", 0}, {"a\n", 1}, {"a\nb", 2}, {"# HELP x\n# TYPE x counter\nx 1\n", 3}, {strings.Repeat("m 1\n", 100000), 100000}} {
		if got, err := countLines(strings.NewReader(c.in)); err != nil || got != c.want {
			t.Errorf("countLines(%d bytes) = %d, %v; want %d", len(c.in), got, err, c.want)
		}
	}
}

func TestParseArgsStoresAndGenerator(t *testing.T) {
	o, err := parseArgs([]string{"whatalo-bench"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.stores, []int{200, 1000}) || o.generator != genAuto {
		t.Errorf("defaults: stores %v, generator %q", o.stores, o.generator)
	}
	if o, err := parseArgs([]string{"whatalo-bench", "--quick"}, io.Discard); err != nil || !slices.Equal(o.stores, []int{1000}) {
		t.Errorf("--quick: stores %v, %v; want 1,000 alone", o.stores, err)
	}
	if o, err := parseArgs([]string{"whatalo-bench", "--quick", "--stores", "200"}, io.Discard); err != nil || !slices.Equal(o.stores, []int{200}) {
		t.Errorf("--quick --stores 200: stores %v, %v", o.stores, err)
	}
	o, err = parseArgs([]string{"whatalo-bench", "--stores", "0", "--generator", "vegeta"}, io.Discard)
	if err != nil || len(o.stores) != 0 || o.generator != genVegeta {
		t.Errorf("--stores 0 --generator vegeta: %v, %v, %v", o.stores, o.generator, err)
	}
	for _, args := range [][]string{{"--stores", "x"}, {"--stores", "-1"}, {"--stores", fmt.Sprint(maxStores + 1)}, {"--generator", "ab"}} {
		if _, err := parseArgs(append([]string{"whatalo-bench"}, args...), io.Discard); err == nil {
			t.Errorf("parseArgs(%q) = nil error", args)
		}
	}
}
