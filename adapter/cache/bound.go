package cache

// The bound: go-cache has no size limit, so the Cache keeps a ring of its
// last MaxEntries writes and drops the oldest write's entry when a new one
// needs its slot (first in, first out, O(1) per write). Reads do not move
// an entry: a key read often but never written again is reloaded after
// MaxEntries other writes, which costs one upstream call.

// ringSlot records one write. A slot whose generation no longer matches the
// entry's is left over from an older write of a rewritten key and evicts
// nothing.
type ringSlot struct {
	key string
	gen uint64
}

// evictLocked records a write of k in the ring; once the ring is full, the
// oldest write's entry is dropped unless its key was written again since.
// Every stored entry has its generation in the ring, so the entries held
// never outnumber the ring's MaxEntries slots. c.mu must be held.
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
