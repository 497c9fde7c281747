package adapter

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/sync/singleflight"
)

// Kinds of cached data. They are also metric label values, so the set stays
// small and fixed.
const (
	KindStore          = "store"
	KindCustomer       = "customer"
	KindPhone          = "phone"
	KindEmail          = "email"
	KindOrders         = "orders"
	KindOrdersWatched  = "orders_watched" // order lists while the order feed is live
	KindOrder          = "order"
	KindOrderVersion   = "order_version" // order details by id and updated_at
	KindProducts       = "products"
	KindCustomerSearch = "customer_search"
	KindOrderSearch    = "order_search"
)

// Results of a cache access, as returned by Fetch and passed to
// CacheOptions.Observer. They are metric label values.
const (
	// ResultHit: a fresh value was served without loading.
	ResultHit = "hit"
	// ResultMiss: nothing usable was cached; the value was loaded (possibly
	// by another caller of the same key).
	ResultMiss = "miss"
	// ResultStale: a value past its fresh TTL was served at once while one
	// background refresh replaces it.
	ResultStale = "stale"
	// ResultStaleError: the load failed and a cached value, still within
	// MaxStale, was served instead of the error.
	ResultStaleError = "stale_error"
	// ResultError: the load failed (or the caller's context ended) and there
	// was nothing to serve.
	ResultError = "error"
	// ResultBypass: the cache is disabled and the value was loaded directly.
	ResultBypass = "bypass"
	// ResultRefreshError: a background refresh failed; the stale value stays
	// in place. Only the Observer sees it, never a Fetch caller.
	ResultRefreshError = "refresh_error"
	// ResultSharedHit: nothing usable was held here, and a fresh value came
	// from the shared second level (CacheOptions.Shared) without loading.
	ResultSharedHit = "shared_hit"
)

// Defaults applied by NewCache to zero fields of CacheOptions.
const (
	DefaultCacheTTL            = 60 * time.Second
	DefaultCacheNegativeTTL    = 30 * time.Second
	DefaultCacheMaxStale       = 24 * time.Hour
	DefaultCacheMaxEntries     = 50_000
	DefaultCacheRefreshTimeout = 10 * time.Second
	DefaultCacheCleanup        = time.Minute
)

// CacheOptions configures a Cache. Zero fields take the defaults above.
type CacheOptions struct {
	// Disabled turns the cache into a pass-through: every Fetch calls its
	// load and nothing is stored. It exists for the naive benchmark mode.
	Disabled bool
	// TTL is how long a value stays fresh, per kind. Kinds not listed use
	// DefaultTTL.
	TTL map[string]time.Duration
	// DefaultTTL is the fresh TTL of kinds missing from TTL.
	DefaultTTL time.Duration
	// NegativeTTL is the fresh TTL of empty results (nil, nil pointer, empty
	// slice or map). It is short so that a flood of unknown phones does not
	// reach upstream, yet a customer who just signed up is found soon.
	// Empty results are never served stale: past NegativeTTL they are gone.
	NegativeTTL time.Duration
	// MaxStale is how long past its fresh TTL a value may still be served
	// (while refreshing, or when upstream fails). Negative means never.
	MaxStale time.Duration
	// MaxEntries caps the entries held, whatever the traffic: go-cache
	// itself has no size bound.
	MaxEntries int
	// RefreshTimeout bounds a background refresh, and a load whose first
	// caller had no deadline.
	RefreshTimeout time.Duration
	// CleanupInterval is how often entries past MaxStale are swept.
	CleanupInterval time.Duration
	// Now replaces time.Now in tests. Expiry by go-cache and the sweep still
	// follow the wall clock; Now decides fresh versus stale versus gone.
	Now func() time.Time
	// Observer, if set, is told the kind and result of every access (for
	// metrics). It runs on the caller's goroutine, or on the refresh
	// goroutine for ResultRefreshError, and must be fast.
	Observer func(kind, result string)
	// Shared, if set, is a second level shared with other replicas: a
	// miss or a stale value reads it before loading, and what is loaded,
	// Set or Deleted is written to it in the background. A hit here never
	// touches it.
	Shared SharedCache
}

