package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// María García in the demo store.
const (
	demoPhone      = "+18095551234"
	demoCustomerID = "365047281936"
)

// routePattern is what an upstream route label must look like: a method and
// a path pattern, never a raw ID or query.
var routePattern = regexp.MustCompile(`^(GET|POST|PATCH|PUT|DELETE) (/[a-z_]+|/\{[a-z_]+\})+$`)

func TestMetricsClimbWithRequests(t *testing.T) {
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
	// No background index work: every cache lookup and upstream call below
	// comes from the requests themselves. No recent answers either: this
	// is about the data caches behind them.
	ts := startService(t, fake, nil, func(c *config.Config) {
		c.Index.Disabled = true
		c.Server.AnswerTTL = -1
	})
	path := wazionPath(wazion.EndpointCustomerInfo, "phone", demoPhone)

	before := ts.scrape(t)
	if got := before.sum("whatalo_wazion_cache_lookups_total"); got != 0 {
		t.Fatalf("cache lookups before any request = %v, want 0", got)
	}
	if before["go_goroutines"] == nil || before["process_cpu_seconds_total"] == nil {
		t.Error("Go runtime or process metrics missing from /metrics")
	}

	status, body := ts.get(t, path)
	if status != http.StatusOK || !strings.Contains(body, `"found":true`) {
		t.Fatalf("first request: %d %s", status, body)
	}
	first := ts.scrape(t)
	upstreamAfterFirst := fake.Stats().Total
	if upstreamAfterFirst == 0 {
		t.Fatal("the first request made no upstream call")
	}
	if got := first.sum("whatalo_wazion_cache_lookups_total", "store", "default", "result", "miss"); got == 0 {
		t.Error("no cache miss counted for the first request")
	}

	status, body2 := ts.get(t, path)
	if status != http.StatusOK || body2 != body {
		t.Fatalf("second request: %d, same body %v", status, body2 == body)
	}
	second := ts.scrape(t)
	if got := fake.Stats().Total; got != upstreamAfterFirst {
		t.Errorf("the second, identical request went upstream: %d calls, want %d", got, upstreamAfterFirst)
	}
	hits1 := first.sum("whatalo_wazion_cache_lookups_total", "store", "default", "result", "hit")
	hits2 := second.sum("whatalo_wazion_cache_lookups_total", "store", "default", "result", "hit")
	if hits2 <= hits1 {
		t.Errorf("cache hits did not climb: %v then %v", hits1, hits2)
	}
	if got := second.sum("whatalo_wazion_cache_lookups_total", "result", "miss"); got != first.sum("whatalo_wazion_cache_lookups_total", "result", "miss") {
		t.Errorf("the second request missed the cache: misses %v -> %v", first.sum("whatalo_wazion_cache_lookups_total", "result", "miss"), got)
	}
	if !strings.Contains(lastLine(ts.Logs.String(), `"msg":"wazion request"`), `"cache":"hit"`) {
		t.Errorf("access log of the second request does not say cache hit:\n%s", lastLine(ts.Logs.String(), `"msg":"wazion request"`))
	}

	if got := second.sum("whatalo_wazion_requests_total", "endpoint", wazion.EndpointCustomerInfo, "outcome", wazion.OutcomeFound, "store", "default"); got != 2 {
		t.Errorf("requests_total{sidePanel_CustomerInfo,found,default} = %v, want 2", got)
	}
	if got := second.sum("whatalo_wazion_request_duration_seconds", "endpoint", wazion.EndpointCustomerInfo); got != 2 {
		t.Errorf("request_duration_seconds count = %v, want 2", got)
	}

	// Upstream calls: counted by route pattern and status, with latency and
	// limiter waits, and every one the fake saw is counted once.
	if got := second.sum("whatalo_wazion_upstream_requests_total", "store", "default", "status", "200"); got != float64(upstreamAfterFirst) {
		t.Errorf("upstream_requests_total{status=200} = %v, want the fake's %d", got, upstreamAfterFirst)
	}
	if got := second.sum("whatalo_wazion_upstream_requests_total", "route", "GET /store"); got != 1 {
		t.Errorf("upstream_requests_total{route=GET /store} = %v, want 1 (store info is cached)", got)
	}
	routes := second.labelValues("whatalo_wazion_upstream_requests_total", "route")
	if len(routes) < 2 {
		t.Errorf("upstream routes = %q, want several", routes)
	}
	for _, r := range routes {
		if !routePattern.MatchString(r) {
			t.Errorf("upstream route label %q is not a route pattern", r)
		}
	}
	if got := second.sum("whatalo_wazion_upstream_request_duration_seconds", "store", "default"); got != float64(upstreamAfterFirst) {
		t.Errorf("upstream_request_duration_seconds count = %v, want %d", got, upstreamAfterFirst)
	}
	if got := second.sum("whatalo_wazion_limiter_wait_seconds", "store", "default", "priority", "interactive"); got != float64(upstreamAfterFirst) {
		t.Errorf("limiter_wait_seconds{interactive} count = %v, want %d", got, upstreamAfterFirst)
	}
	// The fake allows a wk_test_ key 100 requests a minute and says so.
	if got := second.sum("whatalo_wazion_upstream_budget_limit", "store", "default"); got != 100 {
		t.Errorf("upstream_budget_limit = %v, want 100", got)
	}
	if got := second.sum("whatalo_wazion_upstream_budget_remaining", "store", "default"); got != float64(100-upstreamAfterFirst) {
		t.Errorf("upstream_budget_remaining = %v, want %d", got, 100-upstreamAfterFirst)
	}
	if got := second.sum("whatalo_wazion_index_state", "store", "default", "state", "disabled"); got != 1 {
		t.Errorf("index_state{disabled} = %v, want 1", got)
	}

	// A bad token is counted without a store, and makes no upstream call.
	status, body = ts.get(t, "/wazion/globalSearch?token=wrong-token&query=maria")
	if status != http.StatusOK || !strings.Contains(body, "unauthorized") {
		t.Fatalf("bad token: %d %s", status, body)
	}
	third := ts.scrape(t)
	if got := third.sum("whatalo_wazion_requests_total", "endpoint", wazion.EndpointGlobalSearch, "outcome", wazion.OutcomeUnauthorized, "store", ""); got != 1 {
		t.Errorf("requests_total{globalSearch,unauthorized,store=\"\"} = %v, want 1", got)
	}
	if got := fake.Stats().Total; got != upstreamAfterFirst {
		t.Errorf("a bad token went upstream: %d calls, want %d", got, upstreamAfterFirst)
	}
}

