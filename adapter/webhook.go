package adapter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/shopspring/decimal"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// This file is what a Whatalo webhook delivery means to a store: which
// cached answers, index entries and abandoned carts it changes. The wire
// protocol (headers, signatures, envelope, payloads) is whatalo's.

// Results of a delivery, as passed to Observer.ObserveWebhook. They are
// metric label values.
const (
	WebhookOK             = "ok"
	WebhookDuplicate      = "duplicate"
	WebhookBadSignature   = "bad_signature"
	WebhookStaleTimestamp = "stale_timestamp"
	WebhookBadPayload     = "bad_payload"
	WebhookIgnored        = "ignored"
)

// Bounds of webhook bookkeeping.
const (
	// deliveryTTL and maxDeliveries bound the delivery ids remembered for
	// deduplication. Whatalo retries within seconds; a day is generous.
	deliveryTTL   = 24 * time.Hour
	maxDeliveries = 50_000
	// maxDeliveryID bounds the id kept; longer ids are kept by their hash.
	maxDeliveryID = 128
	// refreshWorkers and maxPendingRefreshes bound the customer fetches
	// that order events start.
	refreshWorkers      = 2
	maxPendingRefreshes = 1000
	// refreshTimeout bounds one such fetch, rate-limit wait included.
	refreshTimeout = 30 * time.Second
	// Cart bounds: what one checkout can make the store keep in memory.
	maxCartItems   = 10
	maxCartText    = 120
	maxRecoveryURL = 1024
)

// HandleWebhook verifies and applies one delivery to this store: customer
// events update the index and cache, order events invalidate the customer's
// orders, checkout events record or clear abandoned carts. It calls no
// upstream on its path (fetches it needs run in the background, bounded),
// and keeps no reference to h or body, so it answers in well under a
// second. event is the documented event name, or "unknown".
//
// A failure returns whatalo.ErrWebhookSignature, whatalo.ErrWebhookStale or
// whatalo.ErrWebhookPayload (wrapped) and changes nothing. A delivery id
// seen in the last day returns event and nil, changing nothing; so do
// events the adapter has no use for.
func (b *Backend) HandleWebhook(ctx context.Context, h http.Header, body []byte) (event string, err error) {
	event = whatalo.WebhookEventLabel(h.Get(whatalo.HeaderWebhookEvent))
	if len(body) > whatalo.MaxWebhookBody {
		b.observeWebhook(event, WebhookBadPayload)
		return event, fmt.Errorf("%w: body of %d bytes exceeds %d", whatalo.ErrWebhookPayload, len(body), whatalo.MaxWebhookBody)
	}
	if err := whatalo.VerifyWebhook(b.opts.WebhookSecret, h, body, b.now(), whatalo.WebhookTolerance); err != nil {
		result := WebhookBadSignature
		if errors.Is(err, whatalo.ErrWebhookStale) {
			result = WebhookStaleTimestamp
		}
		b.observeWebhook(event, result)
		return event, err
	}
	wd, err := whatalo.ParseWebhook(h, body)
	var d delivery
	var apply func() string
	if err == nil {
		d = newDelivery(*wd, false)
		event = whatalo.WebhookEventLabel(d.Event)
		apply, err = b.planDelivery(d)
	}
	if err != nil {
		b.observeWebhook(event, WebhookBadPayload)
		return event, err
	}
	if d.ID != "" && !b.webhooks.add(d.ID, time.Now()) {
		b.observeWebhook(event, WebhookDuplicate)
		return event, nil
	}
	result := apply()
	// The deletions reach the shared level before the answer: a replica
	// asked next, told by the bus or not, must not read the old value back.
	b.cache.FlushShared(ctx)
	b.changed()
	b.observeWebhook(event, result)
	if result == WebhookOK {
		b.publishDelivery(ctx, d)
	}
	return event, nil
}