// Cache holds one store's results from upstream. It is built on go-cache for
// expiry and singleflight so that concurrent misses of one key make one
// upstream call, and adds what those lack: stale-while-revalidate,
// stale-if-error, short-lived empty results and a hard bound on entries.
//
// Cached values are shared by every caller that receives them: callers must
// treat them as immutable (copy before modifying a slice, map or struct behind
// a pointer).
type Cache struct {
	opts  CacheOptions
	items *gocache.Cache
	group singleflight.Group

	// mu serialises every write to items together with the eviction ring,
	// so that the ring always holds the generation of every stored entry.
	mu   sync.Mutex
	ring []ringSlot // FIFO of writes; len <= MaxEntries
	next int        // oldest slot once the ring is full
	gen  uint64     // generation of the latest write or delete
	// tombs holds the generation at which each recently deleted key was
	// deleted, so that a load that began before the Delete does not store
	// what it fetched (the Delete says it is out of date). Two sets,
	// rotated by the sweep, keep a tomb at least one CleanupInterval,
	// longer than any load (RefreshTimeout).
	tombs, oldTombs map[string]uint64

	refreshMu  sync.Mutex
	refreshing map[string]struct{} // keys with a background refresh running

	shared *sharedWriter // nil without CacheOptions.Shared

	stop      chan struct{}
	closeOnce sync.Once

	// afterJoin, if set by tests, runs once a missing caller has joined the
	// shared load.
	afterJoin func()
}

// entry is what go-cache holds for a key.
type entry struct {
	val        any
	freshUntil time.Time
	staleUntil time.Time
	gen        uint64
}

// ringSlot records one write. A slot whose generation no longer matches the
// entry's is left over from an older write of a rewritten key and evicts
// nothing.
type ringSlot struct {
	key string
	gen uint64
}

// NewCache returns a cache configured by opts. Close it to stop its sweeper.
func NewCache(opts CacheOptions) *Cache {
	if opts.DefaultTTL <= 0 {
		opts.DefaultTTL = DefaultCacheTTL
	}
	if opts.NegativeTTL <= 0 {
		opts.NegativeTTL = DefaultCacheNegativeTTL
	}
	switch {
	case opts.MaxStale == 0:
		opts.MaxStale = DefaultCacheMaxStale
	case opts.MaxStale < 0:
		opts.MaxStale = 0
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultCacheMaxEntries
	}
	if opts.RefreshTimeout <= 0 {
		opts.RefreshTimeout = DefaultCacheRefreshTimeout
	}
	if opts.CleanupInterval <= 0 {
		opts.CleanupInterval = DefaultCacheCleanup
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ttl := make(map[string]time.Duration, len(opts.TTL))
	for k, d := range opts.TTL {
		if d > 0 {
			ttl[k] = d
		}
	}
	opts.TTL = ttl

	c := &Cache{
		opts: opts,
		// go-cache's own janitor cannot be stopped except by a finalizer,
		// so the sweep is ours and Close ends it.
		items:      gocache.New(gocache.NoExpiration, 0),
		refreshing: make(map[string]struct{}),
		stop:       make(chan struct{}),
	}
	if !opts.Disabled {
		go c.sweep(opts.CleanupInterval)
		if opts.Shared != nil {
			c.shared = newSharedWriter(opts.Shared, c.ttl, opts.NegativeTTL)
		}
	}
	return c
}

func (c *Cache) sweep(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.items.DeleteExpired()
			c.mu.Lock()
			c.oldTombs, c.tombs = c.tombs, nil
			c.mu.Unlock()
		case <-c.stop:
			return
		}
	}
}

// Close stops the background sweep. Entries stay readable; it is safe to
// call more than once.
func (c *Cache) Close() {
	c.closeOnce.Do(func() {
		close(c.stop)
		if c.shared != nil {
			c.shared.close()
		}
	})
}