func TestMetricsUpstreamErrors(t *testing.T) {
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
	ts := startService(t, fake, nil, func(c *config.Config) { c.Index.Disabled = true })
	fake.SetFaults(whatalotest.Faults{ErrorRate: 1, ErrorStatus: http.StatusNotFound})
	status, body := ts.get(t, wazionPath(wazion.EndpointCustomerInfo, "phone", demoPhone))
	if status != http.StatusOK || !strings.Contains(body, `"error"`) {
		t.Fatalf("request with a failing upstream: %d %s", status, body)
	}
	m := ts.scrape(t)
	if got := m.sum("whatalo_wazion_upstream_requests_total", "store", "default", "status", "404"); got == 0 {
		t.Error("no upstream 404 counted")
	}
	if got := m.sum("whatalo_wazion_cache_lookups_total", "store", "default", "result", "error"); got == 0 {
		t.Error("no failed cache load counted")
	}
}

func TestHealthz(t *testing.T) {
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
	// Even with Whatalo down, the process is alive.
	ts := startService(t, fake, map[string]string{"WHATALO_BASE_URL": deadURL(t)}, nil)
	status, body := ts.get(t, "/healthz")
	if status != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("/healthz: %d %s", status, body)
	}
}

func TestReadyz(t *testing.T) {
	t.Run("ready", func(t *testing.T) {
		fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
		ts := startService(t, fake, nil, nil)
		r := getReadyz(t, ts, http.StatusOK)
		st, ok := r.Stores["default"]
		if r.Status != "ready" || !ok || !st.Reachable || st.Error != "" {
			t.Fatalf("readyz = %+v", r)
		}
		if r.Config != "environment" {
			t.Errorf("config = %q, want environment", r.Config)
		}
		eventually(t, 5*time.Second, "the index to be ready", func() bool {
			st := getReadyz(t, ts, http.StatusOK).Stores["default"]
			return st.Index.State == "ready" && st.Index.LastSync != nil && st.Index.Customers > 0
		})
		m := ts.scrape(t)
		if got := m.sum("whatalo_wazion_index_customers", "store", "default"); got == 0 {
			t.Error("index_customers not set once the index is ready")
		}
		if got := m.sum("whatalo_wazion_index_last_sync_timestamp_seconds", "store", "default"); got < float64(time.Now().Add(-time.Minute).Unix()) {
			t.Errorf("index_last_sync_timestamp_seconds = %v, want about now", got)
		}
		if got := m.sum("whatalo_wazion_index_state", "store", "default", "state", "ready"); got != 1 {
			t.Errorf("index_state{ready} = %v, want 1", got)
		}
		if got := m.sum("whatalo_wazion_upstream_requests_total", "store", "default", "route", "GET /customers"); got == 0 {
			t.Error("the index sync's customer pages were not counted upstream")
		}
	})

	t.Run("index building is still ready", func(t *testing.T) {
		fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
		fake.SetFaults(whatalotest.Faults{Hang: true, Routes: []string{"GET /v1/customers"}})
		ts := startService(t, fake, nil, nil)
		r := getReadyz(t, ts, http.StatusOK)
		if st := r.Stores["default"]; r.Status != "ready" || !st.Reachable || st.Index.State != "building" {
			t.Errorf("readyz with the index building = %+v", r)
		}
	})

	t.Run("store unreachable", func(t *testing.T) {
		fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
		ts := startService(t, fake, map[string]string{"WHATALO_BASE_URL": deadURL(t)}, nil)
		status, body := ts.get(t, "/readyz")
		if status != http.StatusServiceUnavailable {
			t.Fatalf("/readyz with Whatalo down: %d %s", status, body)
		}
		var r readiness
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("/readyz body: %v: %s", err, body)
		}
		st := r.Stores["default"]
		if r.Status != "not_ready" || st.Reachable || st.Error == "" {
			t.Errorf("readyz = %s", body)
		}
		for _, secret := range []string{fake.APIKey, testToken, testWebhookSecret, "127.0.0.1"} {
			if strings.Contains(body, secret) {
				t.Errorf("/readyz body reveals %q: %s", secret, body)
			}
		}
		if !strings.Contains(ts.Logs.String(), `"msg":"store not ready"`) {
			t.Error("the failing probe was not logged")
		}
	})
}

