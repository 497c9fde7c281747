package adapter_test

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// newLimitedDemo is the demo store behind a key limited to perMinute, with
// the service's limiter set to the same figure.
func newLimitedDemo(t *testing.T, perMinute int) *demo {
	t.Helper()
	seed, err := whatalotest.LoadSeed(demoStoreJSON(), goldenNow)
	if err != nil {
		t.Fatal(err)
	}
	fake := whatalotest.NewServer(t, seed, whatalotest.WithRateLimit(perMinute))
	client, err := whatalo.NewClient(fake.APIKey, whatalo.WithBaseURL(fake.APIURL),
		whatalo.WithLimiter(whatalo.NewLimiter(perMinute, 0.5)))
	if err != nil {
		t.Fatal(err)
	}
	b := adapter.New(client, adapter.Options{Name: "demo", Region: "DO", Now: func() time.Time { return goldenNow }})
	t.Cleanup(b.Close)
	tenants, err := wazion.NewTenants([]wazion.Tenant{{Name: "demo", Tokens: []string{testToken}, Backend: b}})
	if err != nil {
		t.Fatal(err)
	}
	budgets := map[string]time.Duration{}
	for _, e := range wazion.Endpoints() {
		budgets[e] = faultBudget
	}
	wopts := wazion.Options{Budgets: budgets, Margin: faultMargin}
	srv := wazion.NewServer(tenants, wopts)
	app := fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true}))
	srv.Routes(app)
	return &demo{app: app, fake: fake, b: b}
}

// TestOverloadStaysUnderTheKeyLimit drives ten times the key's per-minute
// limit of distinct cold phones at the service: the fake never sees more
// than the limit in a minute, never has to answer 429, and every request is
// still answered inside its budget.
func TestOverloadStaysUnderTheKeyLimit(t *testing.T) {
	const perMinute = 60
	d := newLimitedDemo(t, perMinute)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 40)
	var mu sync.Mutex
	limited := 0
	for i := range 10 * perMinute {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out := timedGet(t, d, wazion.EndpointCustomerInfo, url.Values{"phone": {fmt.Sprintf("+1809%07d", 2000000+i)}})
			if msg, _ := out["error"].(string); msg != "" {
				mu.Lock()
				limited++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	st := d.fake.Stats()
	if st.MaxPerMinute > perMinute {
		t.Errorf("fake saw %d requests in a minute, over the %d limit", st.MaxPerMinute, perMinute)
	}
	if st.RateLimited != 0 {
		t.Errorf("fake answered %d requests with 429", st.RateLimited)
	}
	if limited == 0 || st.Total == 0 {
		t.Errorf("%d of %d answers limited, %d upstream calls: the overload did not reach the limiter", limited, 10*perMinute, st.Total)
	}
	t.Logf("upstream calls %d (max %d/min), answers with an error %d of %d", st.Total, st.MaxPerMinute, limited, 10*perMinute)
}

// TestConcurrentColdPhoneMakesOneLookup: 100 simultaneous requests for one
// uncached phone make one customer lookup upstream.
func TestConcurrentColdPhoneMakesOneLookup(t *testing.T) {
	d := newDemo(t, nil)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			out := d.get(t, wazion.EndpointCustomerInfo, url.Values{"phone": {"+18095551234"}})
			if out["found"] != true {
				t.Errorf("answer: %v", out)
			}
		})
	}
	wg.Wait()
	st := d.fake.Stats()
	if n := st.PerRoute["GET /v1/customers"]; n != 1 {
		t.Errorf("customer lookups upstream = %d, want 1 (per route: %v)", n, st.PerRoute)
	}
	if n := st.PerRoute["GET /v1/orders"]; n != 1 {
		t.Errorf("order list calls = %d, want 1", n)
	}
}

// TestRepeatedLookupStaysCached: a repeated lookup within the fresh TTL
// makes no second upstream call.
func TestRepeatedLookupStaysCached(t *testing.T) {
	d := newDemo(t, nil)
	first := d.get(t, wazion.EndpointCustomerInfo, url.Values{"phone": {"+18095551234"}})
	before := d.fake.Stats().Total
	for range 5 {
		again := d.get(t, wazion.EndpointCustomerInfo, url.Values{"phone": {"+18095551234"}})
		if fmt.Sprint(again) != fmt.Sprint(first) {
			t.Fatalf("cached answer differs")
		}
	}
	if after := d.fake.Stats().Total; after != before {
		t.Errorf("repeated lookups made %d upstream calls, want 0", after-before)
	}
}