// Fetch returns the cached value of (kind, key), or loads it.
//
//   - fresh: the value, ResultHit, no load.
//   - past fresh but within MaxStale: the stale value at once, ResultStale,
//     and one background refresh for the key, detached from ctx's
//     cancellation and bounded by RefreshTimeout.
//   - missing: one load shared by all concurrent callers of the key. Each
//     caller still returns ctx.Err() when its own ctx ends first, while the
//     load goes on for the others under the first caller's deadline (or
//     RefreshTimeout if it had none).
//   - load failed: a value within MaxStale if one appeared meanwhile
//     (ResultStaleError, nil error), otherwise the load's error, unwrapped.
//     Errors are never cached.
//
// Fetch copies kind and key before keeping them, so they may point into
// memory that is reused after the request (Fiber's). load, however, may run
// after Fetch has returned, so it must not capture such memory, and ctx must
// be a real context (Fiber's UserContext), not the fasthttp request. A kind
// has one value type: a value of another type is reported as an error.
func Fetch[T any](ctx context.Context, c *Cache, kind, key string, load func(ctx context.Context) (T, error)) (T, string, error) {
	if c.opts.Disabled {
		v, err := load(ctx)
		c.observe(kind, ResultBypass)
		return v, ResultBypass, err
	}
	now := c.opts.Now()
	if e, ok := c.lookup(kind+"\x00"+key, now); ok {
		v, ok := e.val.(T)
		if !ok {
			var zero T
			c.observe(kind, ResultError)
			return zero, ResultError, typeError[T](kind, key, e.val)
		}
		if now.Before(e.freshUntil) {
			c.observe(kind, ResultHit)
			return v, ResultHit, nil
		}
		c.refresh(ctx, kind, key, func(ctx context.Context) (any, error) { return load(ctx) }, sharedDecoder[T](c))
		c.observe(kind, ResultStale)
		return v, ResultStale, nil
	}
	return fetchMiss(ctx, c, kind, key, load)
}

// fetchMiss is apart from Fetch so that the key built for a hit does not
// escape to the heap.
func fetchMiss[T any](ctx context.Context, c *Cache, kind, key string, load func(ctx context.Context) (T, error)) (T, string, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		c.observe(kind, ResultError)
		return zero, ResultError, err
	}
	k := kind + "\x00" + key // a new string: safe to keep
	ownKind := strings.Clone(kind)
	ch := c.group.DoChan(k, func() (any, error) {
		lctx, cancel := detach(ctx, c.opts.RefreshTimeout)
		defer cancel()
		return c.loadAndStore(lctx, ownKind, k, func(ctx context.Context) (any, error) { return load(ctx) }, sharedDecoder[T](c))
	})
	if c.afterJoin != nil {
		c.afterJoin()
	}
	select {
	case r := <-ch:
		if r.Err != nil {
			if e, ok := c.lookup(k, c.opts.Now()); ok {
				if v, ok := e.val.(T); ok {
					c.observe(kind, ResultStaleError)
					return v, ResultStaleError, nil
				}
			}
			c.observe(kind, ResultError)
			return zero, ResultError, r.Err
		}
		f := r.Val.(fetched)
		v, ok := f.val.(T)
		if !ok && f.val != nil {
			c.observe(kind, ResultError)
			return zero, ResultError, typeError[T](kind, key, f.val)
		}
		result := ResultMiss
		if f.shared {
			result = ResultSharedHit
		}
		c.observe(kind, result)
		return v, result, nil
	case <-ctx.Done():
		c.observe(kind, ResultError)
		return zero, ResultError, ctx.Err()
	}
}

// detach keeps ctx's values and deadline but not its cancellation, so that a
// load shared with other callers survives the first caller going away.
func detach(ctx context.Context, fallback time.Duration) (context.Context, context.CancelFunc) {
	d := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(d, deadline)
	}
	return context.WithTimeout(d, fallback)
}

