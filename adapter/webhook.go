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
	// deliveryTTL and maxDeliveries bound the deliveries remembered for
	// deduplication (each by its id and by what its signature covers).
	// Whatalo retries within seconds; a day is generous.
	deliveryTTL   = 24 * time.Hour
	maxDeliveries = 50_000
	// maxDeliveryID bounds the id kept; longer ids are kept by their hash.
	maxDeliveryID = 128
	// replayMargin keeps a signature past its timestamp's tolerance by a
	// little, so that clock steps between two checks cannot open a gap.
	replayMargin = 5 * time.Second
	// orderVersionTTL and maxOrderVersions bound the order versions
	// webhooks told, against which older-scheme order events are judged.
	orderVersionTTL  = maxCartAge
	maxOrderVersions = maxDeliveries
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
// whatalo.ErrWebhookPayload (wrapped) and changes nothing. A duplicate
// returns event and nil, changing nothing; so do events the adapter has no
// use for. A duplicate is a delivery id seen in the last day, or, whatever
// its id (which the signature does not cover), a signature seen while its
// timestamp is within the tolerance, or an older-scheme body seen in the
// last day (that scheme has no timestamp, so its deliveries are also
// applied only when newer than what is held: see planCustomer, planOrder
// and planAbandoned).
func (b *Backend) HandleWebhook(ctx context.Context, h http.Header, body []byte) (event string, err error) {
	event = whatalo.WebhookEventLabel(h.Get(whatalo.HeaderWebhookEvent))
	if len(body) > whatalo.MaxWebhookBody {
		b.observeWebhook(event, WebhookBadPayload)
		return event, fmt.Errorf("%w: body of %d bytes exceeds %d", whatalo.ErrWebhookPayload, len(body), whatalo.MaxWebhookBody)
	}
	v, err := whatalo.VerifyWebhookDelivery(b.opts.WebhookSecret, h, body, b.now(), whatalo.WebhookTolerance)
	if err != nil {
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
		d.legacy, d.signedAt, d.replayKey = v.Legacy, v.SignedAt, v.ReplayKey
		event = whatalo.WebhookEventLabel(d.Event)
		apply, err = b.planDelivery(d)
	}
	if err != nil {
		b.observeWebhook(event, WebhookBadPayload)
		return event, err
	}
	if b.seenDelivery(ctx, d) {
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
	// legacy marks the older signature scheme, whose deliveries never go
	// stale: they are applied only when shown newer than what is held.
	legacy bool
	// signedAt is X-Webhook-Timestamp, zero in the older scheme.
	signedAt time.Time
	// replayKey names what the signature covers (whatalo.VerifiedWebhook).
	replayKey string
}

// seenDelivery records the delivery's id and what its signature covers,
// and reports whether either was recorded before: here, or with a
// WebhookStore by any replica, also before a restart. Both are recorded
// whatever the answer, so that a replay of either is known next time.
func (b *Backend) seenDelivery(ctx context.Context, d delivery) bool {
	return b.seen(ctx, d, b.opts.Shared.Webhooks)
}

// seenHere is seenDelivery in this process's memory alone, for deliveries
// another replica applied and recorded in the WebhookStore.
func (b *Backend) seenHere(d delivery) bool {
	return b.seen(context.Background(), d, nil)
}

// seen is seenDelivery with st, nil for none.
func (b *Backend) seen(ctx context.Context, d delivery, st WebhookStore) bool {
	seen := false
	if d.ID != "" {
		seen = !b.firstSight(ctx, st, "id:"+d.ID, deliveryTTL)
	}
	if d.replayKey != "" && !b.firstSight(ctx, st, d.replayKey, b.replayTTL(d)) {
		seen = true
	}
	return seen
}

// replayTTL is how long the delivery's replay key is worth keeping: until
// its timestamp goes stale, or a day for the older scheme, which has none.
func (b *Backend) replayTTL(d delivery) time.Duration {
	if d.legacy {
		return deliveryTTL
	}
	return d.signedAt.Add(whatalo.WebhookTolerance + replayMargin).Sub(b.now())
}

// firstSight records key for ttl, here and in st if there is one (nil for
// none), and reports whether neither held it. Without an answer from the
// store, this process's memory decides.
func (b *Backend) firstSight(ctx context.Context, st WebhookStore, key string, ttl time.Duration) bool {
	if ttl <= 0 {
		return true
	}
	fresh := b.webhooks.addFor(key, b.now(), ttl)
	if st == nil {
		return fresh
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), webhookStoreTimeout)
	defer cancel()
	isNew, err := st.Remember(sctx, key, ttl)
	if err != nil {
		b.log.Debug("record a webhook delivery in the shared store; this replica's memory decides", "err", err)
		return fresh
	}
	return fresh && isNew
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
// partial payload does not erase fields it leaves out. The payload's
// version is its updated_at, else when the event occurred; a version older
// than the one held changes nothing, and an applied payload without
// updated_at leaves its event's time as the customer's version, so that an
// older event replayed later cannot undo it. An older-scheme delivery (which
// never goes stale) must be newer than what is held, and one that tells no
// time at all is not applied: the customer is read again from Whatalo.
func (b *Backend) planCustomer(d delivery) (func() string, error) {
	wc, err := d.ReadCustomer()
	if err != nil {
		return nil, err
	}
	version := wc.UpdatedAt
	if version.IsZero() {
		version = d.OccurredAt
	}
	return func() string {
		c, known := b.knownCustomer(wc.ID)
		switch {
		case version.IsZero() && d.legacy:
			// Nothing tells how old it is, and it may be replayed for
			// ever: Whatalo says what the customer is now.
			if !d.remote {
				b.refresher.add(wc.ID)
			}
			return WebhookIgnored
		case version.IsZero() || !known:
			// Nothing to compare with: applied, as before versions.
		case c.UpdatedAt.After(version), d.legacy && c.UpdatedAt.Equal(version):
			return WebhookIgnored
		}
		wc.ApplyTo(&c)
		if wc.UpdatedAt.IsZero() && version.After(c.UpdatedAt) {
			c.UpdatedAt = version
		}
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
// the customer's totals in the background. The order's version is its
// updated_at, else when the event occurred: an event older than the version
// webhooks last told changes nothing, and an older-scheme one must be newer
// than it, since replayed it would spend the store's budget on fetches that
// change nothing.
func (b *Backend) planOrder(d delivery) (func() string, error) {
	o, err := d.ReadOrder()
	if err != nil {
		return nil, err
	}
	if o.ID == "" && o.CustomerID == "" && o.Phone == "" {
		return nil, fmt.Errorf("%w: %s names no order or customer", whatalo.ErrWebhookPayload, d.Event)
	}
	email := strings.ToLower(strings.TrimSpace(o.Email))
	version := o.UpdatedAt
	if version.IsZero() {
		version = d.OccurredAt
	}
	return func() string {
		if !b.orders.newer(o.ID, version, d.legacy, b.now()) {
			return WebhookIgnored
		}
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
// abandonedCarts. A checkout without a usable phone is of no use to WAzion;
// a checkout that completed since the event (a replay, or a late retry)
// has no cart to recover.
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
	at := checkoutEventTime(d, co)
	return func() string {
		key := b.phoneKeyNow(co.Phone)
		if key == "" {
			return WebhookIgnored
		}
		if done, ok := b.checkoutCompletedAt(co.ID); ok && (at.IsZero() || !at.After(done)) {
			return WebhookIgnored
		}
		b.recordCart(key, cart, !d.remote)
		return WebhookOK
	}, nil
}

// planCheckoutCompleted clears the carts of the checkout's phone: the
// customer bought, so there is nothing left to recover. The completion is
// remembered per checkout, phone or not, so that an abandonment of the
// checkout told before it is ignored when it comes later.
func (b *Backend) planCheckoutCompleted(d delivery) (func() string, error) {
	co, err := d.ReadCheckout()
	if err != nil {
		return nil, err
	}
	at := checkoutEventTime(d, co)
	return func() string {
		if at.IsZero() {
			at = b.now()
		}
		b.completeCheckout(co.ID, at, !d.remote)
		key := b.phoneKeyNow(co.Phone)
		if key == "" {
			return WebhookIgnored
		}
		b.clearCarts(key, !d.remote)
		return WebhookOK
	}, nil
}

// checkoutEventTime is when a checkout event happened, as far as the
// delivery tells: when it occurred, else the checkout's updated_at, else
// when it was signed; zero for an older-scheme delivery that says none.
func checkoutEventTime(d delivery, co *whatalo.WebhookCheckout) time.Time {
	switch {
	case !d.OccurredAt.IsZero():
		return d.OccurredAt
	case !co.UpdatedAt.IsZero():
		return co.UpdatedAt
	}
	return d.signedAt
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
	return s.addFor(id, now, s.ttl)
}

// addFor is add with the id kept for ttl rather than the set's own.
func (s *deliverySet) addFor(id string, now time.Time, ttl time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until, ok := s.ids.Peek(id); ok && now.Before(until) {
		return false
	}
	s.ids.Add(id, now.Add(ttl))
	return true
}

// versionSet remembers the newest version webhooks told of each of a
// bounded number of entities, for ttl; like deliverySet, it is simplelru
// read with Peek, the oldest recorded forgotten first.
type versionSet struct {
	ttl time.Duration

	mu       sync.Mutex
	versions *simplelru.LRU[string, heldVersion]
}

type heldVersion struct{ version, until time.Time }

func newVersionSet(capacity int, ttl time.Duration) *versionSet {
	versions, _ := simplelru.NewLRU[string, heldVersion](max(capacity, 1), nil) // fails only for a size < 1
	return &versionSet{ttl: ttl, versions: versions}
}

// newer records version as id's when it is newer than the one held, and
// reports whether the event is to be applied. Unless strict: when no newer
// version is held, or the event tells none. With strict (an event that
// never goes stale): only when no version is held or version is newer than
// it, so that an event without a version applies only to an id never told
// of. An empty id is always applied.
func (s *versionSet) newer(id string, version time.Time, strict bool, now time.Time) bool {
	if id == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	held, ok := s.versions.Peek(id)
	if ok = ok && now.Before(held.until); ok {
		switch {
		case strict && !version.After(held.version):
			return false
		case !strict && !version.IsZero() && held.version.After(version):
			return false
		}
	}
	if !ok || version.After(held.version) {
		s.versions.Add(id, heldVersion{version: version, until: now.Add(s.ttl)})
	}
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
