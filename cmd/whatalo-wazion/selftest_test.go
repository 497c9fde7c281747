package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

const (
	selftestToken = "selftest-token-123"
	// selftestKey is a live key, so the index sync at start does not
	// leave the lookups waiting on a test key's 90 requests/minute.
	selftestKey = "wk_live_selftest_key_123"
)

// selftestEnv configures one store from the environment in front of fake,
// which must accept selftestKey, with its own token header as well.
func selftestEnv(fake *whatalotest.Server) map[string]string {
	return map[string]string{
		"WHATALO_API_KEY":     selftestKey,
		"WAZION_TOKEN":        selftestToken,
		"WHATALO_BASE_URL":    fake.APIURL,
		"DEFAULT_REGION":      "DO",
		"WAZION_TOKEN_HEADER": "X-Shop-Token",
		"LISTEN_ADDR":         "127.0.0.1:0",
	}
}

// serveForSelftest runs the service for env on 127.0.0.1 until the test
// ends and returns its root URL.
func serveForSelftest(t *testing.T, env map[string]string) string {
	t.Helper()
	cfg, err := loadConfig("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Server.ShutdownTimeout = 2 * time.Second
	svc, err := newService(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("newService: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not stop")
		}
		svc.Close()
	})
	return "http://" + ln.Addr().String()
}

func decodeSelftest(t *testing.T, out string) selftestReport {
	t.Helper()
	var rep selftestReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	return rep
}

func TestSelftestDemoStore(t *testing.T) {
	fake := whatalotest.NewServer(t, nil, whatalotest.WithAPIKeys(selftestKey))
	env := selftestEnv(fake)
	base := serveForSelftest(t, env)

	// As a new user runs it: the token comes from the same environment as
	// the service's.
	out, _, err := cliRun(t, env, "selftest", "--public-url", base)
	if err != nil {
		t.Fatalf("selftest of the demo store: %v\n%s", err, out)
	}
	assertContains(t, out,
		"Self-test of "+base+` as WAzion calls it (store "default", token self…)`,
		"ENDPOINT", "STATUS", "LATENCY", "BUDGET",
		"HTTPS", "http:// on a loopback host",
		"X-Shop-Token header, test=true", "HTTP Basic auth", `refused: error "unauthorized"`,
		"All 27 checks passed (1 warning(s)).")
	for _, ep := range wazion.Endpoints() {
		assertContains(t, out, ep+" ")
	}
	assertLacks(t, out, "FAIL", "Problems:", selftestToken)
	if fake.Stats().Total == 0 {
		t.Error("the lookups made no Whatalo request: they were not real")
	}

	// The JSON report: María García's phone finds her and her orders.
	out, _, err = cliRun(t, env, "selftest", "--public-url", base+"/wazion/", "--json",
		"--phone", "+18095551234", "--query", "maría", "--product", "camiseta")
	if err != nil {
		t.Fatalf("selftest --json: %v\n%s", err, out)
	}
	rep := decodeSelftest(t, out)
	if !rep.OK || rep.Problems != 0 || rep.Store != "default" || rep.PublicURL != base || len(rep.Checks) != 27 {
		t.Fatalf("report: ok %t, %d problems, store %q, url %q, %d checks", rep.OK, rep.Problems, rep.Store, rep.PublicURL, len(rep.Checks))
	}
	summaries := map[string]string{}
	for _, c := range rep.Checks {
		if c.Call == "HTTPS" {
			if c.Status != statusWarn {
				t.Errorf("HTTPS row %s, want WARN for http on loopback", c.Status)
			}
			continue
		}
		if c.Status != statusOK || c.HTTPStatus != 200 || c.LatencyMS <= 0 {
			t.Errorf("%s %s: status %s, HTTP %d, latency %v", c.Endpoint, c.Call, c.Status, c.HTTPStatus, c.LatencyMS)
		}
		wantBudget := int64(10000)
		if c.Endpoint == wazion.EndpointGlobalSearch {
			wantBudget = 5000
		}
		if c.BudgetMS != wantBudget {
			t.Errorf("%s budget %d ms, want %d", c.Endpoint, c.BudgetMS, wantBudget)
		}
		summaries[c.Endpoint+" / "+c.Call] = c.Summary
	}
	for key, want := range map[string]string{
		"sidePanel_CustomerInfo / GET, query auth, lookup":            "found: 1 customer, 3 orders",
		"sidePanel_CustomerInfo / GET, query auth, test=true":         "found: 1 customer, 1 order",
		"globalSearch / GET, query auth, lookup":                      "found: 1 customer",
		"search_Products / GET, query auth, lookup, format=ai":        "(AI format)",
		"sidePanel_CustomerFindToJoin / GET, query auth, lookup":      "candidate",
		"ai_CustomerInitialInfo / GET, query auth, lookup":            "found: ",
		"sidePanel_CustomerInfo / GET, wrong token (must be refused)": `refused: error "unauthorized"`,
	} {
		if got, ok := summaries[key]; !ok || !strings.Contains(got, want) {
			t.Errorf("%s: summary %q, want it to contain %q", key, got, want)
		}
	}
}