func getReadyz(t *testing.T, ts *testService, want int) readiness {
	t.Helper()
	status, body := ts.get(t, "/readyz")
	if status != want {
		t.Fatalf("/readyz: %d, want %d: %s", status, want, body)
	}
	var r readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("/readyz body: %v: %s", err, body)
	}
	return r
}

// deadURL is a Whatalo base URL where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/v1"
}

func TestWebhookRoute(t *testing.T) {
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
	ts := startService(t, fake, nil, nil)
	hook := ts.URL + "/webhooks/whatalo/default"
	customer := json.RawMessage(`{"id":"` + demoCustomerID + `","name":"María García","phone":"` + demoPhone + `","email":"maria.garcia@example.com"}`)
	emit := func(d whatalotest.Delivery) int {
		t.Helper()
		d.URL = hook
		if d.Secret == "" {
			d.Secret = testWebhookSecret
		}
		status, err := fake.Emit(context.Background(), d)
		if err != nil {
			t.Fatalf("emit %s: %v", d.Event, err)
		}
		return status
	}

	if got := emit(whatalotest.Delivery{Event: "customer.updated", Data: customer}); got != http.StatusOK {
		t.Errorf("signed delivery: status %d, want 200", got)
	}
	if got := emit(whatalotest.Delivery{Event: "order.created", Data: json.RawMessage(`{"id":"ord_1"}`), Legacy: true}); got != http.StatusOK {
		t.Errorf("legacy signed delivery: status %d, want 200", got)
	}
	if got := emit(whatalotest.Delivery{Event: "customer.updated", Data: customer, Secret: "whsec_wrong"}); got != http.StatusUnauthorized {
		t.Errorf("wrong secret: status %d, want 401", got)
	}
	if got := emit(whatalotest.Delivery{Event: "customer.updated", Data: customer, Timestamp: time.Now().Add(-time.Hour).Unix()}); got != http.StatusUnauthorized {
		t.Errorf("stale timestamp: status %d, want 401", got)
	}
	if got := emit(whatalotest.Delivery{Event: "customer.updated", Body: json.RawMessage(`not json`)}); got != http.StatusBadRequest {
		t.Errorf("signed non-JSON body: status %d, want 400", got)
	}

	// The answer to a good delivery names its event.
	body := []byte(`{"delivery_id":"d1","event_id":"` + demoCustomerID + `","customer":` + string(customer) + `}`)
	signed := http.Header{}
	whatalo.SignWebhook(signed, testWebhookSecret, body, time.Now())
	status, resp := doRequest(t, http.MethodPost, hook, "application/json", body,
		whatalo.HeaderWebhookID, "dlv_manual_1", whatalo.HeaderWebhookEvent, "customer.updated",
		whatalo.HeaderWebhookTimestamp, signed.Get(whatalo.HeaderWebhookTimestamp),
		whatalo.HeaderWebhookSignature, signed.Get(whatalo.HeaderWebhookSignature))
	if status != http.StatusOK || !strings.Contains(resp, `"ok":true`) || !strings.Contains(resp, `"event":"customer.updated"`) {
		t.Errorf("manual delivery: %d %s", status, resp)
	}
	// No signature at all.
	status, resp = doRequest(t, http.MethodPost, hook, "application/json", body, "X-Webhook-Event", "customer.updated")
	if status != http.StatusUnauthorized || !json.Valid([]byte(resp)) {
		t.Errorf("unsigned delivery: %d %s", status, resp)
	}

	status, resp = doRequest(t, http.MethodPost, ts.URL+"/webhooks/whatalo/nope", "application/json", body)
	if status != http.StatusNotFound || !strings.Contains(resp, `"error"`) {
		t.Errorf("unknown store: %d %s", status, resp)
	}
	big := make([]byte, whatalo.MaxWebhookBody+1)
	for i := range big {
		big[i] = ' '
	}
	status, resp = doRequest(t, http.MethodPost, hook, "application/json", big)
	if status != http.StatusRequestEntityTooLarge || !json.Valid([]byte(resp)) {
		t.Errorf("oversized delivery: %d %s", status, resp)
	}

	m := ts.scrape(t)
	if got := m.sum("whatalo_wazion_webhooks_total", "store", "default", "event", "customer.updated"); got < 4 {
		t.Errorf("webhooks_total{customer.updated} = %v, want at least 4", got)
	}
	if got := m.sum("whatalo_wazion_webhooks_total", "store", "", "result", webhookUnknownStore); got != 1 {
		t.Errorf("webhooks_total{unknown_store} = %v, want 1", got)
	}
	if got := m.sum("whatalo_wazion_webhooks_total", "store", "default", "result", webhookTooLarge); got != 1 {
		t.Errorf("webhooks_total{too_large} = %v, want 1", got)
	}
	results := m.labelValues("whatalo_wazion_webhooks_total", "result")
	if len(results) < 4 {
		t.Errorf("webhook results %q: want accepted and refused deliveries told apart", results)
	}
	if strings.Contains(ts.Logs.String(), testWebhookSecret) {
		t.Error("the webhook secret is in the log")
	}
}

