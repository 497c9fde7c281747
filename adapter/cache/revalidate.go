package cache

import (
	"context"
	"strings"
	"time"
)

// Stale-while-revalidate: a value past its fresh TTL but within MaxStale is
// served at once (ResultStale) and one background refresh per key loads it
// again. The refresh is detached from the caller, who has its answer, and
// bounded by RefreshTimeout and by Close. When it fails the stale value
// stays in place (stale_if_error.go) and the Observer is told
// ResultRefreshError.

// revalidate starts one background refresh of a stale key unless one is
// running or the cache is closed.
func (c *Cache) revalidate(ctx context.Context, kind, key string, load loader, decode decoder) {
	k := cacheKey(kind, key)
	c.refreshMu.Lock()
	if _, busy := c.refreshing[k]; busy || !c.begin() {
		c.refreshMu.Unlock()
		return
	}
	c.refreshing[k] = struct{}{}
	c.refreshMu.Unlock()

	kind = strings.Clone(kind)
	go func() {
		defer c.work.Done()
		defer func() {
			c.refreshMu.Lock()
			delete(c.refreshing, k)
			c.refreshMu.Unlock()
		}()
		// Not the caller's deadline: the caller is served already.
		lctx, cancel := c.detach(ctx, time.Now().Add(c.opts.RefreshTimeout))
		defer cancel()
		_, err, _ := c.group.Do(k, func() (any, error) { return c.loadAndStore(lctx, kind, k, load, decode) })
		// A refresh that Close cut short says nothing of upstream.
		if err != nil && c.ctx.Err() == nil {
			c.Observe(kind, ResultRefreshError)
		}
	}()
}

// detach returns the context of a load that may outlive its caller: it
// keeps ctx's values, not its cancellation, and ends at deadline or when
// the cache closes.
func (c *Cache) detach(ctx context.Context, deadline time.Time) (context.Context, context.CancelFunc) {
	lctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	stop := context.AfterFunc(c.ctx, cancel)
	return lctx, func() {
		stop()
		cancel()
	}
}
