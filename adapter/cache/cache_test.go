package cache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// observed counts Observer calls by "kind/result".
type observed struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *observed) observe(kind, result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[kind+"/"+result]++
}

func (o *observed) count(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[key]
}

func newTestCache(t *testing.T, opts Options) (*Cache, *fakeClock, *observed) {
	t.Helper()
	clock := newFakeClock()
	obs := &observed{}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	opts.Observer = obs.observe
	c := New(opts)
	t.Cleanup(c.Close)
	return c, clock, obs
}

// counter returns a load that yields value and counts its calls.
func counter(value string) (func(context.Context) (string, error), *atomic.Int32) {
	var n atomic.Int32
	return func(context.Context) (string, error) {
		n.Add(1)
		return value, nil
	}, &n
}

// waitFor polls cond, for results that a background goroutine produces.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func fetchString(t *testing.T, c *Cache, kind, key string, load func(context.Context) (string, error)) (string, string) {
	t.Helper()
	v, res, err := Fetch(context.Background(), c, kind, key, load)
	if err != nil {
		t.Fatalf("Fetch(%s, %s): %v", kind, key, err)
	}
	return v, res
}

func TestCacheFreshHit(t *testing.T) {
	c, clock, obs := newTestCache(t, Options{DefaultTTL: time.Minute})
	load, calls := counter("Ana")

	if v, res := fetchString(t, c, KindCustomer, "1", load); v != "Ana" || res != ResultMiss {
		t.Fatalf("first Fetch = %q, %q; want Ana, miss", v, res)
	}
	clock.Advance(59 * time.Second)
	if v, res := fetchString(t, c, KindCustomer, "1", load); v != "Ana" || res != ResultHit {
		t.Fatalf("second Fetch = %q, %q; want Ana, hit", v, res)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("load calls = %d, want 1", n)
	}
	if got := obs.count("customer/hit"); got != 1 {
		t.Errorf("observed hits = %d, want 1", got)
	}
	if got := obs.count("customer/miss"); got != 1 {
		t.Errorf("observed misses = %d, want 1", got)
	}
	// Another key and another kind with the same key are separate entries.
	if _, res := fetchString(t, c, KindCustomer, "2", load); res != ResultMiss {
		t.Errorf("other key: result %q, want miss", res)
	}
	if _, res := fetchString(t, c, KindOrder, "1", load); res != ResultMiss {
		t.Errorf("other kind: result %q, want miss", res)
	}
}

func TestCacheSetGetDelete(t *testing.T) {
	c, clock, _ := newTestCache(t, Options{DefaultTTL: time.Minute})
	c.Set(KindCustomer, "1", "v1")
	if v, ok := c.Get(KindCustomer, "1"); !ok || v != "v1" {
		t.Fatalf("Get = %v, %v; want v1", v, ok)
	}
	load, calls := counter("loaded")
	if v, res := fetchString(t, c, KindCustomer, "1", load); v != "v1" || res != ResultHit {
		t.Errorf("Fetch after Set = %q, %q; want v1, hit", v, res)
	}
	clock.Advance(2 * time.Minute)
	c.Set(KindCustomer, "1", "v2") // a webhook makes it fresh again
	if v, res := fetchString(t, c, KindCustomer, "1", load); v != "v2" || res != ResultHit {
		t.Errorf("Fetch after second Set = %q, %q; want v2, hit", v, res)
	}
	c.Delete(KindCustomer, "1")
	if _, ok := c.Get(KindCustomer, "1"); ok {
		t.Error("Get after Delete found the entry")
	}
	if v, res := fetchString(t, c, KindCustomer, "1", load); v != "loaded" || res != ResultMiss {
		t.Errorf("Fetch after Delete = %q, %q; want loaded, miss", v, res)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("load calls = %d, want 1", n)
	}
}

func TestCacheLoadDoesNotOverwriteNewerSet(t *testing.T) {
	c, _, _ := newTestCache(t, Options{})
	v, _, err := Fetch(context.Background(), c, KindCustomer, "3", func(context.Context) (string, error) {
		c.Set(KindCustomer, "3", "from webhook")
		return "fetched before the webhook", nil
	})
	if err != nil || v != "from webhook" {
		t.Errorf("Fetch = %q, %v; want the newer value from webhook", v, err)
	}
	if got, _ := c.Get(KindCustomer, "3"); got != "from webhook" {
		t.Errorf("cached %v, want from webhook", got)
	}
}

