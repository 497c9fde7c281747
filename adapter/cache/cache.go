package cache

import (
	"context"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/sync/singleflight"
)

// Defaults applied by New to zero fields of Options.
const (
	DefaultTTL            = 60 * time.Second
	DefaultNegativeTTL    = 30 * time.Second
	DefaultMaxStale       = 24 * time.Hour
	DefaultMaxEntries     = 50_000
	DefaultRefreshTimeout = 10 * time.Second
	DefaultCleanup        = time.Minute
)

// Options configures a Cache. Zero fields take the defaults above.
type Options struct {
	// Disabled turns the cache into a pass-through: every Fetch calls its
	// load and nothing is stored. It exists for the naive benchmark mode.
	Disabled bool
	// TTL is how long a value stays fresh, per kind. Kinds not listed use
	// their own default (DefaultWatchedOrdersTTL, DefaultOrderVersionTTL)
	// or else DefaultTTL.
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
	Shared Shared
}

func (o Options) withDefaults() Options {
	if o.DefaultTTL <= 0 {
		o.DefaultTTL = DefaultTTL
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = DefaultNegativeTTL
	}
	switch {
	case o.MaxStale == 0:
		o.MaxStale = DefaultMaxStale
	case o.MaxStale < 0:
		o.MaxStale = 0
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.RefreshTimeout <= 0 {
		o.RefreshTimeout = DefaultRefreshTimeout
	}
	if o.CleanupInterval <= 0 {
		o.CleanupInterval = DefaultCleanup
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.TTL = kindTTLs(o.TTL)
	return o
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
	opts  Options
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

	shared *sharedWriter // nil without Options.Shared
	// sweeper runs sweep every CleanupInterval; nil when disabled. A timer
	// rather than a goroutine of its own: a process of a thousand stores
	// would otherwise keep a thousand goroutines (and their stacks) asleep.
	sweeper *time.Timer

	// The Cache owns its goroutines: ctx ends the loads and refreshes
	// running in the background, and work counts every goroutine that
	// Close waits for. Once closed is set, nothing new starts.
	ctx       context.Context
	cancel    context.CancelFunc
	lifeMu    sync.Mutex
	closed    bool
	work      sync.WaitGroup
	closeOnce sync.Once

	// afterJoin, if set by tests, runs once a missing caller has joined the
	// shared load.
	afterJoin func()
}

// New returns a cache configured by opts. Close it to end its background
// work.
func New(opts Options) *Cache {
	opts = opts.withDefaults()
	c := &Cache{
		opts: opts,
		// go-cache's own janitor cannot be stopped except by a finalizer,
		// so the sweep is ours and Close ends it.
		items:      gocache.New(gocache.NoExpiration, 0),
		refreshing: make(map[string]struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if !opts.Disabled {
		c.sweeper = time.AfterFunc(opts.CleanupInterval, c.sweep)
		if opts.Shared != nil {
			c.shared = newSharedWriter(opts.Shared, c.lifetimes, opts.Now)
		}
	}
	return c
}

// begin counts one goroutine about to start, for Close to wait for. It
// reports false once Close has begun: then the goroutine must not start.
// The count and the check share lifeMu, so no Add can follow Close's Wait.
func (c *Cache) begin() bool {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	if c.closed {
		return false
	}
	c.work.Add(1)
	return true
}

// isClosed reports whether Close has begun.
func (c *Cache) isClosed() bool {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	return c.closed
}

// Close ends the cache's background work and waits for it: it cancels the
// refreshes and the loads of misses still running (callers waiting on one
// get its error, or a stale value), stops the sweep and the shared writer.
// Entries stay readable and Fetch still loads, on the caller's goroutine.
// It is safe to call more than once.
func (c *Cache) Close() {
	c.closeOnce.Do(func() {
		c.lifeMu.Lock()
		c.closed = true
		c.lifeMu.Unlock()
		if c.sweeper != nil {
			c.sweeper.Stop() // a sweep already running is waited for below
		}
		c.cancel()
		c.work.Wait()
		// After the loads, which may still have queued writes.
		if c.shared != nil {
			c.shared.close()
		}
	})
}

// cacheKey is the go-cache key of (kind, key).
func cacheKey(kind, key string) string { return kind + "\x00" + key }

// Get returns the value of (kind, key), fresh or stale, without loading.
func (c *Cache) Get(kind, key string) (any, bool) {
	if c.opts.Disabled {
		return nil, false
	}
	e, ok := c.lookup(cacheKey(kind, key), c.opts.Now())
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
	k := cacheKey(kind, key)
	at := c.opts.Now()
	v, _ = c.storeAt(kind, k, v, noSince, at)
	if c.shared != nil {
		c.shared.set(kind, k, v, at)
	}
}

// SetLocal is Set without the shared level, for changes every replica
// makes on its own (an index sync's).
func (c *Cache) SetLocal(kind, key string, v any) {
	if c.opts.Disabled {
		return
	}
	c.store(kind, cacheKey(kind, key), v, noSince)
}

// Delete drops (kind, key), here and from the shared level. A load already
// running for the key does not keep what it fetched; its callers still get
// it.
func (c *Cache) Delete(kind, key string) {
	k := cacheKey(kind, key)
	c.drop(k)
	if c.shared != nil {
		c.shared.del(k)
	}
}

// DeleteLocal is Delete without the shared level.
func (c *Cache) DeleteLocal(kind, key string) {
	c.drop(cacheKey(kind, key))
}

// Len returns the number of entries held, including expired ones not yet
// swept. It never exceeds MaxEntries.
func (c *Cache) Len() int {
	return c.items.ItemCount()
}

// Observe reports an access of kind with result to Options.Observer, for
// lookups answered without Fetch (from an index kept beside the cache) that
// should count as the cache's.
func (c *Cache) Observe(kind, result string) {
	if c.opts.Observer != nil {
		c.opts.Observer(kind, result)
	}
}