func typeError[T any](kind, key string, got any) error {
	var want T
	return fmt.Errorf("read cache %s %q: holds %T, want %T", kind, key, got, want)
}

// refresh starts one background load of a stale key unless one is running.
func (c *Cache) refresh(ctx context.Context, kind, key string, load func(context.Context) (any, error), decode func([]byte) (any, error)) {
	k := kind + "\x00" + key
	c.refreshMu.Lock()
	if _, busy := c.refreshing[k]; busy {
		c.refreshMu.Unlock()
		return
	}
	c.refreshing[k] = struct{}{}
	c.refreshMu.Unlock()

	kind = strings.Clone(kind)
	detached := context.WithoutCancel(ctx)
	go func() {
		defer func() {
			c.refreshMu.Lock()
			delete(c.refreshing, k)
			c.refreshMu.Unlock()
		}()
		lctx, cancel := context.WithTimeout(detached, c.opts.RefreshTimeout)
		defer cancel()
		_, err, _ := c.group.Do(k, func() (any, error) { return c.loadAndStore(lctx, kind, k, load, decode) })
		if err != nil {
			c.observe(kind, ResultRefreshError)
		}
	}()
}

// fetched is what loadAndStore hands to the callers of a key.
type fetched struct {
	val    any
	shared bool // read from the shared second level, not loaded
}

// loadAndStore runs inside singleflight: one call per key at a time. With a
// shared second level, a fresh value there (left by another replica) is
// taken before spending upstream budget; decode reads it as the kind's type.
func (c *Cache) loadAndStore(ctx context.Context, kind, k string, load func(context.Context) (any, error), decode func([]byte) (any, error)) (any, error) {
	c.mu.Lock()
	since := c.gen
	c.mu.Unlock()
	// A caller that saw the key missing or stale may arrive just after a
	// load finished; the fresh value it left is good enough.
	now := c.opts.Now()
	if e, ok := c.lookup(k, now); ok && now.Before(e.freshUntil) {
		return fetched{val: e.val}, nil
	}
	if c.shared != nil && decode != nil {
		if v, at, ok := c.shared.read(ctx, kind, k, decode, now); ok {
			v, _ = c.storeAt(kind, k, v, since, at)
			return fetched{val: v, shared: true}, nil
		}
	}
	v, err := load(ctx)
	if err != nil {
		return nil, err
	}
	at := c.opts.Now()
	v, stored := c.storeAt(kind, k, v, since, at)
	if stored && c.shared != nil {
		c.shared.set(kind, k, v, at)
	}
	return fetched{val: v}, nil
}

// lookup returns the entry of k unless it is missing or past MaxStale.
func (c *Cache) lookup(k string, now time.Time) (*entry, bool) {
	x, ok := c.items.Get(k)
	if !ok {
		return nil, false
	}
	e := x.(*entry)
	if !now.Before(e.staleUntil) {
		return nil, false
	}
	return e, true
}

// store writes v under k, fresh from now, and returns the value held for k
// afterwards. Unless since is noSince, an entry written after generation since
// is kept instead: a value set by a webhook while a load was running is newer
// than what the load fetched.
func (c *Cache) store(kind, k string, v any, since uint64) any {
	v, _ = c.storeAt(kind, k, v, since, c.opts.Now())
	return v
}