func (b *Backend) observeWebhook(event, result string) {
	if b.opts.Observer != nil {
		b.opts.Observer.ObserveWebhook(b.opts.Name, event, result)
	}
}

// changed tells OnChange that cached answers may no longer hold.
func (b *Backend) changed() {
	if b.opts.OnChange != nil {
		b.opts.OnChange()
	}
}

// delivery is a verified webhook delivery, to apply to this store.
type delivery struct {
	whatalo.WebhookDelivery
	remote bool // applied by another replica, which fetches what it needs
}

// newDelivery is wd with its id as kept for deduplication.
func newDelivery(wd whatalo.WebhookDelivery, remote bool) delivery {
	wd.ID = deliveryKey(wd.ID)
	return delivery{WebhookDelivery: wd, remote: remote}
}

// deliveryKey is the id kept for deduplication, hashed when long so that a
// sender cannot make the set hold large keys.
func deliveryKey(id string) string {
	id = strings.TrimSpace(id)
	if len(id) > maxDeliveryID {
		sum := sha256.Sum256([]byte(id))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return id
}

// WebhookEvents returns the events HandleWebhook acts on, the ones a
// store's subscription needs; it acknowledges the others and ignores them.
func WebhookEvents() []string {
	return slices.DeleteFunc(whatalo.WebhookEvents(), func(e string) bool { return webhookPlan(e) == nil })
}

// webhookPlan is how planDelivery plans an event the adapter acts on, or
// nil. Products are cached by search text, which an event cannot name; the
// short product TTL covers them.
func webhookPlan(event string) func(*Backend, delivery) (func() string, error) {
	switch event {
	case whatalo.EventCustomerCreated, whatalo.EventCustomerUpdated:
		return (*Backend).planCustomer
	case whatalo.EventOrderCreated, whatalo.EventOrderUpdated, whatalo.EventOrderCancelled, whatalo.EventOrderCompleted:
		return (*Backend).planOrder
	case whatalo.EventCheckoutAbandoned:
		return (*Backend).planAbandoned
	case whatalo.EventCheckoutCompleted:
		return (*Backend).planCheckoutCompleted
	}
	return nil
}

// planDelivery validates the delivery's entity and returns what applying it
// does, so that a bad payload changes nothing, not even the record of
// delivery ids.
func (b *Backend) planDelivery(d delivery) (func() string, error) {
	if plan := webhookPlan(d.Event); plan != nil {
		return plan(b, d)
	}
	return func() string { return WebhookIgnored }, nil
}

// planCustomer merges the event's customer over what is known of it, so a
// partial payload does not erase fields it leaves out.
func (b *Backend) planCustomer(d delivery) (func() string, error) {
	wc, err := d.ReadCustomer()
	if err != nil {
		return nil, err
	}
	return func() string {
		c, known := b.knownCustomer(wc.ID)
		wc.ApplyTo(&c)
		b.storeCustomer(c)
		if !known && !wc.HasOrderTotals && d.Event == whatalo.EventCustomerUpdated && !d.remote {
			// An unknown customer's partial payload lacks the order
			// totals that decide whether orders are fetched.
			b.refresher.add(wc.ID)
		}
		return WebhookOK
	}, nil
}

// knownCustomer returns what the index or cache holds of id.
func (b *Backend) knownCustomer(id string) (whatalo.Customer, bool) {
	if e := b.index.get(id); e != nil {
		return e.customer(), true
	}
	if c := b.cachedCustomer(id); c != nil {
		return *c, true
	}
	return whatalo.Customer{ID: id}, false
}

// storeCustomer puts a newer version of a customer in the index and cache.
func (b *Backend) storeCustomer(c whatalo.Customer) {
	e := newIndexed(c, b.regionNow())
	var old *indexedCustomer
	if !b.index.disabled {
		var stored bool
		if old, stored = b.index.upsert(e); !stored {
			return
		}
	}
	if old == nil {
		// The index did not hold the customer (disabled, not built yet, or
		// the store is too large for it): the cached customer names the
		// lookups the change makes stale.
		old = b.cachedIndexed(c.ID)
	}
	ch, _ := changeOf(old, e)
	b.applyCacheChanges([]cacheChange{ch}, true)
	if !b.index.disabled {
		b.observeIndex()
	}
}

// planOrder drops the cached orders of the order's customer and refreshes
// the customer's totals in the background.
func (b *Backend) planOrder(d delivery) (func() string, error) {
	o, err := d.ReadOrder()
	if err != nil {
		return nil, err
	}
	if o.ID == "" && o.CustomerID == "" && o.Phone == "" {
		return nil, fmt.Errorf("%w: %s names no order or customer", whatalo.ErrWebhookPayload, d.Event)
	}
	email := strings.ToLower(strings.TrimSpace(o.Email))
	return func() string {
		if o.ID != "" {
			b.cache.Delete(cache.KindOrder, o.ID)
		}
		if o.Number != "" {
			b.cache.Delete(cache.KindOrderSearch, o.Number)
		}
		// Cached lookups of the buyer hold their order totals, which
		// decide whether the panel looks for orders.
		key := b.phoneKeyNow(o.Phone)
		if key != "" {
			b.cache.Delete(cache.KindPhone, key)
		}
		if email != "" {
			b.cache.Delete(cache.KindEmail, email)
		}
		ids := []string{o.CustomerID}
		if o.CustomerID == "" {
			ids = nil
			if key != "" {
				ids = b.index.idsByPhone(key)
			}
		}
		for _, id := range ids {
			b.orderChanged(id, o.ID, !d.remote)
		}
		return WebhookOK
	}, nil
}

// orderChanged forgets what an order event makes stale about customer id,
// and with fetch reads the customer's new totals in the background.
func (b *Backend) orderChanged(id, orderID string, fetch bool) {
	b.forgetOrders(id)
	if known, ok := b.knownCustomer(id); ok {
		e := newIndexed(known, b.regionNow())
		b.applyCacheChanges([]cacheChange{{id: id, old: e}}, false)
		// A first order: without an order id the panel would not look for
		// orders until the refreshed totals arrive.
		if known.OrdersCount == 0 && known.LastOrderID == "" && orderID != "" && b.index.get(id) != nil {
			known.LastOrderID = orderID
			b.index.upsert(newIndexed(known, b.regionNow()))
		}
	} else {
		b.cache.Delete(cache.KindCustomer, id)
	}
	if fetch {
		b.refresher.add(id)
	}
}

// refreshCustomer reads one customer again after an event changed it.
func (b *Backend) refreshCustomer(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	c, _, err := b.client.Customers.Get(ctx, id)
	switch {
	case errors.Is(err, whatalo.ErrNotFound):
		b.removeCustomer(id)
		b.publish(ctx, busMessage{Type: busRemoved, Removed: id})
	case err != nil:
		b.log.Debug("refresh customer after webhook", "customer", id, "err", err)
	case c != nil:
		c.ID = id
		b.storeCustomer(*c)
		b.publish(ctx, busMessage{Type: busCustomer, Customer: c})
	}
}

// removeCustomer forgets a customer Whatalo no longer has.
func (b *Backend) removeCustomer(id string) {
	old := b.index.remove(id)
	if old != nil {
		defer b.observeIndex()
	} else if old = b.cachedIndexed(id); old == nil {
		b.cache.Delete(cache.KindCustomer, id)
		return
	}
	b.applyCacheChanges([]cacheChange{{id: id, old: old}}, false)
}

// cachedCustomer is the customer cached under id, or nil.
func (b *Backend) cachedCustomer(id string) *whatalo.Customer {
	v, _ := b.cache.Get(cache.KindCustomer, id)
	c, _ := v.(*whatalo.Customer)
	return c
}

// cachedIndexed is the cached customer id with its lookup keys, or nil.
func (b *Backend) cachedIndexed(id string) *indexedCustomer {
	c := b.cachedCustomer(id)
	if c == nil {
		return nil
	}
	return newIndexed(*c, b.regionNow())
}

// rememberFound keeps the customers a search found (the index does not hold
// them) under their id, unless already cached: a webhook that changes one's
// phone or email, or deletes it, then knows which lookups it makes stale.
// Only a result just read from Whatalo or the shared level (res) is new
// here.
func (b *Backend) rememberFound(res string, cs []whatalo.Customer) {
	if res != cache.ResultMiss && res != cache.ResultSharedHit {
		return
	}
	for i := range cs {
		id := cs[i].ID
		if id == "" || b.index.get(id) != nil {
			continue
		}
		if _, ok := b.cache.Get(cache.KindCustomer, id); ok {
			continue
		}
		c := cs[i]
		b.cache.SetLocal(cache.KindCustomer, id, &c)
	}
}

// planAbandoned records the cart under the checkout customer's phone, for
// abandonedCarts. A checkout without a usable phone is of no use to WAzion.
func (b *Backend) planAbandoned(d delivery) (func() string, error) {
	co, err := d.ReadCheckout()
	if err != nil {
		return nil, err
	}
	cart := Cart{ID: co.ID, URL: recoveryURL(co.RecoveryURL), Date: co.CreatedAt}
	if cart.Date.IsZero() {
		cart.Date = co.UpdatedAt
	}
	if cart.Date.IsZero() {
		cart.Date = d.OccurredAt
	}
	if cart.Date.IsZero() {
		cart.Date = b.now()
	}
	for _, it := range co.Items[:min(len(co.Items), maxCartItems)] {
		cart.Items = append(cart.Items, b.cartItem(it))
	}
	return func() string {
		key := b.phoneKeyNow(co.Phone)
		if key == "" {
			return WebhookIgnored
		}
		b.carts.add(key, cart)
		return WebhookOK
	}, nil
}

// planCheckoutCompleted clears the carts of the checkout's phone: the
// customer bought, so there is nothing left to recover.
func (b *Backend) planCheckoutCompleted(d delivery) (func() string, error) {
	co, err := d.ReadCheckout()
	if err != nil {
		return nil, err
	}
	return func() string {
		key := b.phoneKeyNow(co.Phone)
		if key == "" {
			return WebhookIgnored
		}
		b.carts.clear(key)
		return WebhookOK
	}, nil
}

// recoveryURL is raw when it is a short http(s) URL: WAzion shows it as a
// link.
func recoveryURL(raw string) string {
	if raw == "" || len(raw) > maxRecoveryURL {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return raw
}

// cartItem maps a checkout line: its title as order items are titled, and
// the line's amount (the unit price times the quantity when only that is
// given).
func (b *Backend) cartItem(it whatalo.WebhookCheckoutItem) wazion.CartItem {
	title := titleWithVariant(it.ProductName, it.VariantName)
	qty := 1
	if it.Quantity != nil && it.Quantity.IsPositive() && it.Quantity.IntPart() < 1_000_000 {
		qty = int(it.Quantity.IntPart())
	}
	var amount whatalo.Money
	switch {
	case it.TotalPrice != nil:
		amount = *it.TotalPrice
	case it.Price != nil:
		amount = whatalo.Money{Decimal: it.Price.Mul(decimal.NewFromInt(int64(qty)))}
	case it.UnitPrice != nil:
		amount = whatalo.Money{Decimal: it.UnitPrice.Mul(decimal.NewFromInt(int64(qty)))}
	}
	return wazion.CartItem{Title: clip(title, maxCartText), Quantity: qty, Amount: b.money(amount)}
}

// clip shortens s to at most n runes, copying it so it shares no memory
// with the request.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return strings.Clone(s)
	}
	return string([]rune(s)[:n])
}

