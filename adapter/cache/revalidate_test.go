package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCacheStaleWhileRevalidate(t *testing.T) {
	c, clock, obs := newTestCache(t, Options{DefaultTTL: time.Minute, MaxStale: time.Hour, RefreshTimeout: 7 * time.Second})
	if _, res := fetchString(t, c, KindOrders, "42", func(context.Context) (string, error) { return "old", nil }); res != ResultMiss {
		t.Fatalf("first Fetch: %q, want miss", res)
	}
	clock.Advance(2 * time.Minute)

	var calls atomic.Int32
	started := make(chan context.Context, 10)
	release := make(chan struct{})
	refreshLoad := func(ctx context.Context) (string, error) {
		calls.Add(1)
		started <- ctx
		<-release
		return "new", nil
	}

	// Many callers of a stale key: all served at once, one refresh.
	callerCtx, cancelCaller := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			v, res, err := Fetch(callerCtx, c, KindOrders, "42", refreshLoad)
			if err != nil || v != "old" || res != ResultStale {
				t.Errorf("stale Fetch = %q, %q, %v; want old, stale, nil", v, res, err)
			}
		})
	}
	wg.Wait() // every caller returned while the refresh is still blocked
	refreshCtx := <-started
	cancelCaller()
	if err := refreshCtx.Err(); err != nil {
		t.Errorf("refresh context ended with its caller: %v", err)
	}
	deadline, ok := refreshCtx.Deadline()
	if !ok || time.Until(deadline) > 7*time.Second || time.Until(deadline) < 5*time.Second {
		t.Errorf("refresh deadline in %v (set %v), want about RefreshTimeout 7s", time.Until(deadline), ok)
	}
	close(release)

	waitFor(t, "refreshed value", func() bool {
		v, _ := c.Get(KindOrders, "42")
		return v == "new"
	})
	if n := calls.Load(); n != 1 {
		t.Errorf("refresh loads = %d, want 1", n)
	}
	if got := obs.count("orders/stale"); got != 50 {
		t.Errorf("observed stale = %d, want 50", got)
	}
	if v, res := fetchString(t, c, KindOrders, "42", refreshLoad); v != "new" || res != ResultHit {
		t.Errorf("after refresh: %q, %q; want new, hit", v, res)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("load calls after hit = %d, want 1", n)
	}
}

func TestCacheRefreshFailureKeepsStale(t *testing.T) {
	c, clock, obs := newTestCache(t, Options{DefaultTTL: time.Minute, MaxStale: time.Hour})
	fetchString(t, c, KindCustomer, "7", func(context.Context) (string, error) { return "kept", nil })
	clock.Advance(5 * time.Minute)

	failing := func(context.Context) (string, error) { return "", errors.New("whatalo 503") }
	if v, res := fetchString(t, c, KindCustomer, "7", failing); v != "kept" || res != ResultStale {
		t.Fatalf("stale Fetch = %q, %q; want kept, stale", v, res)
	}
	waitFor(t, "refresh_error", func() bool { return obs.count("customer/refresh_error") == 1 })
	waitFor(t, "refresh slot released", func() bool {
		c.refreshMu.Lock()
		defer c.refreshMu.Unlock()
		return len(c.refreshing) == 0
	})
	// Errors are not cached: the stale value stays and the next stale read
	// tries again.
	if v, res := fetchString(t, c, KindCustomer, "7", failing); v != "kept" || res != ResultStale {
		t.Errorf("second stale Fetch = %q, %q; want kept, stale", v, res)
	}
	waitFor(t, "second refresh_error", func() bool { return obs.count("customer/refresh_error") == 2 })
}

func TestCachePastMaxStaleIsMiss(t *testing.T) {
	c, clock, _ := newTestCache(t, Options{DefaultTTL: time.Minute, MaxStale: 10 * time.Minute})
	fetchString(t, c, KindOrder, "9", func(context.Context) (string, error) { return "old", nil })
	clock.Advance(time.Minute + 10*time.Minute)

	if _, ok := c.Get(KindOrder, "9"); ok {
		t.Error("Get found an entry past MaxStale")
	}
	if v, res := fetchString(t, c, KindOrder, "9", func(context.Context) (string, error) { return "new", nil }); v != "new" || res != ResultMiss {
		t.Errorf("Fetch past MaxStale = %q, %q; want new, miss", v, res)
	}
	_, _, err := Fetch(context.Background(), c, KindOrder, "10", func(context.Context) (string, error) { return "", errors.New("down") })
	if err == nil {
		t.Error("nothing cached and load failed: want an error")
	}
}
