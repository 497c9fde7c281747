package wazion

import "testing"

// A store holds a Series per endpoint, by the route's index.
func TestRoutesFitStoreSeries(t *testing.T) {
	s := NewServer(&Tenants{}, Options{})
	if len(Endpoints()) != numEndpoints || len(s.routes) != numEndpoints {
		t.Fatalf("%d endpoints, %d routes; a store holds %d series", len(Endpoints()), len(s.routes), numEndpoints)
	}
	for i, r := range s.routes {
		if r.index != i || r.name != Endpoints()[i] {
			t.Errorf("route %d: %s at index %d", i, r.name, r.index)
		}
	}
}
