package cache

import (
	"context"
	"strconv"
	"testing"
)

func TestCacheBoundedEntries(t *testing.T) {
	const max = 100
	c, _, _ := newTestCache(t, Options{MaxEntries: max})
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
	c, _, _ := newTestCache(t, Options{MaxEntries: max})
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
