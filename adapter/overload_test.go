package adapter_test

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// newLimitedDemo is the demo store behind a key limited to perMinute, with
// the service's limiter set to the same figure and the fault budgets, served
// in memory for a synctest bubble.
func newLimitedDemo(t *testing.T, perMinute int) *demo {
	t.Helper()
	return buildDemo(t, demoSetup{perMinute: perMinute, wopts: faultOptions(), inMemory: true})
}

// TestOverloadStaysUnderTheKeyLimit drives ten times the key's per-minute
// limit of distinct cold phones at the service: the fake never sees more
// than the limit in a minute, never has to answer 429, and every request is
// still answered inside its budget.
func TestOverloadStaysUnderTheKeyLimit(t *testing.T) {
	synctest.Test(t, testOverloadStaysUnderTheKeyLimit)
}

func testOverloadStaysUnderTheKeyLimit(t *testing.T) {
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