// TestRecentAnswers: an identical request is answered again from the last
// answer, and a webhook drops it at once, long before it would expire.
func TestRecentAnswers(t *testing.T) {
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
	ts := startService(t, fake, nil, func(c *config.Config) {
		c.Index.Disabled = true
		c.Server.AnswerTTL = time.Minute
	})
	path := wazionPath(wazion.EndpointCustomerInfo, "phone", demoPhone)
	_, first := ts.get(t, path)
	calls := fake.Stats().Total
	_, second := ts.get(t, path)
	if second != first || !strings.Contains(first, "María") {
		t.Fatalf("repeated request: %s\nthen %s", first, second)
	}
	m := ts.scrape(t)
	if got := m.sum("whatalo_wazion_answers_total", "result", "reused"); got != 1 {
		t.Errorf("answers_total{reused} = %v, want 1", got)
	}
	if got := m.sum("whatalo_wazion_answers_total", "result", "built"); got != 1 {
		t.Errorf("answers_total{built} = %v, want 1", got)
	}
	if got := fake.Stats().Total; got != calls {
		t.Errorf("the repeated request made %d upstream calls", got-calls)
	}
	if !strings.Contains(lastLine(ts.Logs.String(), `"msg":"wazion request"`), `"answer":"recent"`) {
		t.Errorf("access log of the repeated request does not say so:\n%s", lastLine(ts.Logs.String(), `"msg":"wazion request"`))
	}

	// The store renames her, and Whatalo says so.
	c, ok := fake.Customer(demoCustomerID)
	if !ok {
		t.Fatalf("customer %s not in the demo store", demoCustomerID)
	}
	c.Name = "María Renombrada"
	c = fake.UpsertCustomer(c)
	data, _ := json.Marshal(c)
	status, err := fake.Emit(context.Background(), whatalotest.Delivery{
		URL: ts.URL + "/webhooks/whatalo/default", Secret: testWebhookSecret, Event: "customer.updated", Data: data,
	})
	if err != nil || status != http.StatusOK {
		t.Fatalf("webhook: %d %v", status, err)
	}
	if _, third := ts.get(t, path); !strings.Contains(third, "María Renombrada") {
		t.Errorf("answer after the webhook still the old one: %s", third)
	}
}

