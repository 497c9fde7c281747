package cache

import (
	"context"
	"errors"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// Concurrent misses of one key make one load (golang.org/x/sync/singleflight).
// Each caller still returns ctx.Err() when its own ctx ends first, while the
// load goes on for the others, detached from the first caller's
// cancellation but under its deadline (or RefreshTimeout if it had none),
// until Close. A load refused for its first caller alone (callerOnly) is
// not shared: each other caller loads under its own context.

// errClosed ends a shared load that would have started after Close; its
// callers load on their own goroutine instead.
var errClosed = errors.New("cache closed")

// fetchMiss is apart from Fetch so that the key built for a hit does not
// escape to the heap.
func fetchMiss[T any](ctx context.Context, c *Cache, kind, key string, load func(ctx context.Context) (T, error)) (T, string, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		c.Observe(kind, ResultError)
		return zero, ResultError, err
	}
	k := cacheKey(kind, key) // a new string: safe to keep
	ownKind := strings.Clone(kind)
	loadAny, decode := anyLoad(load), sharedDecoder[T](c)
	var r singleflight.Result
	if c.isClosed() {
		r = c.loadHere(ctx, ownKind, k, loadAny, decode)
	} else {
		// Set by the load when it is this caller's; read after the result
		// arrives, which singleflight sends once the load has returned.
		own := false
		ch := c.group.DoChan(k, func() (any, error) {
			own = true
			return c.loadDetached(ctx, ownKind, k, loadAny, decode)
		})
		if c.afterJoin != nil {
			c.afterJoin()
		}
		select {
		case r = <-ch:
		case <-ctx.Done():
			c.Observe(kind, ResultError)
			return zero, ResultError, ctx.Err()
		}
		if errors.Is(r.Err, errClosed) || !own && callerOnly(r.Err) {
			r = c.loadHere(ctx, ownKind, k, loadAny, decode)
		}
	}
	if r.Err != nil {
		if v, ok := staleIfError[T](c, k); ok {
			c.Observe(kind, ResultStaleError)
			return v, ResultStaleError, nil
		}
		c.Observe(kind, ResultError)
		return zero, ResultError, r.Err
	}
	f := r.Val.(fetched)
	v, ok := f.val.(T)
	if !ok && f.val != nil {
		c.Observe(kind, ResultError)
		return zero, ResultError, typeError[T](kind, key, f.val)
	}
	result := ResultMiss
	if f.shared {
		result = ResultSharedHit
	}
	c.Observe(kind, result)
	return v, result, nil
}

// callerOnly reports an error that refused the load for the caller that
// started it alone, such as its own share of the upstream budget being
// spent: it says nothing of the others who joined, who load for themselves.
// Such an error has a CallerOnly method that reports true.
func callerOnly(err error) bool {
	var co interface{ CallerOnly() bool }
	return errors.As(err, &co) && co.CallerOnly()
}

// loadDetached is the shared load of a miss, run by singleflight on a
// goroutine of its own that Close waits for.
func (c *Cache) loadDetached(ctx context.Context, kind, k string, load loader, decode decoder) (any, error) {
	if !c.begin() {
		return nil, errClosed
	}
	defer c.work.Done()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(c.opts.RefreshTimeout)
	}
	lctx, cancel := c.detach(ctx, deadline)
	defer cancel()
	return c.loadAndStore(lctx, kind, k, load, decode)
}

// loadHere loads on the caller's goroutine, under the caller's ctx: once
// the cache is closed, nothing may outlive the caller.
func (c *Cache) loadHere(ctx context.Context, kind, k string, load loader, decode decoder) singleflight.Result {
	v, err := c.loadAndStore(ctx, kind, k, load, decode)
	return singleflight.Result{Val: v, Err: err}
}

// fetched is what loadAndStore hands to the callers of a key.
type fetched struct {
	val    any
	shared bool // read from the shared second level, not loaded
}

// loadAndStore runs inside singleflight: one call per key at a time. With a
// shared second level, a fresh value there (left by another replica) is
// taken before spending upstream budget; decode reads it as the kind's type.
func (c *Cache) loadAndStore(ctx context.Context, kind, k string, load loader, decode decoder) (any, error) {
	since := c.generation()
	// A caller that saw the key missing or stale may arrive just after a
	// load finished; the fresh value it left is good enough.
	now := c.opts.Now()
	if e, ok := c.lookup(k, now); ok && e.fresh(now) {
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
