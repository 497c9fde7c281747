package main

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

var (
	_ wazion.SeriesObserver = (*metrics)(nil)
	_ wazion.AnswerObserver = (*metrics)(nil)
)

// A store's Series counts in the series ObserveRequest and ObserveAnswer
// count in, for every outcome, with and without the store label.
func TestMetricsSeries(t *testing.T) {
	for _, perStore := range []bool{true, false} {
		m := newMetrics(perStore)
		sr := m.Series(wazion.EndpointCustomerInfo, "shop")
		outcomes := append(seriesOutcomes[:], "some_new_outcome")
		for i, outcome := range outcomes {
			if i < len(seriesOutcomes) && outcomeIndex(outcome) != i {
				t.Fatalf("outcomeIndex(%q) = %d, want %d", outcome, outcomeIndex(outcome), i)
			}
			for range 2 {
				sr.ObserveRequest(outcome, time.Millisecond)
			}
			m.ObserveRequest(wazion.EndpointCustomerInfo, "shop", outcome, time.Millisecond)
			if got := testutil.ToFloat64(m.requests.WithLabelValues(m.requestValues(wazion.EndpointCustomerInfo, outcome, "shop")...)); got != 3 {
				t.Errorf("per store %v: requests_total{%s} = %v, want 3", perStore, outcome, got)
			}
		}
		if got := testutil.ToFloat64(m.storeErrors.WithLabelValues("shop", errorSourceAnswer)); got != 9 {
			t.Errorf("per store %v: store_errors_total{answer} = %v, want 9 (error, timeout, panic)", perStore, got)
		}
		sr.ObserveAnswer(true)
		sr.ObserveAnswer(true)
		sr.ObserveAnswer(false)
		m.ObserveAnswer(wazion.EndpointCustomerInfo, "shop", true)
		for result, want := range map[string]float64{"reused": 3, "built": 1} {
			if got := testutil.ToFloat64(m.answers.WithLabelValues(m.storeValues("shop", wazion.EndpointCustomerInfo, result)...)); got != want {
				t.Errorf("per store %v: answers_total{%s} = %v, want %v", perStore, result, got, want)
			}
		}
	}
}

func TestMetricsRequests(t *testing.T) {
	m := newMetrics(true)
	m.ObserveRequest(wazion.EndpointCustomerInfo, "shop", wazion.OutcomeFound, 3*time.Millisecond)
	m.ObserveRequest(wazion.EndpointCustomerInfo, "shop", wazion.OutcomeFound, 2*time.Second)
	m.ObserveRequest(wazion.EndpointGlobalSearch, "", wazion.OutcomeUnauthorized, time.Millisecond)

	if got := testutil.ToFloat64(m.requests.WithLabelValues(wazion.EndpointCustomerInfo, wazion.OutcomeFound, "shop")); got != 2 {
		t.Errorf("requests_total{found,shop} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues(wazion.EndpointGlobalSearch, wazion.OutcomeUnauthorized, "")); got != 1 {
		t.Errorf("requests_total{unauthorized} = %v, want 1", got)
	}
	want := `
# HELP whatalo_wazion_request_duration_seconds Time to answer a WAzion request, by endpoint.
# TYPE whatalo_wazion_request_duration_seconds histogram
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="0.001"} 0
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="0.0025"} 0
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="0.005"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="0.01"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="0.025"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="0.05"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="0.1"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="0.25"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="0.5"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="1"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="2.5"} 2
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="5"} 2
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="10"} 2
whatalo_wazion_request_duration_seconds_bucket{endpoint="sidePanel_CustomerInfo",le="+Inf"} 2
whatalo_wazion_request_duration_seconds_sum{endpoint="sidePanel_CustomerInfo"} 2.003
whatalo_wazion_request_duration_seconds_count{endpoint="sidePanel_CustomerInfo"} 2
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="0.001"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="0.0025"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="0.005"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="0.01"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="0.025"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="0.05"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="0.1"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="0.25"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="0.5"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="1"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="2.5"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="5"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="10"} 1
whatalo_wazion_request_duration_seconds_bucket{endpoint="globalSearch",le="+Inf"} 1
whatalo_wazion_request_duration_seconds_sum{endpoint="globalSearch"} 0.001
whatalo_wazion_request_duration_seconds_count{endpoint="globalSearch"} 1
`
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), "whatalo_wazion_request_duration_seconds"); err != nil {
		t.Error(err)
	}
}