func TestSelftestWrongToken(t *testing.T) {
	fake := whatalotest.NewServer(t, nil, whatalotest.WithAPIKeys(selftestKey))
	env := selftestEnv(fake)
	base := serveForSelftest(t, env)
	out, _, err := cliRun(t, nil, "selftest", "--public-url", base, "--token", "not-the-token-999")
	if err == nil {
		t.Fatalf("selftest passed with a wrong token:\n%s", out)
	}
	assertContains(t, out, "Problems:", `the token was refused; check --token`, "FAIL")

	out, _, _ = cliRun(t, nil, "selftest", "--public-url", base, "--token", "not-the-token-999", "--json")
	rep := decodeSelftest(t, out)
	for _, c := range rep.Checks {
		switch {
		case c.Call == "HTTPS":
		case strings.Contains(c.Call, "wrong token"):
			if c.Status != statusOK {
				t.Errorf("%s: %s, want OK: a wrong token is refused either way", c.Call, c.Status)
			}
		case c.Status != statusFail || len(c.Problems) == 0 || !strings.Contains(c.Problems[0], "the token was refused"):
			t.Errorf("%s %s: %s %q, want the refused token named", c.Endpoint, c.Call, c.Status, c.Problems)
		}
	}
}

func TestSelftestBrokenTargets(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    []string
	}{
		{
			name: "500",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "boom", http.StatusInternalServerError)
			},
			want: []string{"HTTP 500: WAzion wants 200 on every answer"},
		},
		{
			name: "HTML",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, "<html>Welcome to nginx</html>")
			},
			want: []string{`not a JSON object (WAzion requires valid JSON): "<html>Welcome to nginx</html>"`},
		},
		{
			name: "redirect",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://elsewhere.example.com"+r.URL.Path, http.StatusMovedPermanently)
			},
			want: []string{"HTTP 301 redirect to https://elsewhere.example.com/wazion/"},
		},
		{
			name: "open and malformed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"found":true,"customers":[{"name":"X","ordersCount":"3","orders":[{"name":"#1","date":"yesterday","amount":1,"currency":"EUR","items":[{"title":"t","quantity":1,"amount":1,"status":"gone"}]}]}],"count":2,"products":[],"info":""}`)
			},
			want: []string{
				"answered data to a wrong token",
				"customers[0].ordersCount: is a string, WAzion expects a number",
				"customers[0].email: missing",
				`customers[0].orders[0].date: "yesterday" is not an ISO 8601 date`,
				`customers[0].orders[0].items[0].status: "gone" is not active, partially_refunded or fully_refunded`,
				"info: empty although found is true",
				"count: 2, but 0 products are listed",
				"http_status: missing",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			out, _, err := cliRun(t, nil, "selftest", "--public-url", srv.URL, "--token", "any-token-123")
			if err == nil || !strings.Contains(err.Error(), "problem(s) found") {
				t.Fatalf("err = %v, want problems found\n%s", err, out)
			}
			assertContains(t, out, tt.want...)
			assertContains(t, out, "FAIL", "WAzion would not work reliably")
		})
	}
}

