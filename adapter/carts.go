package adapter

import (
	"slices"
	"sync"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// Bounds of the abandoned carts kept per store: the most recent few per
// phone, for a limited time, for a limited number of phones.
const (
	maxCartsPerPhone = 3
	maxCartAge       = 30 * 24 * time.Hour
	maxCartPhones    = 10000
)

// Cart is an abandoned checkout, as the checkout.abandoned webhook tells it.
type Cart struct {
	ID    string
	Date  time.Time
	URL   string
	Items []wazion.CartItem
}

// carts holds abandoned carts by canonical phone key. Whatalo has no API for
// them: they come only from webhooks, so they live in memory, bounded.
type carts struct {
	mu    sync.Mutex
	byKey map[string][]Cart
	order []string // phone keys in insertion order, to evict the oldest
}

func newCarts() *carts { return &carts{byKey: map[string][]Cart{}} }

// add records a cart for a phone key, replacing one with the same ID.
func (cs *carts) add(key string, c Cart) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	list, ok := cs.byKey[key]
	if !ok {
		cs.order = append(cs.order, key)
	}
	list = slices.DeleteFunc(slices.Clone(list), func(o Cart) bool { return c.ID != "" && o.ID == c.ID })
	list = append(list, c)
	slices.SortFunc(list, func(a, b Cart) int { return b.Date.Compare(a.Date) })
	cs.byKey[key] = list[:min(len(list), maxCartsPerPhone)]
	for len(cs.order) > maxCartPhones {
		delete(cs.byKey, cs.order[0])
		cs.order = cs.order[1:]
	}
}

// clear drops a phone's carts, when its checkout completes.
func (cs *carts) clear(key string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.byKey[key]; !ok {
		return
	}
	delete(cs.byKey, key)
	// Out of the eviction order too: a later cart for the phone is added
	// anew, and a leftover entry would evict it early.
	cs.order = slices.DeleteFunc(cs.order, func(k string) bool { return k == key })
}

// get returns a phone's carts younger than maxCartAge, newest first.
func (cs *carts) get(key string, now time.Time) []Cart {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var out []Cart
	for _, c := range cs.byKey[key] {
		if now.Sub(c.Date) <= maxCartAge {
			out = append(out, c)
		}
	}
	return out
}

// abandonedCarts returns the customer's carts in WAzion's shape.
func (b *Backend) abandonedCarts(c *whatalo.Customer, region string) []wazion.AbandonedCart {
	out := []wazion.AbandonedCart{}
	key := b.customerPhoneKey(c, region)
	if key == "" {
		return out
	}
	for _, cart := range b.carts.get(key, b.now()) {
		out = append(out, wazion.AbandonedCart{
			Date:  cart.Date.UTC().Format(time.RFC3339),
			URL:   cart.URL,
			Items: slices.Clone(cart.Items),
		})
	}
	return out
}
