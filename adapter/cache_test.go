package adapter

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

// fakeClock is a settable clock for CacheOptions.Now.
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

func newTestCache(t *testing.T, opts CacheOptions) (*Cache, *fakeClock, *observed) {
	t.Helper()
	clock := newFakeClock()
	obs := &observed{}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	opts.Observer = obs.observe
	c := NewCache(opts)
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
	c, clock, obs := newTestCache(t, CacheOptions{DefaultTTL: time.Minute})
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

func TestCacheTTLPerKind(t *testing.T) {
	c, clock, _ := newTestCache(t, CacheOptions{
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

func TestCacheStaleWhileRevalidate(t *testing.T) {
	c, clock, obs := newTestCache(t, CacheOptions{DefaultTTL: time.Minute, MaxStale: time.Hour, RefreshTimeout: 7 * time.Second})
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
	c, clock, obs := newTestCache(t, CacheOptions{DefaultTTL: time.Minute, MaxStale: time.Hour})
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
	c, clock, _ := newTestCache(t, CacheOptions{DefaultTTL: time.Minute, MaxStale: 10 * time.Minute})
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

func TestCacheMissSingleflight(t *testing.T) {
	const callers = 100
	c, _, obs := newTestCache(t, CacheOptions{})
	var joined atomic.Int32
	allJoined := make(chan struct{})
	c.afterJoin = func() {
		if joined.Add(1) == callers {
			close(allJoined)
		}
	}
	var calls atomic.Int32
	load := func(context.Context) ([]string, error) {
		calls.Add(1)
		<-allJoined
		return []string{"Ana", "Beto"}, nil
	}

	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			v, res, err := Fetch(context.Background(), c, KindPhone, "+5215512345678", load)
			if err != nil || len(v) != 2 || v[0] != "Ana" || res != ResultMiss {
				t.Errorf("Fetch = %v, %q, %v; want [Ana Beto], miss, nil", v, res, err)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("load calls = %d for %d concurrent callers, want 1", n, callers)
	}
	if got := obs.count("phone/miss"); got != callers {
		t.Errorf("observed misses = %d, want %d", got, callers)
	}
}

func TestCacheWaiterHonoursOwnContext(t *testing.T) {
	c, _, _ := newTestCache(t, CacheOptions{})
	started := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	load := func(ctx context.Context) (string, error) {
		calls.Add(1)
		close(started)
		<-release
		return "value", ctx.Err()
	}

	first := make(chan error, 1)
	go func() {
		v, res, err := Fetch(context.Background(), c, KindEmail, "a@b.co", load)
		if err == nil && (v != "value" || res != ResultMiss) {
			err = fmt.Errorf("got %q, %q; want value, miss", v, res)
		}
		first <- err
	}()
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, res, err := Fetch(ctx, c, KindEmail, "a@b.co", load)
	if !errors.Is(err, context.DeadlineExceeded) || res != ResultError {
		t.Errorf("impatient waiter: %q, %v; want error, deadline exceeded", res, err)
	}
	select {
	case err := <-first:
		t.Fatalf("first caller returned before the load ended: %v", err)
	default:
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first caller: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("load calls = %d, want 1", n)
	}
}

func TestCacheLoadOutlivesFirstCaller(t *testing.T) {
	c, _, _ := newTestCache(t, CacheOptions{})
	loadCtx := make(chan context.Context, 1)
	release := make(chan struct{})
	load := func(ctx context.Context) (string, error) {
		loadCtx <- ctx
		<-release
		return "value", ctx.Err()
	}

	var joined atomic.Int32
	c.afterJoin = func() { joined.Add(1) }
	deadline := time.Now().Add(time.Hour)
	firstCtx, cancelFirst := context.WithDeadline(context.Background(), deadline)
	firstDone := make(chan error, 1)
	go func() {
		_, _, err := Fetch(firstCtx, c, KindOrder, "5", load)
		firstDone <- err
	}()
	lctx := <-loadCtx
	if got, ok := lctx.Deadline(); !ok || !got.Equal(deadline) {
		t.Errorf("load deadline = %v (%v), want the first caller's %v", got, ok, deadline)
	}

	second := make(chan string, 1)
	go func() {
		v, _, err := Fetch(context.Background(), c, KindOrder, "5", load)
		if err != nil {
			v = "error: " + err.Error()
		}
		second <- v
	}()
	waitFor(t, "second caller to join", func() bool { return joined.Load() == 2 })

	cancelFirst()
	if err := <-firstDone; !errors.Is(err, context.Canceled) {
		t.Errorf("first caller after cancel: %v, want context.Canceled", err)
	}
	if err := lctx.Err(); err != nil {
		t.Errorf("load context ended with the first caller: %v", err)
	}
	close(release)
	if v := <-second; v != "value" {
		t.Errorf("second caller got %q, want value", v)
	}
	if v, ok := c.Get(KindOrder, "5"); !ok || v != "value" {
		t.Errorf("cached %v, %v; want value", v, ok)
	}
}

func TestCacheLoadWithoutDeadlineGetsRefreshTimeout(t *testing.T) {
	c, _, _ := newTestCache(t, CacheOptions{RefreshTimeout: 3 * time.Second})
	var deadline time.Time
	var ok bool
	fetchString(t, c, KindOrder, "1", func(ctx context.Context) (string, error) {
		deadline, ok = ctx.Deadline()
		return "x", nil
	})
	if left := time.Until(deadline); !ok || left > 3*time.Second || left < time.Second {
		t.Errorf("load deadline in %v (%v), want about 3s", left, ok)
	}
}

func TestCacheCanceledCallerStartsNoLoad(t *testing.T) {
	c, _, _ := newTestCache(t, CacheOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	load, calls := counter("x")
	if _, _, err := Fetch(ctx, c, KindOrder, "1", load); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("load calls = %d, want 0", n)
	}
}

func TestCacheErrorsNotCached(t *testing.T) {
	c, _, obs := newTestCache(t, CacheOptions{})
	errDown := errors.New("whatalo 500")
	var calls atomic.Int32
	load := func(context.Context) (string, error) {
		if calls.Add(1) == 1 {
			return "", errDown
		}
		return "back", nil
	}
	_, res, err := Fetch(context.Background(), c, KindProducts, "shoes", load)
	if !errors.Is(err, errDown) || res != ResultError {
		t.Fatalf("failed load: %q, %v; want error, %v", res, err, errDown)
	}
	if c.Len() != 0 {
		t.Errorf("Len after failed load = %d, want 0", c.Len())
	}
	if v, res := fetchString(t, c, KindProducts, "shoes", load); v != "back" || res != ResultMiss {
		t.Errorf("retry = %q, %q; want back, miss", v, res)
	}
	if got := obs.count("products/error"); got != 1 {
		t.Errorf("observed errors = %d, want 1", got)
	}
}

func TestCacheStaleIfError(t *testing.T) {
	// A value that arrives while a load fails (a webhook) is served instead
	// of the error.
	c, _, obs := newTestCache(t, CacheOptions{})
	v, res, err := Fetch(context.Background(), c, KindCustomer, "3", func(context.Context) (string, error) {
		c.Set(KindCustomer, "3", "from webhook")
		return "", errors.New("whatalo timeout")
	})
	if err != nil || v != "from webhook" || res != ResultStaleError {
		t.Errorf("Fetch = %q, %q, %v; want from webhook, stale_error, nil", v, res, err)
	}
	if got := obs.count("customer/stale_error"); got != 1 {
		t.Errorf("observed stale_error = %d, want 1", got)
	}
}

func TestCacheLoadDoesNotOverwriteNewerSet(t *testing.T) {
	c, _, _ := newTestCache(t, CacheOptions{})
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
	c, _, _ := newTestCache(t, CacheOptions{})
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

func TestCacheNegativeResults(t *testing.T) {
	type customer struct{ Name string }
	c, clock, _ := newTestCache(t, CacheOptions{DefaultTTL: time.Minute, NegativeTTL: 5 * time.Second, MaxStale: time.Hour})

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

func TestCacheBoundedEntries(t *testing.T) {
	const max = 100
	c, _, _ := newTestCache(t, CacheOptions{MaxEntries: max})
	load := func(context.Context) (string, error) { return "c", nil }
	for i := range 10 * max {
		fetchString(t, c, KindPhone, strconv.Itoa(i), load)
		if c.Len() > max {
			t.Fatalf("Len = %d after %d keys, want <= %d", c.Len(), i+1, max)
		}
	}
	if c.Len() != max {
		t.Errorf("Len = %d, want %d", c.Len(), max)
	}
	for i := 9 * max; i < 10*max; i++ {
		if _, ok := c.Get(KindPhone, strconv.Itoa(i)); !ok {
			t.Errorf("recent key %d evicted", i)
		}
	}
	if _, ok := c.Get(KindPhone, "0"); ok {
		t.Error("oldest key still present")
	}
	if len(c.ring) != max {
		t.Errorf("ring holds %d slots, want %d", len(c.ring), max)
	}
}

func TestCacheRewrittenKeySurvivesEviction(t *testing.T) {
	const max = 10
	c, _, _ := newTestCache(t, CacheOptions{MaxEntries: max})
	for i := range 5 * max {
		c.Set(KindStore, "hot", i)
		c.Set(KindPhone, strconv.Itoa(i), i)
		if c.Len() > max {
			t.Fatalf("Len = %d, want <= %d", c.Len(), max)
		}
	}
	if v, ok := c.Get(KindStore, "hot"); !ok || v != 5*max-1 {
		t.Errorf("hot key = %v, %v; want %d", v, ok, 5*max-1)
	}
	c.Delete(KindPhone, strconv.Itoa(5*max-1))
	for i := range max {
		c.Set(KindOrder, strconv.Itoa(i), i)
		if c.Len() > max {
			t.Fatalf("after Delete: Len = %d, want <= %d", c.Len(), max)
		}
	}
}

func TestCacheKeysCopied(t *testing.T) {
	// Fiber reuses the memory behind request strings once the handler
	// returns; the cache must not keep pointing into it.
	c, clock, _ := newTestCache(t, CacheOptions{DefaultTTL: time.Minute})
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
	c, _, obs := newTestCache(t, CacheOptions{Disabled: true})
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

func TestCacheSetGetDelete(t *testing.T) {
	c, clock, _ := newTestCache(t, CacheOptions{DefaultTTL: time.Minute})
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

func TestCacheTypeMismatch(t *testing.T) {
	c, _, _ := newTestCache(t, CacheOptions{})
	c.Set(KindOrder, "1", "a string")
	_, res, err := Fetch(context.Background(), c, KindOrder, "1", func(context.Context) (int, error) { return 1, nil })
	if err == nil || res != ResultError {
		t.Errorf("Fetch[int] of a string entry: %q, %v; want an error", res, err)
	}
}

func TestCacheSweepAndClose(t *testing.T) {
	// go-cache expiry follows the wall clock, so this test uses real,
	// tiny durations.
	c := NewCache(CacheOptions{DefaultTTL: 50 * time.Millisecond, MaxStale: -1, CleanupInterval: 5 * time.Millisecond})
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
	c, clock, _ := newTestCache(t, CacheOptions{DefaultTTL: time.Second, MaxEntries: 50, MaxStale: time.Minute})
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
	c := NewCache(CacheOptions{DefaultTTL: time.Hour})
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

// The access log shows the worst cache result of a request's lookups, and
// a value read from the shared level is better than a miss.
func TestCacheTraceKeepsTheWorstResult(t *testing.T) {
	for _, tt := range []struct {
		results []string
		want    string
	}{
		{[]string{ResultHit, ResultHit}, ResultHit},
		{[]string{ResultHit, ResultSharedHit, ResultHit}, ResultSharedHit},
		{[]string{ResultSharedHit, ResultMiss}, ResultMiss},
		{[]string{ResultStale, ResultSharedHit}, ResultStale},
		{[]string{ResultMiss, ResultError, ResultHit}, ResultError},
	} {
		ctx := withTrace(context.Background())
		for _, r := range tt.results {
			annotateCache(ctx, r)
		}
		if got := ctx.Value(traceKey{}).(*cacheTrace).worst; got != tt.want {
			t.Errorf("results %v: access log says %q, want %q", tt.results, got, tt.want)
		}
	}
}
