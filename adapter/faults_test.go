package adapter_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// Shrunk budgets for the fault tests: every endpoint must answer inside
// faultBudget whatever the upstream does.
const (
	faultBudget = 1200 * time.Millisecond
	faultMargin = 300 * time.Millisecond
)

var faultEndpoints = []struct {
	endpoint string
	params   url.Values
}{
	{wazion.EndpointCustomerInfo, url.Values{"phone": {"+18095551234"}}},
	{wazion.EndpointCustomerInitialInfo, url.Values{"phone": {"+18095551234"}, "order": {"1001"}}},
	{wazion.EndpointFindToJoin, url.Values{"query": {"carlos"}, "phone": {"+18095551234"}}},
	{wazion.EndpointSearchProducts, url.Values{"q": {"camiseta"}}},
	{wazion.EndpointGlobalSearch, url.Values{"query": {"maria"}}},
}

var faults = []struct {
	name   string
	faults *whatalotest.Faults // nil: the API host is down (connection refused)
}{
	{"hang", &whatalotest.Faults{Hang: true}},
	{"503", &whatalotest.Faults{ErrorRate: 1, ErrorStatus: 503}},
	{"429 storm", &whatalotest.Faults{RateLimitStorm: true, RetryAfter: 30}},
	{"malformed JSON", &whatalotest.Faults{MalformedJSON: true}},
	{"truncated body", &whatalotest.Faults{TruncatedBody: true}},
	{"20s latency", &whatalotest.Faults{Latency: whatalotest.Duration(20 * time.Second)}},
	{"connection refused", nil},
}

// clock is a settable clock for the adapter, so a test can age the cache
// without sleeping.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// faultOptions are the WAzion handler's options of the fault tests: every
// budget faultBudget.
func faultOptions() wazion.Options {
	budgets := map[string]time.Duration{}
	for _, e := range wazion.Endpoints() {
		budgets[e] = faultBudget
	}
	return wazion.Options{Budgets: budgets, Margin: faultMargin}
}

// faultDemo is the demo for a synctest bubble: the fake served in memory,
// so that whether an answer came inside its budget is measured on the
// bubble's clock, exactly, however loaded the machine is.
func faultDemo(t *testing.T) (*demo, *clock) {
	clk := &clock{}
	clk.ns.Store(goldenNow.UnixNano())
	d := buildDemo(t, demoSetup{perMinute: 100000, edit: func(o *adapter.Options) { o.Now = clk.Now }, wopts: faultOptions(), inMemory: true})
	return d, clk
}

// timedGet calls an endpoint and checks the WAzion contract: HTTP 200,
// JSON, inside the budget.
func timedGet(t *testing.T, d *demo, endpoint string, params url.Values) map[string]any {
	t.Helper()
	q := url.Values{"token": {testToken}}
	for k, v := range params {
		q[k] = v
	}
	req := httptest.NewRequest(http.MethodGet, "/wazion/"+endpoint+"?"+q.Encode(), nil)
	start := time.Now()
	resp, err := d.app.Test(req, int((faultBudget + 2*time.Second).Milliseconds()))
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("invalid JSON %q: %v", body, err)
	}
	if elapsed >= faultBudget {
		t.Errorf("answered in %v, not inside the %v budget (in virtual time an answer at the budget itself has already lost WAzion)", elapsed, faultBudget)
	}
	return out
}

func applyFault(d *demo, f *whatalotest.Faults) {
	if f == nil {
		d.fake.Stop()
		return
	}
	d.fake.SetFaults(*f)
}

// TestFaultsCold: with nothing cached, every endpoint answers 200 with JSON
// and an error inside its budget, whatever the upstream does. Each case
// runs in a synctest bubble, so "inside its budget" is measured on the
// bubble's clock, exactly.
func TestFaultsCold(t *testing.T) {
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				d, _ := faultDemo(t)
				applyFault(d, f.faults)
				var wg sync.WaitGroup
				for _, e := range faultEndpoints {
					wg.Go(func() {
						out := timedGet(t, d, e.endpoint, e.params)
						if msg, _ := out["error"].(string); msg == "" {
							t.Errorf("%s: no error reported: %v", e.endpoint, out)
						}
					})
				}
				wg.Wait()
			})
		})
	}
}

// TestFaultsWarm: with the cache warm but past its fresh TTL, every
// endpoint still answers the cached data inside its budget.
func TestFaultsWarm(t *testing.T) {
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				d, clk := faultDemo(t)
				want := map[string]string{}
				for _, e := range faultEndpoints {
					out := timedGet(t, d, e.endpoint, e.params)
					if out["error"] != nil {
						t.Fatalf("%s warm-up failed: %v", e.endpoint, out["error"])
					}
					b, _ := json.Marshal(out)
					want[e.endpoint] = string(b)
				}
				clk.Advance(10 * time.Minute) // past every fresh TTL but the store's
				applyFault(d, f.faults)
				var wg sync.WaitGroup
				for _, e := range faultEndpoints {
					wg.Go(func() {
						out := timedGet(t, d, e.endpoint, e.params)
						if b, _ := json.Marshal(out); string(b) != want[e.endpoint] {
							t.Errorf("%s: stale answer differs:\n got %s\nwant %s", e.endpoint, b, want[e.endpoint])
						}
					})
				}
				wg.Wait()
			})
		})
	}
}