// A Delete says what a running load fetched is out of date (an order
// changed while its list was read): the load's caller gets it, the cache
// does not keep it. A load that starts after the Delete is kept.
func TestCacheLoadAcrossDeleteIsNotKept(t *testing.T) {
	c, _, _ := newTestCache(t, Options{})
	v, _, err := Fetch(context.Background(), c, KindOrders, "7", func(context.Context) (string, error) {
		c.Delete(KindOrders, "7")
		return "read before the change", nil
	})
	if err != nil || v != "read before the change" {
		t.Fatalf("Fetch = %q, %v", v, err)
	}
	if got, ok := c.Get(KindOrders, "7"); ok {
		t.Fatalf("cached %v, loaded across a Delete", got)
	}
	v, _, _ = Fetch(context.Background(), c, KindOrders, "7", func(context.Context) (string, error) {
		return "read after the change", nil
	})
	if got, _ := c.Get(KindOrders, "7"); got != "read after the change" || v != got {
		t.Errorf("cached %v, want the load that began after the Delete", got)
	}
	// Other keys are not affected.
	Fetch(context.Background(), c, KindOrders, "8", func(context.Context) (string, error) {
		c.Delete(KindOrders, "9")
		return "eight", nil
	})
	if got, _ := c.Get(KindOrders, "8"); got != "eight" {
		t.Errorf("a Delete of another key stopped a load being kept: %v", got)
	}
}

func TestCacheKeysCopied(t *testing.T) {
	// Fiber reuses the memory behind request strings once the handler
	// returns; the cache must not keep pointing into it.
	c, clock, _ := newTestCache(t, Options{DefaultTTL: time.Minute})
	buf := []byte("+5215512345678")
	key := unsafe.String(&buf[0], len(buf))
	fetchString(t, c, KindPhone, key, func(context.Context) (string, error) { return "Ana", nil })
	copy(buf, "+0000000000000")
	if v, ok := c.Get(KindPhone, "+5215512345678"); !ok || v != "Ana" {
		t.Errorf("entry lost after the request's buffer was reused: %v, %v", v, ok)
	}
	if _, ok := c.Get(KindPhone, "+0000000000000"); ok {
		t.Error("entry follows the reused buffer")
	}

	// The same for a background refresh started from a reused buffer.
	clock.Advance(2 * time.Minute)
	copy(buf, "+5215512345678")
	release := make(chan struct{})
	if _, res := fetchString(t, c, KindPhone, key, func(context.Context) (string, error) { <-release; return "Ana 2", nil }); res != ResultStale {
		t.Fatalf("result %q, want stale", res)
	}
	copy(buf, "+1111111111111")
	close(release)
	waitFor(t, "refresh under the original key", func() bool {
		v, _ := c.Get(KindPhone, "+5215512345678")
		return v == "Ana 2"
	})
	if _, ok := c.Get(KindPhone, "+1111111111111"); ok {
		t.Error("refresh stored under the reused buffer's new content")
	}
}

func TestCacheDisabled(t *testing.T) {
	c, _, obs := newTestCache(t, Options{Disabled: true})
	load, calls := counter("x")
	for range 3 {
		if v, res := fetchString(t, c, KindOrders, "1", load); v != "x" || res != ResultBypass {
			t.Fatalf("disabled Fetch = %q, %q; want x, bypass", v, res)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("load calls = %d, want 3", n)
	}
	c.Set(KindOrders, "1", "y")
	if _, ok := c.Get(KindOrders, "1"); ok || c.Len() != 0 {
		t.Errorf("disabled cache stored a value (Len %d)", c.Len())
	}
	if got := obs.count("orders/bypass"); got != 3 {
		t.Errorf("observed bypass = %d, want 3", got)
	}
}

func TestCacheTypeMismatch(t *testing.T) {
	c, _, _ := newTestCache(t, Options{})
	c.Set(KindOrder, "1", "a string")
	_, res, err := Fetch(context.Background(), c, KindOrder, "1", func(context.Context) (int, error) { return 1, nil })
	if err == nil || res != ResultError {
		t.Errorf("Fetch[int] of a string entry: %q, %v; want an error", res, err)
	}
}

func TestCacheSweepAndClose(t *testing.T) {
	// go-cache expiry follows the wall clock, so this test uses real,
	// tiny durations.
	c := New(Options{DefaultTTL: 50 * time.Millisecond, MaxStale: -1, CleanupInterval: 5 * time.Millisecond})
	for i := range 10 {
		c.Set(KindPhone, strconv.Itoa(i), "x")
	}
	if c.Len() == 0 {
		t.Fatal("nothing stored")
	}
	waitFor(t, "sweep", func() bool { return c.Len() == 0 })

	c.Close()
	c.Close() // idempotent
	c.Set(KindPhone, "after", "x")
	time.Sleep(100 * time.Millisecond)
	if c.Len() != 1 {
		t.Errorf("Len after Close = %d, want 1: the sweep should have stopped", c.Len())
	}
}

func TestCacheConcurrentMixedUse(t *testing.T) {
	// For the race detector: every operation at once on overlapping keys.
	c, clock, _ := newTestCache(t, Options{DefaultTTL: time.Second, MaxEntries: 50, MaxStale: time.Minute})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				key := strconv.Itoa((g*7 + i) % 80)
				switch i % 5 {
				case 0:
					c.Set(KindCustomer, key, i)
				case 1:
					c.Delete(KindCustomer, key)
				case 2:
					clock.Advance(100 * time.Millisecond)
				default:
					_, _, err := Fetch(context.Background(), c, KindCustomer, key, func(context.Context) (int, error) {
						if i%7 == 0 {
							return 0, errors.New("flaky")
						}
						return i, nil
					})
					_ = err // errors are expected: the load is flaky on purpose
				}
				if n := c.Len(); n > 50 {
					t.Errorf("Len = %d, want <= 50", n)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkFetchHit(b *testing.B) {
	c := New(Options{DefaultTTL: time.Hour})
	defer c.Close()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("+52155%08d", i)
		c.Set(KindPhone, keys[i], []string{"customer"})
	}
	load := func(context.Context) ([]string, error) { return nil, errors.New("unexpected load") }
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_, res, err := Fetch(ctx, c, KindPhone, keys[i&1023], load)
			if err != nil || res != ResultHit {
				b.Errorf("Fetch = %q, %v; want hit", res, err)
				return
			}
			i++
		}
	})
}