// regionNow is the region for phones in webhooks, known without calling
// upstream: configured, read by the last index build, or cached store info.
func (b *Backend) regionNow() string {
	if b.opts.Region != "" {
		return b.opts.Region
	}
	if r := b.index.knownRegion(); r != "" {
		return r
	}
	if v, ok := b.cache.Get(cache.KindStore, "store"); ok {
		if s, _ := v.(*whatalo.Store); s != nil {
			return strings.ToUpper(s.CountryCode)
		}
	}
	return ""
}

// phoneKeyNow is the canonical key of a phone from a webhook, or "".
func (b *Backend) phoneKeyNow(phone string) string {
	return b.phones.KeyOf(phone, b.regionNow())
}

// deliverySet remembers delivery ids for ttl, at most max of them: past
// the bound, the oldest recorded is forgotten first. It is golang-lru's
// simplelru, O(1) a call, with each id's expiry as its value, read with Peek
// only so that recording order stays eviction order. golang-lru's
// expirable package would keep the expiry itself, but in v2.0.7 each of its
// maps starts a cleanup goroutine that nothing can stop (it has no Close),
// and it reads the wall clock, where this set is told the time.
type deliverySet struct {
	ttl time.Duration

	mu  sync.Mutex
	ids *simplelru.LRU[string, time.Time]
}