func TestMetricsCacheObserver(t *testing.T) {
	m := newMetrics(true)
	a, b := m.cacheObserver("a"), m.cacheObserver("b")
	a("customer", "miss")
	a("customer", "hit")
	a("customer", "hit")
	b("customer", "hit")
	b("products", "stale")
	for _, tc := range []struct {
		store, cache, result string
		want                 float64
	}{
		{"a", "customer", "hit", 2},
		{"a", "customer", "miss", 1},
		{"b", "customer", "hit", 1},
		{"b", "products", "stale", 1},
		{"a", "products", "stale", 0},
	} {
		if got := testutil.ToFloat64(m.cacheLookups.WithLabelValues(tc.store, tc.cache, tc.result)); got != tc.want {
			t.Errorf("cache_lookups_total{%s,%s,%s} = %v, want %v", tc.store, tc.cache, tc.result, got, tc.want)
		}
	}
}

func TestMetricsUpstreamObserver(t *testing.T) {
	m := newMetrics(true)
	o := m.storeObserver("shop")
	o.ObserveRequest("GET /customers/{id}", 200, 20*time.Millisecond)
	o.ObserveRequest("GET /customers/{id}", 503, 20*time.Millisecond)
	o.ObserveRequest("GET /customers/{id}", 0, time.Second)
	o.ObserveLimiterWait(whatalo.Background, 2*time.Second)
	o.ObserveLimiterWait(whatalo.Interactive, 0)
	o.ObserveLimiterReject(whatalo.Interactive)
	reset := time.Unix(1_800_000_000, 0)
	o.ObserveRateLimit(87, 100, reset)

	for _, tc := range []struct {
		status string
		want   float64
	}{{"200", 1}, {"503", 1}, {"error", 1}, {"0", 0}} {
		if got := testutil.ToFloat64(m.upstream.WithLabelValues("shop", "GET /customers/{id}", tc.status)); got != tc.want {
			t.Errorf("upstream_requests_total{status=%q} = %v, want %v", tc.status, got, tc.want)
		}
	}
	if got := testutil.ToFloat64(m.limiterRejects.WithLabelValues("shop", "interactive")); got != 1 {
		t.Errorf("limiter_rejections_total{interactive} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.budgetRemaining.WithLabelValues("shop")); got != 87 {
		t.Errorf("upstream_budget_remaining = %v, want 87", got)
	}
	if got := testutil.ToFloat64(m.budgetLimit.WithLabelValues("shop")); got != 100 {
		t.Errorf("upstream_budget_limit = %v, want 100", got)
	}
	if got := testutil.ToFloat64(m.budgetReset.WithLabelValues("shop")); got != 1_800_000_000 {
		t.Errorf("upstream_budget_reset_timestamp_seconds = %v, want 1800000000", got)
	}
	if n := testutil.CollectAndCount(m.limiterWait); n != 2 {
		t.Errorf("limiter_wait_seconds has %d series, want 2 (interactive, background)", n)
	}
	if n := testutil.CollectAndCount(m.upstreamLatency); n != 1 {
		t.Errorf("upstream_request_duration_seconds has %d series, want 1", n)
	}
}

func TestMetricsWebhookEventsBounded(t *testing.T) {
	m := newMetrics(true)
	m.ObserveWebhook("shop", "customer.updated", "ok")
	m.ObserveWebhook("shop", "evil.event.1", "ok")
	m.ObserveWebhook("shop", "evil.event.2", "ok")
	m.ObserveWebhook("shop", "", "bad_signature")
	if got := testutil.ToFloat64(m.webhooks.WithLabelValues("shop", "customer.updated", "ok")); got != 1 {
		t.Errorf("webhooks_total{customer.updated} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.webhooks.WithLabelValues("shop", "unknown", "ok")); got != 2 {
		t.Errorf("webhooks_total{unknown,ok} = %v, want 2", got)
	}
	if n := testutil.CollectAndCount(m.webhooks); n != 3 {
		t.Errorf("webhooks_total has %d series, want 3", n)
	}
}

func TestMetricsIndex(t *testing.T) {
	m := newMetrics(true)
	m.ObserveIndex("shop", 10, 0, time.Time{})
	if n := testutil.CollectAndCount(m.indexLastSync); n != 0 {
		t.Errorf("index_last_sync_timestamp_seconds set before any sync (%d series)", n)
	}
	sync := time.Unix(1_700_000_000, 500_000_000)
	m.ObserveIndex("shop", 33, 41, sync)
	if got := testutil.ToFloat64(m.indexCustomers.WithLabelValues("shop")); got != 33 {
		t.Errorf("index_customers = %v, want 33", got)
	}
	if got := testutil.ToFloat64(m.indexKeys.WithLabelValues("shop")); got != 41 {
		t.Errorf("index_keys = %v, want 41", got)
	}
	if got := testutil.ToFloat64(m.indexLastSync.WithLabelValues("shop")); got != 1_700_000_000.5 {
		t.Errorf("index_last_sync_timestamp_seconds = %v, want 1700000000.5", got)
	}

	state := map[string]string{"a": "building", "b": "ready"}
	m.watchIndexState(storeStates([]string{"a", "b"}, func(s string) string { return state[s] }))
	want := `
# HELP whatalo_wazion_index_state State of the store's phone index: 1 for the current state (disabled, building, ready, stale, failed), 0 for the others.
# TYPE whatalo_wazion_index_state gauge
whatalo_wazion_index_state{state="building",store="a"} 1
whatalo_wazion_index_state{state="disabled",store="a"} 0
whatalo_wazion_index_state{state="failed",store="a"} 0
whatalo_wazion_index_state{state="ready",store="a"} 0
whatalo_wazion_index_state{state="stale",store="a"} 0
whatalo_wazion_index_state{state="building",store="b"} 0
whatalo_wazion_index_state{state="disabled",store="b"} 0
whatalo_wazion_index_state{state="failed",store="b"} 0
whatalo_wazion_index_state{state="ready",store="b"} 1
whatalo_wazion_index_state{state="stale",store="b"} 0
`
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), "whatalo_wazion_index_state"); err != nil {
		t.Error(err)
	}
	state["a"] = "ready"
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(strings.NewReplacer(
		`{state="building",store="a"} 1`, `{state="building",store="a"} 0`,
		`{state="ready",store="a"} 0`, `{state="ready",store="a"} 1`,
	).Replace(want)), "whatalo_wazion_index_state"); err != nil {
		t.Errorf("after the state changed: %v", err)
	}
}

