package adapter_test

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// TestBackgroundWorkResumesAfterAnOutage: Whatalo answers 503 for 90 s,
// across two polls of the order feed and two refreshes of the index. Once
// it answers again, both are fresh within one refresh interval, and no
// lookup after the recovery falls back to the short order-list TTL or to
// searching Whatalo: the outage is over, its cost must be too.
func TestBackgroundWorkResumesAfterAnOutage(t *testing.T) {
	synctest.Test(t, testBackgroundWorkResumesAfterAnOutage)
}

func testBackgroundWorkResumesAfterAnOutage(t *testing.T) {
	const phone = "+18095551234"
	time.Sleep(time.Until(goldenNow))
	var mu sync.Mutex
	counting := false
	accesses := map[string]int{} // kind/result after the recovery
	d := buildDemo(t, demoSetup{perMinute: 100000, inMemory: true, wopts: faultOptions(), edit: func(o *adapter.Options) {
		o.Now = time.Now
		o.Cache.Observer = func(kind, result string) {
			mu.Lock()
			defer mu.Unlock()
			if counting {
				accesses[kind+"/"+result]++
			}
		}
	}})
	every := adapter.DefaultIndexRefresh
	defer runUntilReady(d)()
	time.Sleep(time.Second) // the order feed's first poll follows the index
	firstPoll := time.Now()
	if out := timedGet(t, d, wazion.EndpointCustomerInfo, url.Values{"phone": {phone}}); out["found"] != true {
		t.Fatalf("warm-up: %v", out)
	}

	// Down from just before the second poll until 30 s past the third.
	time.Sleep(time.Until(firstPoll.Add(every - 10*time.Second)))
	d.fake.SetFaults(whatalotest.Faults{ErrorRate: 1, ErrorStatus: 503})
	time.Sleep(90 * time.Second)
	d.fake.SetFaults(whatalotest.Faults{})
	recovered := time.Now()
	before := d.fake.Stats().PerRoute["GET /v1/orders"]
	mu.Lock()
	counting = true
	mu.Unlock()

	// When the first order list call came after the recovery (a feed poll,
	// unless a lookup fell back), and when the index first synced again.
	var feedBack, indexBack time.Duration
	failed := 0
	for time.Since(recovered) < 2*every {
		out := timedGet(t, d, wazion.EndpointCustomerInfo, url.Values{"phone": {phone}})
		if msg, _ := out["error"].(string); msg != "" || out["found"] != true {
			failed++
		}
		if st := d.b.IndexStatus(); st.State != adapter.IndexReady {
			t.Errorf("%s after the recovery the index is %s (last sync %s before the recovery)",
				time.Since(recovered).Round(time.Second), st.State, recovered.Sub(st.LastSync).Round(time.Second))
		}
		if feedBack == 0 && d.fake.Stats().PerRoute["GET /v1/orders"] > before {
			feedBack = time.Since(recovered)
		}
		if indexBack == 0 && d.b.IndexStatus().LastSync.After(recovered) {
			indexBack = time.Since(recovered)
		}
		time.Sleep(2 * time.Second)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("after the recovery: order list first called at %s, index first synced at %s, lookups failed %d, cache accesses %v",
		feedBack.Round(time.Second), indexBack.Round(time.Second), failed, accesses)
	if failed > 0 {
		t.Errorf("%d lookups after the recovery failed", failed)
	}
	if n := accesses[cache.KindOrders+"/"+cache.ResultMiss]; n > 0 {
		t.Errorf("%d order lists read again under the short TTL after the recovery: the order feed was not live", n)
	}
	if n := accesses[cache.KindPhone+"/"+cache.ResultMiss]; n > 0 {
		t.Errorf("%d phones searched in Whatalo after the recovery: the index was stale", n)
	}
	if feedBack == 0 || feedBack > every {
		t.Errorf("the order feed polled %s after the recovery (0: not within %s), want within one interval (%s)", feedBack, 2*every, every)
	}
	if indexBack == 0 || indexBack > every {
		t.Errorf("the index synced %s after the recovery (0: not within %s), want within one interval (%s)", indexBack, 2*every, every)
	}
}

// TestSyncsResumeOnTheFirstAnsweredLookup: after an outage longer than the
// freshness window the index and the order feed are stale, their next try
// up to an interval away; the first lookup Whatalo answers brings both
// back at once instead.
func TestSyncsResumeOnTheFirstAnsweredLookup(t *testing.T) {
	synctest.Test(t, testSyncsResumeOnTheFirstAnsweredLookup)
}

func testSyncsResumeOnTheFirstAnsweredLookup(t *testing.T) {
	const phone = "+18095551234"
	time.Sleep(time.Until(goldenNow))
	var mu sync.Mutex
	kinds := map[string]int{} // order list kinds read
	d := buildDemo(t, demoSetup{perMinute: 100000, inMemory: true, wopts: faultOptions(), edit: func(o *adapter.Options) {
		o.Now = time.Now
		o.Cache.Observer = func(kind, _ string) {
			if kind == cache.KindOrders || kind == cache.KindOrdersWatched {
				mu.Lock()
				kinds[kind]++
				mu.Unlock()
			}
		}
	}})
	every := adapter.DefaultIndexRefresh
	defer runUntilReady(d)()
	time.Sleep(time.Second)
	start := time.Now()
	time.Sleep(every - 10*time.Second)
	d.fake.SetFaults(whatalotest.Faults{ErrorRate: 1, ErrorStatus: 503})
	time.Sleep(5 * time.Minute)
	if st := d.b.IndexStatus(); st.State != adapter.IndexStale {
		t.Fatalf("after %s of outage the index is %s, want stale", time.Since(start).Round(time.Second), st.State)
	}
	d.fake.SetFaults(whatalotest.Faults{})
	recovered := time.Now()
	if out := timedGet(t, d, wazion.EndpointCustomerInfo, url.Values{"phone": {phone}}); out["found"] != true {
		t.Fatalf("first lookup after the recovery: %v", out)
	}
	// A twelfth of the interval is the least time between two tries.
	limit := every/12 + 2*time.Second
	for d.b.IndexStatus().State != adapter.IndexReady && time.Since(recovered) < every {
		time.Sleep(100 * time.Millisecond)
	}
	indexBack := time.Since(recovered)
	time.Sleep(time.Until(recovered.Add(limit)))
	mu.Lock()
	clear(kinds)
	mu.Unlock()
	if out := timedGet(t, d, wazion.EndpointCustomerInfo, url.Values{"phone": {phone}}); out["found"] != true {
		t.Fatalf("second lookup after the recovery: %v", out)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("after the recovery and one lookup: index ready at %s; %s later, order lists read as %v", indexBack.Round(100*time.Millisecond), limit, kinds)
	if indexBack > limit {
		t.Errorf("the index was ready again %s after the recovery and an answered lookup, want within %s", indexBack, limit)
	}
	if kinds[cache.KindOrders] > 0 || kinds[cache.KindOrdersWatched] == 0 {
		t.Errorf("%s after the recovery and an answered lookup the order lists are read as %v: the order feed is not live", limit, kinds)
	}
}

// runUntilReady starts d's Run and returns once its phone index is ready,
// with the function that stops Run and waits for it. Inside a bubble the
// polling costs no time.
func runUntilReady(d *demo) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.b.Run(ctx)
	}()
	for d.b.IndexStatus().State != adapter.IndexReady {
		time.Sleep(100 * time.Millisecond)
	}
	return func() {
		cancel()
		<-done
	}
}