func newDeliverySet(capacity int, ttl time.Duration) *deliverySet {
	ids, _ := simplelru.NewLRU[string, time.Time](max(capacity, 1), nil) // fails only for a size < 1
	return &deliverySet{ttl: ttl, ids: ids}
}

// add records id and reports whether it was new (not seen within ttl).
func (s *deliverySet) add(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until, ok := s.ids.Peek(id); ok && now.Before(until) {
		return false
	}
	s.ids.Add(id, now.Add(s.ttl))
	return true
}

// len is the number of ids held, expired ones included.
func (s *deliverySet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids.Len()
}

// customerRefresher fetches customers again in the background, a few at a
// time, each id once however many events name it while it waits. It owns
// its workers: close ends them and waits until they have returned.
type customerRefresher struct {
	ctx     context.Context
	stop    context.CancelFunc
	workers int
	max     int
	fetch   func(ctx context.Context, id string)
	wg      sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	queue   []string
	queued  map[string]bool
	running int
}

// newCustomerRefresher returns a refresher whose fetches run under a child
// of parent, which close cancels.
func newCustomerRefresher(parent context.Context, workers, maxPending int, fetch func(context.Context, string)) *customerRefresher {
	ctx, stop := context.WithCancel(parent)
	return &customerRefresher{ctx: ctx, stop: stop, workers: workers, max: maxPending, fetch: fetch, queued: map[string]bool{}}
}