// TestRunLogsNoSecrets runs the program as a user would, from a YAML file,
// drives every way of passing the token and a webhook through it, and reads
// everything it wrote: no API key, token or webhook secret, and phones only
// masked.
func TestRunLogsNoSecrets(t *testing.T) {
	const (
		apiKey        = "wk_test_Qz7apiKEYdistinct4821"
		token         = "tok-Vx9WAZIONtokenDistinct"
		webhookSecret = "whsec_HOOKsecretDistinct55"
	)
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed(), whatalotest.WithAPIKeys(apiKey))
	cfgPath := filepath.Join(t.TempDir(), "stores.yaml")
	yaml := `listen: 127.0.0.1:0
log_level: debug
server:
  shutdown_timeout: 2s
stores:
  - name: shop
    api_key: ${SHOP_API_KEY}
    base_url: ` + fake.APIURL + `
    tokens: ["` + token + `"]
    token_header: X-Shop-Token
    region: DO
    rate_limit: 600
    webhook_secret: ${SHOP_WEBHOOK_SECRET}
`
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SHOP_API_KEY": apiKey, "SHOP_WEBHOOK_SECRET": webhookSecret}
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	var runErr error
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		runErr = run(ctx, []string{"whatalo-wazion", "serve", "--config", cfgPath}, func(k string) string { return env[k] }, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		<-stopped
	}()
	var base string
	eventually(t, 10*time.Second, "the listening log line", func() bool {
		base = listeningURL(stdout.String())
		return base != ""
	})

	q := func(endpoint string, kv ...string) string {
		return base + strings.Replace(wazionPath(endpoint, kv...), "token="+testToken, "token="+token, 1)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+token))
	type call struct {
		method, url, contentType, body string
		header                         []string
	}
	calls := []call{
		{method: "GET", url: q(wazion.EndpointCustomerInfo, "phone", demoPhone)},
		{method: "GET", url: q(wazion.EndpointCustomerInitialInfo, "phone", demoPhone, "order", "1003")},
		{method: "POST", url: base + "/wazion/" + wazion.EndpointCustomerInfo, contentType: "application/json",
			body: `{"token":"` + token + `","phone":"` + demoPhone + `","relatedphones":["+18095557777"]}`},
		{method: "POST", url: base + "/wazion/" + wazion.EndpointFindToJoin, contentType: "application/x-www-form-urlencoded",
			body: "token=" + token + "&query=carlos&phone=%2B18095551234"},
		{method: "GET", url: base + "/wazion/" + wazion.EndpointSearchProducts + "?q=camiseta&phone=%2B34612345678",
			header: []string{"Authorization", "Bearer " + token}},
		{method: "GET", url: base + "/wazion/" + wazion.EndpointGlobalSearch + "?query=maria",
			header: []string{"Authorization", basic}},
		{method: "GET", url: base + "/wazion/" + wazion.EndpointCustomerInfo + "?phone=%2B18095551234",
			header: []string{"X-Wazion-Token", token}},
		{method: "GET", url: base + "/wazion/" + wazion.EndpointCustomerInfo + "?phone=%2B18095551234",
			header: []string{"X-Shop-Token", token}},
		// Wrong tokens are logged as unauthorized, never echoed.
		{method: "GET", url: base + "/wazion/" + wazion.EndpointCustomerInfo + "?phone=%2B18095551234&token=" + token + "x"},
		{method: "GET", url: base + "/readyz"},
		{method: "GET", url: base + "/metrics"},
	}
	for _, c := range calls {
		status, body := doRequest(t, c.method, c.url, c.contentType, []byte(c.body), c.header...)
		if status != http.StatusOK {
			t.Errorf("%s %s: status %d: %s", c.method, redactURL(c.url), status, body)
		}
	}
	for _, d := range []whatalotest.Delivery{
		{Event: "customer.updated", Secret: webhookSecret,
			Data: json.RawMessage(`{"id":"` + demoCustomerID + `","name":"María García","phone":"` + demoPhone + `"}`)},
		{Event: "customer.updated", Secret: webhookSecret + "-wrong", Data: json.RawMessage(`{"id":"` + demoCustomerID + `"}`)},
	} {
		d.URL = base + "/webhooks/whatalo/shop"
		if _, err := fake.Emit(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	select {
	case <-stopped:
		if runErr != nil {
			t.Fatalf("run: %v", runErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop 10 s after its context ended")
	}

	logs := stdout.String() + stderr.String()
	if !strings.Contains(logs, `"msg":"wazion request"`) || !strings.Contains(logs, `"msg":"webhook"`) || !strings.Contains(logs, `"msg":"stopped"`) {
		t.Fatalf("the log lacks access, webhook or shutdown lines:\n%s", logs)
	}
	for name, secret := range map[string]string{
		"API key":              apiKey,
		"API key tail":         apiKey[len("wk_test_"):],
		"token":                token,
		"token tail":           token[4:],
		"Basic credentials":    basic[len("Basic "):],
		"webhook secret":       webhookSecret,
		"webhook secret tail":  webhookSecret[len("whsec_"):],
		"phone":                "8095551234",
		"dashed phone":         "555-1234",
		"related phone":        "8095557777",
		"product-search phone": "612345678",
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds the %s %q", name, secret)
		}
	}
	if !strings.Contains(logs, wazion.MaskPhone(demoPhone)) {
		t.Errorf("the log has no masked phone %s: either phones are not logged or not masked", wazion.MaskPhone(demoPhone))
	}
	for i, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("stdout line %d is not JSON: %s", i+1, line)
		}
	}
}