// TestMetricsNames checks every metric of the service against Prometheus
// naming rules with promlint, and that the runtime collectors are there.
func TestMetricsNames(t *testing.T) {
	m := newMetrics(true)
	m.ObserveRequest(wazion.EndpointCustomerInfo, "shop", wazion.OutcomeFound, time.Millisecond)
	m.cacheObserver("shop")("customer", "hit")
	o := m.storeObserver("shop")
	o.ObserveRequest("GET /store", 200, time.Millisecond)
	o.ObserveLimiterWait(whatalo.Interactive, 0)
	o.ObserveLimiterReject(whatalo.Interactive)
	o.ObserveRateLimit(1, 2, time.Now())
	m.ObserveIndex("shop", 1, 1, time.Now())
	m.ObserveWebhook("shop", "order.created", "ok")
	m.watchIndexState(storeStates([]string{"shop"}, func(string) string { return "ready" }))

	problems, err := testutil.GatherAndLint(m.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, metricsNamespace) {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, name := range []string{
		"go_goroutines", "go_build_info",
		"whatalo_wazion_requests_total", "whatalo_wazion_request_duration_seconds",
		"whatalo_wazion_cache_lookups_total", "whatalo_wazion_upstream_requests_total",
		"whatalo_wazion_upstream_request_duration_seconds", "whatalo_wazion_limiter_wait_seconds",
		"whatalo_wazion_limiter_rejections_total", "whatalo_wazion_upstream_budget_remaining",
		"whatalo_wazion_upstream_budget_limit", "whatalo_wazion_upstream_budget_reset_timestamp_seconds",
		"whatalo_wazion_index_customers", "whatalo_wazion_index_keys",
		"whatalo_wazion_index_last_sync_timestamp_seconds", "whatalo_wazion_index_state",
		"whatalo_wazion_webhooks_total",
	} {
		if !names[name] {
			t.Errorf("metric %s missing", name)
		}
	}
}

// storeStates yields each of stores with its state, for watchIndexState.
func storeStates(stores []string, state func(string) string) func(yield func(store, state string)) {
	return func(yield func(store, state string)) {
		for _, s := range stores {
			yield(s, state(s))
		}
	}
}
