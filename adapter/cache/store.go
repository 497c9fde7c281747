package cache

import "time"

// entry is what go-cache holds for a key.
type entry struct {
	val        any
	freshUntil time.Time
	staleUntil time.Time
	gen        uint64
}

// fresh reports whether e may be served at now without a refresh.
func (e *entry) fresh(now time.Time) bool { return now.Before(e.freshUntil) }

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
	fresh, stale := c.lifetimes(kind, v)
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

// generation returns the generation of the latest write or delete, for a
// load to pass to store when it ends.
func (c *Cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
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

// sweep deletes the entries past MaxStale and ages the tombs, then sets
// itself to run again after CleanupInterval, until Close.
func (c *Cache) sweep() {
	if !c.begin() {
		return // closed while the timer fired
	}
	defer c.work.Done()
	c.items.DeleteExpired()
	c.mu.Lock()
	c.oldTombs, c.tombs = c.tombs, nil
	c.mu.Unlock()
	// Under lifeMu, as Close sets closed before it stops the timer: no
	// sweep is set up once Close has begun.
	c.lifeMu.Lock()
	if !c.closed {
		c.sweeper.Reset(c.opts.CleanupInterval)
	}
	c.lifeMu.Unlock()
}