// add queues id unless it is queued already or the queue is full; then the
// next sync brings the change instead.
func (r *customerRefresher) add(id string) {
	if id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Checked under mu, which close takes too: no worker starts once close
	// may be waiting for them.
	if r.closed || r.queued[id] || len(r.queue) >= r.max {
		return
	}
	r.queued[id] = true
	r.queue = append(r.queue, strings.Clone(id))
	if r.running < r.workers {
		r.running++
		r.wg.Go(r.work)
	}
}

func (r *customerRefresher) work() {
	for {
		r.mu.Lock()
		if len(r.queue) == 0 || r.closed {
			r.running--
			r.mu.Unlock()
			return
		}
		id := r.queue[0]
		r.queue = r.queue[1:]
		delete(r.queued, id) // an event during the fetch may need another
		r.mu.Unlock()
		r.fetch(r.ctx, id)
	}
}

// idle reports whether no fetch is queued or running.
func (r *customerRefresher) idle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running == 0 && len(r.queue) == 0
}

// close drops the queued fetches, cancels the running ones and returns when
// every worker has. Later adds are ignored.
func (r *customerRefresher) close() {
	r.mu.Lock()
	r.closed = true
	r.queue = nil
	clear(r.queued)
	r.mu.Unlock()
	r.stop()
	r.wg.Wait()
}
