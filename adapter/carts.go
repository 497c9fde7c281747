package adapter

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// Bounds of the abandoned carts kept per store: the most recent few per
// phone, for a limited time, for a limited number of phones; and of the
// completed checkouts remembered, as many and as long.
const (
	maxCartsPerPhone = 3
	maxCartAge       = 30 * 24 * time.Hour
	maxCartPhones    = 10000
	maxCompletions   = maxCartPhones
	// cartsRecheck is how long a phone's carts read from the WebhookStore
	// are answered from memory: the bus brings the other replicas'
	// changes, and a message it lost is read at the next check, so that a
	// side panel costs the store a call a minute per phone at most.
	cartsRecheck = time.Minute
)

// Cart is an abandoned checkout, as the checkout.abandoned webhook tells it.
type Cart struct {
	ID    string            `json:"id,omitempty"`
	Date  time.Time         `json:"date"`
	URL   string            `json:"url,omitempty"`
	Items []wazion.CartItem `json:"items,omitempty"`
}

// carts holds abandoned carts by canonical phone key, and when checkouts
// completed. Whatalo has no API for them: they come only from webhooks, so
// they live in memory, bounded, and with a WebhookStore there too (see
// Backend.recordCart). The phones are golang-lru's simplelru, O(1) a call:
// a phone's carts change in place and are read with Peek, so that past the
// bound the phone recorded first is forgotten first, however recently its
// carts changed. Completions are kept the same way.
type carts struct {
	mu     sync.Mutex
	phones *simplelru.LRU[string, *phoneCarts]
	done   *simplelru.LRU[string, time.Time] // checkout id -> completed at
}

// phoneCarts holds one phone's carts, newest first, and when they were
// last merged with the WebhookStore's (zero: never).
type phoneCarts struct {
	list    []Cart
	checked time.Time
}

func newCarts() *carts {
	phones, _ := simplelru.NewLRU[string, *phoneCarts](maxCartPhones, nil) // fails only for a size < 1
	done, _ := simplelru.NewLRU[string, time.Time](maxCompletions, nil)
	return &carts{phones: phones, done: done}
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
	pc.list = mergeCarts(pc.list, []Cart{c})
}

// mergeCarts is the carts of a and b, one per ID (b's when both have it),
// newest first, at most maxCartsPerPhone of them.
func mergeCarts(a, b []Cart) []Cart {
	list := slices.DeleteFunc(slices.Clone(a), func(o Cart) bool {
		return o.ID != "" && slices.ContainsFunc(b, func(n Cart) bool { return n.ID == o.ID })
	})
	list = append(list, b...)
	slices.SortStableFunc(list, func(x, y Cart) int { return y.Date.Compare(x.Date) })
	return list[:min(len(list), maxCartsPerPhone)]
}

// clear drops a phone's carts, when its checkout completes. A later cart
// for the phone is recorded anew, last in the eviction order.
func (cs *carts) clear(key string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.phones.Remove(key)
}

// lookup returns a phone's carts younger than maxCartAge, newest first,
// and reports whether they were merged with the WebhookStore's less than
// cartsRecheck ago.
func (cs *carts) lookup(key string, now time.Time) ([]Cart, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	pc, _ := cs.phones.Peek(key)
	if pc == nil {
		return nil, false
	}
	return youngCarts(pc.list, now), !pc.checked.IsZero() && now.Sub(pc.checked) < cartsRecheck
}

// merged records the carts read from the WebhookStore beside a phone's,
// checked at now; an empty result is kept too, so that the phone is not
// read again before cartsRecheck.
func (cs *carts) merged(key string, stored []Cart, now time.Time) []Cart {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	pc, ok := cs.phones.Peek(key)
	if !ok {
		pc = &phoneCarts{}
		cs.phones.Add(key, pc)
	}
	pc.list, pc.checked = mergeCarts(stored, pc.list), now
	return youngCarts(pc.list, now)
}

func youngCarts(list []Cart, now time.Time) []Cart {
	var out []Cart
	for _, c := range list {
		if now.Sub(c.Date) <= maxCartAge {
			out = append(out, c)
		}
	}
	return out
}

// complete records that checkout id completed at.
func (cs *carts) complete(id string, at time.Time) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if held, ok := cs.done.Peek(id); !ok || at.After(held) {
		cs.done.Add(id, at)
	}
}

// completedAt is when checkout id completed, if that is remembered and
// younger than maxCartAge.
func (cs *carts) completedAt(id string, now time.Time) (time.Time, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	at, ok := cs.done.Peek(id)
	return at, ok && now.Sub(at) <= maxCartAge
}

// Keys of the WebhookStore holding a phone's carts and a checkout's
// completion.
func cartsKey(phoneKey string) string     { return "carts:" + phoneKey }
func completedKey(checkout string) string { return "checkout-completed:" + checkout }