func TestSelftestUnreachable(t *testing.T) {
	dead := strings.TrimSuffix(closedURL(t), "/v1")
	start := time.Now()
	out, _, err := cliRun(t, nil, "selftest", "--public-url", dead, "--token", "any-token-123", "--json")
	if err == nil {
		t.Fatal("selftest passed with nothing listening")
	}
	rep := decodeSelftest(t, out)
	if rep.OK || len(rep.Checks) != 2 || rep.Problems != 1 {
		t.Fatalf("report: ok %t, %d checks, %d problems; want the HTTPS row and one failed call", rep.OK, len(rep.Checks), rep.Problems)
	}
	p := rep.Checks[1].Problems[0]
	if !strings.Contains(p, "cannot connect to "+dead) || !strings.Contains(p, "(the other 24 calls were not tried)") {
		t.Errorf("problem = %q", p)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a refused connection took %s to report", d)
	}
}

func TestSelftestNeedsToken(t *testing.T) {
	_, _, err := cliRun(t, map[string]string{"WHATALO_API_KEY": "wk_live_only_a_key"}, "selftest", "--public-url", "http://127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "no token: give --token") {
		t.Fatalf("err = %v, want a request for a token", err)
	}
	_, _, err = cliRun(t, nil, "selftest", "--token", "abcdefgh123")
	if err == nil || !strings.Contains(err.Error(), "--public-url is required") {
		t.Fatalf("err = %v, want a request for --public-url", err)
	}
}

// TestSelftestBudgets runs in a synctest bubble against a handler served in
// memory: a 150 ms answer is 150 ms on the bubble's clock, so it is judged
// against each budget exactly, however busy the machine.
func TestSelftestBudgets(t *testing.T) { synctest.Test(t, testSelftestBudgets) }

func testSelftestBudgets(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"found":false,"customers":[]}`)
	})
	srv := struct{ URL string }{"http://selftest.test"}
	c := selftestCase{endpoint: wazion.EndpointGlobalSearch, label: "GET", method: http.MethodGet, encoding: "query", auth: viaQuery}
	client := selftestClient()
	client.Transport = whatalotest.HandlerTransport(handler)

	tests := []struct {
		budget      time.Duration
		status      string
		wantProblem string
		wantWarning string
	}{
		{budget: 50 * time.Millisecond, status: statusFail, wantProblem: "no answer within 50ms: WAzion gives up after 50ms"},
		{budget: 170 * time.Millisecond, status: statusWarn, wantWarning: "slow: "},
		{budget: 2 * time.Second, status: statusOK},
	}
	for _, tt := range tests {
		o := selftestOptions{base: srv.URL, token: "tok", query: "ab", budgets: map[string]time.Duration{wazion.EndpointGlobalSearch: tt.budget}}
		res, abort := runSelftestCase(context.Background(), client, o, c)
		if abort {
			t.Errorf("budget %s: aborted", tt.budget)
		}
		if res.Status != tt.status || res.BudgetMS != tt.budget.Milliseconds() {
			t.Errorf("budget %s: status %s, budget %d ms, want %s (%+v)", tt.budget, res.Status, res.BudgetMS, tt.status, res)
		}
		if tt.wantProblem != "" && (len(res.Problems) == 0 || !strings.Contains(res.Problems[0], tt.wantProblem)) {
			t.Errorf("budget %s: problems %q, want %q", tt.budget, res.Problems, tt.wantProblem)
		}
		if tt.wantWarning != "" && (len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], tt.wantWarning)) {
			t.Errorf("budget %s: warnings %q, want %q", tt.budget, res.Warnings, tt.wantWarning)
		}
	}
}

func TestWazionQueryKeepsPhonePlus(t *testing.T) {
	got := wazionQuery([]selftestParam{
		{key: "token", value: "a+b&c"},
		{key: "phone", value: "+34612345678", phone: true},
		{key: "relatedphones", list: []string{"+34698765432"}, phone: true},
		{key: "test", value: "true"},
	})
	want := `token=a%2Bb%26c&phone=+34612345678&relatedphones=%5B%22+34698765432%22%5D&test=true`
	if got != want {
		t.Errorf("wazionQuery = %s, want %s", got, want)
	}
}
