package cache

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestCacheTTLPerKind(t *testing.T) {
	c, clock, _ := newTestCache(t, Options{
		DefaultTTL: time.Minute,
		TTL:        map[string]time.Duration{KindStore: time.Hour},
	})
	load, _ := counter("x")
	fetchString(t, c, KindStore, "s", load)
	fetchString(t, c, KindOrders, "o", load)
	clock.Advance(2 * time.Minute)
	if _, res := fetchString(t, c, KindStore, "s", load); res != ResultHit {
		t.Errorf("store after 2m: %q, want hit (TTL 1h)", res)
	}
	if _, res := fetchString(t, c, KindOrders, "o", load); res != ResultStale {
		t.Errorf("orders after 2m: %q, want stale (default TTL 1m)", res)
	}
}

func TestCacheNegativeResults(t *testing.T) {
	type customer struct{ Name string }
	c, clock, _ := newTestCache(t, Options{DefaultTTL: time.Minute, NegativeTTL: 5 * time.Second, MaxStale: time.Hour})

	var calls atomic.Int32
	empty := func(context.Context) ([]customer, error) { calls.Add(1); return nil, nil }
	for i := range 3 {
		if _, res, err := Fetch(context.Background(), c, KindPhone, "+34600000000", empty); err != nil || (i > 0) != (res == ResultHit) {
			t.Fatalf("Fetch %d of unknown phone: %q, %v", i, res, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("load calls within NegativeTTL = %d, want 1", n)
	}
	clock.Advance(6 * time.Second)
	// Past NegativeTTL an empty result is gone, not stale: the customer who
	// just signed up is found by this very request.
	found := func(context.Context) ([]customer, error) { calls.Add(1); return []customer{{"Eva"}}, nil }
	v, res, err := Fetch(context.Background(), c, KindPhone, "+34600000000", found)
	if err != nil || res != ResultMiss || len(v) != 1 {
		t.Errorf("after NegativeTTL: %v, %q, %v; want [Eva], miss", v, res, err)
	}
	// A non-empty result keeps the full TTL.
	clock.Advance(30 * time.Second)
	if _, res, _ := Fetch(context.Background(), c, KindPhone, "+34600000000", found); res != ResultHit {
		t.Errorf("non-empty after 30s: %q, want hit", res)
	}
}

func TestIsEmpty(t *testing.T) {
	type s struct{ A int }
	var nilPtr *s
	tests := []struct {
		v    any
		want bool
	}{
		{nil, true},
		{nilPtr, true},
		{[]string(nil), true},
		{[]string{}, true},
		{map[string]int{}, true},
		{map[string]int(nil), true},
		{&s{}, false},
		{[]string{"a"}, false},
		{map[string]int{"a": 1}, false},
		{s{}, false},
		{"", false},
		{0, false},
	}
	for _, tt := range tests {
		if got := isEmpty(tt.v); got != tt.want {
			t.Errorf("isEmpty(%#v) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

// Watched order lists and versioned order details have fresh TTLs of their
// own unless Options.TTL names them; other kinds take DefaultTTL.
func TestCacheKindDefaultTTLs(t *testing.T) {
	for _, tt := range []struct {
		ttl  map[string]time.Duration
		kind string
		want time.Duration
	}{
		{nil, KindOrdersWatched, DefaultWatchedOrdersTTL},
		{nil, KindOrderVersion, DefaultOrderVersionTTL},
		{nil, KindOrders, time.Minute},
		{map[string]time.Duration{KindOrdersWatched: 0}, KindOrdersWatched, DefaultWatchedOrdersTTL},
		{map[string]time.Duration{KindOrdersWatched: 2 * time.Minute}, KindOrdersWatched, 2 * time.Minute},
		{map[string]time.Duration{KindOrderVersion: -time.Second}, KindOrderVersion, DefaultOrderVersionTTL},
		{map[string]time.Duration{KindOrders: 0}, KindOrders, time.Minute},
	} {
		c, clock, _ := newTestCache(t, Options{DefaultTTL: time.Minute, TTL: tt.ttl})
		c.Set(tt.kind, "k", "v")
		load, _ := counter("x")
		clock.Advance(tt.want - time.Second)
		if _, res := fetchString(t, c, tt.kind, "k", load); res != ResultHit {
			t.Errorf("TTL %v: %s just before %v: %q, want hit", tt.ttl, tt.kind, tt.want, res)
		}
		clock.Advance(time.Second)
		if _, res := fetchString(t, c, tt.kind, "k", load); res != ResultStale {
			t.Errorf("TTL %v: %s at %v: %q, want stale", tt.ttl, tt.kind, tt.want, res)
		}
	}
}
