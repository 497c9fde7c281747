package adapter

import (
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

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
// them: they come only from webhooks, so they live in memory, bounded. The
// phones are golang-lru's simplelru, O(1) a call: a phone's carts change in
// place and are read with Peek, so that past the bound the phone recorded
// first is forgotten first, however recently its carts changed.
type carts struct {
	mu     sync.Mutex
	phones *simplelru.LRU[string, *phoneCarts]
}

// phoneCarts holds one phone's carts, newest first.
type phoneCarts struct{ list []Cart }

func newCarts() *carts {
	phones, _ := simplelru.NewLRU[string, *phoneCarts](maxCartPhones, nil) // fails only for a size < 1
	return &carts{phones: phones}
}

// add records a cart for a phone key, replacing one with the same ID.
func (cs *carts) add(key string, c Cart) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	pc, ok := cs.phones.Peek(key)
	if !ok {
		pc = &phoneCarts{}
		cs.phones.Add(key, pc)
	}
	list := slices.DeleteFunc(slices.Clone(pc.list), func(o Cart) bool { return c.ID != "" && o.ID == c.ID })
	list = append(list, c)
	slices.SortFunc(list, func(a, b Cart) int { return b.Date.Compare(a.Date) })
	pc.list = list[:min(len(list), maxCartsPerPhone)]
}

// clear drops a phone's carts, when its checkout completes. A later cart
// for the phone is recorded anew, last in the eviction order.
func (cs *carts) clear(key string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.phones.Remove(key)
}

// get returns a phone's carts younger than maxCartAge, newest first.
func (cs *carts) get(key string, now time.Time) []Cart {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	pc, _ := cs.phones.Peek(key)
	if pc == nil {
		return nil
	}
	var out []Cart
	for _, c := range pc.list {
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
