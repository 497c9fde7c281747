package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// TestManyStoresStartup: past perStoreAutoMax stores, stores start in
// configuration order, at most index.startup_concurrency building their
// first index at once; stores sharing an API key share one limiter; and
// only the index series and store_errors_total carry the store label,
// before and after traffic to every store.
func TestManyStoresStartup(t *testing.T) {
	const stores, keys, concurrency = perStoreAutoMax + 10, 30, 2
	var keyList []string
	for k := range keys {
		keyList = append(keyList, fmt.Sprintf("wk_live_many_%d", k))
	}
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed(), whatalotest.WithAPIKeys(keyList...))
	// Every first build hangs on its customer list until the fake is
	// reset: the stores the queue started are then the ones that hang.
	fake.SetFaults(whatalotest.Faults{Hang: true, Routes: []string{"GET /v1/customers"}})
	var entries []storeEntry
	for i := range stores {
		entries = append(entries, storeEntry{fmt.Sprintf("store-%d", i), keyList[i%keys], fmt.Sprintf("token-store-%d", i), ""})
	}
	fs := startFileService(t, fake, storesYAML(fake, fmt.Sprintf("index:\n  startup_concurrency: %d\n", concurrency), entries...))

	set := fs.svc.stores.Load()
	startedNames := func() []string {
		var out []string
		for _, name := range set.names {
			u := set.units[name]
			u.mu.Lock()
			if u.started {
				out = append(out, name)
			}
			u.mu.Unlock()
		}
		return out
	}
	eventually(t, 10*time.Second, "the first builds to reach the customer list", func() bool {
		return fake.Stats().PerRoute["GET /v1/customers"] >= concurrency
	})
	if got := startedNames(); strings.Join(got, ",") != "store-0,store-1" {
		t.Errorf("stores started while the first builds run = %v, want store-0 and store-1", got)
	}
	if got := fake.Stats().PerRoute["GET /v1/customers"]; got != concurrency {
		t.Errorf("%d index builds reached Whatalo at once, want %d", got, concurrency)
	}

	for i, name := range set.names {
		u, other := set.units[name], set.units[set.names[(i+keys)%stores]]
		if u.limiter != other.limiter {
			t.Errorf("%s and %s share an API key but not its limiter", name, other.name)
		}
		if next := set.units[set.names[(i+1)%stores]]; u.limiter == next.limiter {
			t.Errorf("%s and %s have different keys but one limiter", name, next.name)
		}
	}

	m := fs.scrape(t)
	checkStoreLabels(t, "before traffic", m, stores)
	fake.Reset()
	fs.allReady(t)
	for i := range stores {
		fs.panel(t, fmt.Sprintf("token-store-%d", i))
	}
	fs.panel(t, "not-a-token")
	m = fs.scrape(t)
	checkStoreLabels(t, "after traffic", m, stores)
	if got := m.sum("whatalo_wazion_requests_total", "outcome", "found"); got != stores {
		t.Errorf("requests_total{outcome=found} = %v, want %d: the summed series lost requests", got, stores)
	}
	if got := m.sum("whatalo_wazion_index_state", "state", "ready"); got != stores {
		t.Errorf("index_state{state=ready} = %v, want %d", got, stores)
	}
}

// checkStoreLabels: only the series an operator reads per store carry the
// store label, a bounded number of them per store.
func checkStoreLabels(t *testing.T, when string, m promMetrics, stores int) {
	t.Helper()
	perStore := map[string]bool{
		"whatalo_wazion_index_state": true, "whatalo_wazion_index_customers": true, "whatalo_wazion_index_keys": true,
		"whatalo_wazion_index_last_sync_timestamp_seconds": true, "whatalo_wazion_store_errors_total": true,
	}
	series := 0
	for name, mf := range m {
		for _, s := range mf.GetMetric() {
			for _, lp := range s.GetLabel() {
				if lp.GetName() != "store" {
					continue
				}
				series++
				if !perStore[name] {
					t.Errorf("%s: %s carries the store label", when, name)
					return
				}
			}
		}
	}
	// Five index states, three index gauges, three error sources.
	if limit := stores * 11; series > limit {
		t.Errorf("%s: %d series carry the store label, want at most %d for %d stores", when, series, limit, stores)
	}
}
