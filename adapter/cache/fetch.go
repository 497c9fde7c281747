package cache

import (
	"context"
	"fmt"
)

// Results of a cache access, as returned by Fetch and passed to
// Options.Observer. They are metric label values.
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
	// from the shared second level (Options.Shared) without loading.
	ResultSharedHit = "shared_hit"
)

// Fetch returns the cached value of (kind, key), or loads it.
//
//   - fresh: the value, ResultHit, no load.
//   - past fresh but within MaxStale: the stale value at once, ResultStale,
//     and one background refresh for the key (revalidate.go).
//   - missing: one load shared by all concurrent callers of the key
//     (singleflight.go).
//   - load failed: a value within MaxStale if one appeared meanwhile
//     (stale_if_error.go), otherwise the load's error, unwrapped. Errors
//     are never cached.
//
// Fetch copies kind and key before keeping them, so they may point into
// memory that is reused after the request (Fiber's). load, however, may run
// after Fetch has returned, so it must not capture such memory, and ctx must
// be a real context (Fiber's UserContext), not the fasthttp request. A kind
// has one value type: a value of another type is reported as an error.
func Fetch[T any](ctx context.Context, c *Cache, kind, key string, load func(ctx context.Context) (T, error)) (T, string, error) {
	if c.opts.Disabled {
		v, err := load(ctx)
		c.Observe(kind, ResultBypass)
		return v, ResultBypass, err
	}
	now := c.opts.Now()
	if e, ok := c.lookup(cacheKey(kind, key), now); ok {
		v, ok := e.val.(T)
		if !ok {
			var zero T
			c.Observe(kind, ResultError)
			return zero, ResultError, typeError[T](kind, key, e.val)
		}
		if e.fresh(now) {
			c.Observe(kind, ResultHit)
			return v, ResultHit, nil
		}
		c.revalidate(ctx, kind, key, anyLoad(load), sharedDecoder[T](c))
		c.Observe(kind, ResultStale)
		return v, ResultStale, nil
	}
	return fetchMiss(ctx, c, kind, key, load)
}

// loader is a load whose value's type is erased, for the code that stores
// values of every kind.
type loader func(context.Context) (any, error)

func anyLoad[T any](load func(context.Context) (T, error)) loader {
	return func(ctx context.Context) (any, error) { return load(ctx) }
}

func typeError[T any](kind, key string, got any) error {
	var want T
	return fmt.Errorf("read cache %s %q: holds %T, want %T", kind, key, got, want)
}