// recordCart records a cart for a phone key here and, with shared (the
// delivery came to this replica, not from another), in the WebhookStore.
func (b *Backend) recordCart(key string, c Cart, shared bool) {
	b.carts.add(key, c)
	if shared {
		b.writeWebhookState(cartsKey(key), maxCartAge, "keep an abandoned cart in the shared store; this replica holds it",
			func(ctx context.Context) ([]byte, error) {
				stored, _ := b.storedCarts(ctx, key) // unreadable: this cart alone
				return json.Marshal(mergeCarts(stored, []Cart{c}))
			})
	}
}

// writeWebhookState writes what value gives under key in the WebhookStore
// (nil deletes it), within webhookStoreTimeout, and logs failure with the
// error when it cannot: this replica's memory still holds the state.
func (b *Backend) writeWebhookState(key string, ttl time.Duration, failure string, value func(context.Context) ([]byte, error)) {
	st := b.opts.Shared.Webhooks
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), webhookStoreTimeout)
	defer cancel()
	raw, err := value(ctx)
	if err == nil {
		err = st.WriteState(ctx, key, raw, ttl)
	}
	if err != nil {
		b.log.Warn(failure, "err", err)
	}
}

// clearCarts drops a phone's carts here and, with shared, in the
// WebhookStore.
func (b *Backend) clearCarts(key string, shared bool) {
	b.carts.clear(key)
	if shared {
		b.writeWebhookState(cartsKey(key), 0, "drop completed carts from the shared store; this replica's memory hides them",
			func(context.Context) ([]byte, error) { return nil, nil })
	}
}

// completeCheckout remembers that checkout id completed at, here and, with
// shared, in the WebhookStore.
func (b *Backend) completeCheckout(id string, at time.Time, shared bool) {
	if id == "" {
		return
	}
	b.carts.complete(id, at)
	if shared {
		b.writeWebhookState(completedKey(id), maxCartAge, "keep a checkout's completion in the shared store; this replica remembers it",
			func(context.Context) ([]byte, error) { return at.UTC().MarshalText() })
	}
}

// checkoutCompletedAt is when checkout id completed, as this replica or
// the WebhookStore remembers it.
func (b *Backend) checkoutCompletedAt(id string) (time.Time, bool) {
	if id == "" {
		return time.Time{}, false
	}
	if at, ok := b.carts.completedAt(id, b.now()); ok {
		return at, true
	}
	st := b.opts.Shared.Webhooks
	if st == nil {
		return time.Time{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), webhookStoreTimeout)
	defer cancel()
	raw, err := st.ReadState(ctx, completedKey(id))
	var at time.Time
	if err != nil || raw == nil || at.UnmarshalText(raw) != nil {
		return time.Time{}, false
	}
	b.carts.complete(id, at)
	return at, true
}

// storedCarts is a phone's carts in the WebhookStore, nil when it holds
// none or none readable; ok is false when the store could not be read.
func (b *Backend) storedCarts(ctx context.Context, key string) (list []Cart, ok bool) {
	st := b.opts.Shared.Webhooks
	if st == nil {
		return nil, true
	}
	raw, err := st.ReadState(ctx, cartsKey(key))
	if err != nil {
		b.log.Debug("read abandoned carts from the shared store; this replica's answer", "err", err)
		return nil, false
	}
	if raw != nil && json.Unmarshal(raw, &list) != nil {
		return nil, true
	}
	return list, true
}

// cartsOf is a phone's carts: this replica's, with those of the
// WebhookStore (recorded by another replica or before a restart) read at
// most every cartsRecheck, less those of checkouts this replica knows
// completed.
func (b *Backend) cartsOf(key string) []Cart {
	now := b.now()
	list, checked := b.carts.lookup(key, now)
	if b.opts.Shared.Webhooks == nil || checked {
		return list
	}
	ctx, cancel := context.WithTimeout(context.Background(), webhookStoreTimeout)
	defer cancel()
	stored, ok := b.storedCarts(ctx, key)
	if !ok {
		return list
	}
	stored = slices.DeleteFunc(stored, func(c Cart) bool {
		done, ok := b.carts.completedAt(c.ID, now)
		return c.ID != "" && ok && !done.Before(c.Date)
	})
	return b.carts.merged(key, stored, now)
}

// abandonedCarts returns the customer's carts in WAzion's shape.
func (b *Backend) abandonedCarts(c *whatalo.Customer, region string) []wazion.AbandonedCart {
	out := []wazion.AbandonedCart{}
	key := b.customerPhoneKey(c, region)
	if key == "" {
		return out
	}
	for _, cart := range b.cartsOf(key) {
		out = append(out, wazion.AbandonedCart{
			Date:  cart.Date.UTC().Format(time.RFC3339),
			URL:   cart.URL,
			Items: slices.Clone(cart.Items),
		})
	}
	return out
}