// untilCanceled is a load that runs until its context ends, and says when
// it started and when it returned.
func untilCanceled() (load func(context.Context) (string, error), started <-chan context.Context, returned *atomic.Bool) {
	ch := make(chan context.Context, 1)
	returned = &atomic.Bool{}
	load = func(ctx context.Context) (string, error) {
		defer returned.Store(true)
		ch <- ctx
		<-ctx.Done()
		return "", ctx.Err()
	}
	return load, ch, returned
}

func TestCacheCloseEndsRefreshes(t *testing.T) {
	c, clock, obs := newTestCache(t, Options{DefaultTTL: time.Minute, RefreshTimeout: time.Hour})
	c.Set(KindOrders, "1", "old")
	clock.Advance(2 * time.Minute)
	load, started, returned := untilCanceled()
	if _, res := fetchString(t, c, KindOrders, "1", load); res != ResultStale {
		t.Fatalf("result %q, want stale", res)
	}
	lctx := <-started

	c.Close()
	if !returned.Load() {
		t.Error("Close returned before the refresh it started")
	}
	if !errors.Is(lctx.Err(), context.Canceled) {
		t.Errorf("refresh context after Close: %v, want canceled", lctx.Err())
	}
	if got := obs.count("orders/refresh_error"); got != 0 {
		t.Errorf("a refresh ended by Close was observed as %d refresh errors", got)
	}
}

func TestCacheCloseEndsLoadsTheirCallersLeft(t *testing.T) {
	c, _, _ := newTestCache(t, Options{RefreshTimeout: time.Hour})
	load, started, returned := untilCanceled()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := Fetch(ctx, c, KindOrder, "1", load)
		done <- err
	}()
	lctx := <-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("caller: %v, want canceled", err)
	}
	if lctx.Err() != nil {
		t.Fatalf("the load ended with its caller: %v", lctx.Err())
	}

	c.Close()
	if !returned.Load() {
		t.Error("Close returned before the load its caller left")
	}
	if !errors.Is(lctx.Err(), context.Canceled) {
		t.Errorf("load context after Close: %v, want canceled", lctx.Err())
	}
}

// After Close nothing runs in the background, yet Fetch still answers: a
// miss loads on the caller's goroutine, a stale value is served unrefreshed.
func TestCacheFetchAfterClose(t *testing.T) {
	c, clock, _ := newTestCache(t, Options{DefaultTTL: time.Minute})
	c.Set(KindOrders, "stale", "old")
	clock.Advance(2 * time.Minute)
	c.Close()

	type ctxKey struct{}
	ctx := context.WithValue(context.Background(), ctxKey{}, "caller")
	var loadCtx context.Context
	v, res, err := Fetch(ctx, c, KindOrder, "1", func(ctx context.Context) (string, error) {
		loadCtx = ctx
		return "loaded", nil
	})
	if err != nil || v != "loaded" || res != ResultMiss {
		t.Fatalf("miss after Close = %q, %q, %v; want loaded, miss", v, res, err)
	}
	if loadCtx != ctx {
		t.Error("a miss after Close did not load under the caller's context")
	}
	if v, ok := c.Get(KindOrder, "1"); !ok || v != "loaded" {
		t.Errorf("cached %v, %v; want loaded", v, ok)
	}

	load, calls := counter("new")
	if v, res := fetchString(t, c, KindOrders, "stale", load); v != "old" || res != ResultStale {
		t.Errorf("stale after Close = %q, %q; want old, stale", v, res)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("a refresh started after Close (%d loads)", n)
	}
}