// storeAt is store for a value fresh from at (a value read from the shared
// level was fetched before now), and also reports whether v was stored.
func (c *Cache) storeAt(kind, k string, v any, since uint64, at time.Time) (any, bool) {
	fresh, stale := c.ttl(kind), c.opts.MaxStale
	if isEmpty(v) {
		fresh, stale = c.opts.NegativeTTL, 0
	}
	keep := at.Add(fresh + stale).Sub(c.opts.Now())
	if keep <= 0 {
		return v, false
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if since != noSince {
		if x, ok := c.items.Get(k); ok && x.(*entry).gen > since {
			return x.(*entry).val, false
		}
		if max(c.tombs[k], c.oldTombs[k]) > since {
			return v, false
		}
	}
	c.gen++
	c.evictLocked(k, c.gen)
	c.items.Set(k, &entry{
		val:        v,
		freshUntil: at.Add(fresh),
		staleUntil: at.Add(fresh + stale),
		gen:        c.gen,
	}, keep)
	return v, true
}

// noSince makes store overwrite unconditionally.
const noSince = ^uint64(0)

// evictLocked records a write of k in the ring; once the ring is full, the
// oldest write's entry is dropped unless its key was written again since.
// Every stored entry has its generation in the ring, so the entries held
// never outnumber the ring's MaxEntries slots. O(1) per write.
func (c *Cache) evictLocked(k string, gen uint64) {
	if len(c.ring) < c.opts.MaxEntries {
		c.ring = append(c.ring, ringSlot{key: k, gen: gen})
		return
	}
	old := c.ring[c.next]
	// Not found means gone or expired but not yet swept: drop it either way.
	if x, ok := c.items.Get(old.key); !ok || x.(*entry).gen == old.gen {
		c.items.Delete(old.key)
	}
	c.ring[c.next] = ringSlot{key: k, gen: gen}
	c.next = (c.next + 1) % len(c.ring)
}

func (c *Cache) ttl(kind string) time.Duration {
	if d, ok := c.opts.TTL[kind]; ok {
		return d
	}
	return c.opts.DefaultTTL
}

// isEmpty reports results that are cached only briefly.
func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Func, reflect.Chan:
		return rv.IsNil()
	case reflect.Slice, reflect.Map:
		return rv.Len() == 0
	}
	return false
}

func (c *Cache) observe(kind, result string) {
	if c.opts.Observer != nil {
		c.opts.Observer(kind, result)
	}
}

// Get returns the value of (kind, key), fresh or stale, without loading.
func (c *Cache) Get(kind, key string) (any, bool) {
	if c.opts.Disabled {
		return nil, false
	}
	e, ok := c.lookup(kind+"\x00"+key, c.opts.Now())
	if !ok {
		return nil, false
	}
	return e.val, true
}

// Set stores v as fresh from now, as when a webhook brings a newer value. A
// load already running for the key will not overwrite it. The shared level,
// if any, gets v too.
func (c *Cache) Set(kind, key string, v any) {
	if c.opts.Disabled {
		return
	}
	k := kind + "\x00" + key
	at := c.opts.Now()
	v, _ = c.storeAt(kind, k, v, noSince, at)
	if c.shared != nil {
		c.shared.set(kind, k, v, at)
	}
}

// setLocal is Set without the shared level, for changes every replica
// makes on its own (an index sync's).
func (c *Cache) setLocal(kind, key string, v any) {
	if c.opts.Disabled {
		return
	}
	c.store(kind, kind+"\x00"+key, v, noSince)
}

// Delete drops (kind, key), here and from the shared level. A load already
// running for the key still stores its result when it ends.
func (c *Cache) Delete(kind, key string) {
	k := kind + "\x00" + key
	c.drop(k)
	if c.shared != nil {
		c.shared.del(k)
	}
}

// deleteLocal is Delete without the shared level.
func (c *Cache) deleteLocal(kind, key string) {
	c.drop(kind + "\x00" + key)
}

// maxTombs bounds each set of tombs; past it the set starts over, which at
// worst lets a load running across a Delete store its value.
const maxTombs = 50_000

// drop deletes k and leaves a tomb for the loads running for it.
func (c *Cache) drop(k string) {
	c.mu.Lock()
	c.gen++
	if c.tombs == nil || len(c.tombs) >= maxTombs {
		c.tombs = make(map[string]uint64)
	}
	c.tombs[k] = c.gen
	c.mu.Unlock()
	c.items.Delete(k)
}

// Len returns the number of entries held, including expired ones not yet
// swept. It never exceeds MaxEntries.
func (c *Cache) Len() int {
	return c.items.ItemCount()
}