// TestDemoCacheHitsClimb runs the demo and checks what its README section
// promises: asking twice for the same customer shows on /metrics as cache
// hits.
func TestDemoCacheHitsClimb(t *testing.T) {
	base := startDemo(t, nil).base
	u := base + "/wazion/" + wazion.EndpointCustomerInfo + "?token=" + demoToken + "&phone=%2B18095551234"
	// Answered without Whatalo: a cached lookup, or a recent answer sent
	// again.
	hits := func() float64 {
		m := scrapeURL(t, base+"/metrics")
		return m.sum("whatalo_wazion_cache_lookups_total", "result", "hit") +
			m.sum("whatalo_wazion_answers_total", "result", "reused")
	}
	var last float64
	for i := range 3 {
		if status, body := doRequest(t, http.MethodGet, u, "", nil); status != http.StatusOK || !strings.Contains(body, `"found":true`) {
			t.Fatalf("demo request %d: %d %s", i+1, status, body)
		}
		h := hits()
		if i > 0 && h <= last {
			t.Errorf("after request %d cache hits = %v, want more than %v", i+1, h, last)
		}
		last = h
	}
}

// listeningURL finds the address in the service's "listening" log line.
func listeningURL(logs string) string {
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var l struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "listening" && l.Addr != "" {
			return "http://" + l.Addr
		}
	}
	return ""
}

// lastLine is the last line of logs containing substr.
func lastLine(logs, substr string) string {
	lines := strings.Split(logs, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], substr) {
			return lines[i]
		}
	}
	return ""
}
