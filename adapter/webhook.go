package adapter

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// Webhook delivery headers. The X-Webhook-* set is the current delivery
// contract; X-Whatalo-Signature the REST guide's older one.
const (
	HeaderWebhookID        = "X-Webhook-Id"
	HeaderWebhookEvent     = "X-Webhook-Event"
	HeaderWebhookSignature = "X-Webhook-Signature"
	HeaderWebhookTimestamp = "X-Webhook-Timestamp"
	HeaderWhataloSignature = "X-Whatalo-Signature"
)

const (
	// WebhookTolerance is how far X-Webhook-Timestamp may be from now, in
	// either direction, as Whatalo's verification guide says.
	WebhookTolerance = 300 * time.Second
	// MaxWebhookBody is the largest delivery accepted. Whatalo's entity
	// payloads are a few kilobytes.
	MaxWebhookBody = 1 << 20
)

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

// Errors of HandleWebhook and VerifyWebhook, for errors.Is. The route
// answers 401 to the first two and 400 to the third; Whatalo does not retry
// 4xx answers.
var (
	ErrWebhookSignature = errors.New("webhook signature missing or invalid")
	ErrWebhookStale     = errors.New("webhook timestamp outside the tolerance")
	ErrWebhookPayload   = errors.New("webhook payload unusable")
)

// webhookEvents are the events Whatalo documents (protocol 1.4.0). Other
// names are reported as "unknown" so metric labels stay bounded.
var webhookEvents = []string{
	"order.created", "order.updated", "order.cancelled", "order.completed",
	"product.created", "product.updated", "product.deleted",
	"customer.created", "customer.updated",
	"checkout.completed", "checkout.abandoned",
}

// eventLabel is name if Whatalo documents it, else "unknown".
func eventLabel(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if slices.Contains(webhookEvents, name) {
		return name
	}
	return "unknown"
}

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

// VerifyWebhook checks a delivery's signature against secret, before
// anything reads the body. The current contract signs timestamp + "." +
// body, with X-Webhook-Timestamp (unix seconds) within tolerance of now in
// either direction; the older one signs the body alone in
// X-Whatalo-Signature and is used only when X-Webhook-Signature is absent.
// Signatures are hex HMAC-SHA256, compared in constant time; a "sha256="
// prefix and several comma-separated signatures are accepted. tolerance <= 0
// means WebhookTolerance. An empty secret verifies nothing.
func VerifyWebhook(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		return fmt.Errorf("%w: no webhook secret is configured", ErrWebhookSignature)
	}
	if tolerance <= 0 {
		tolerance = WebhookTolerance
	}
	if sig := h.Get(HeaderWebhookSignature); sig != "" {
		ts := h.Get(HeaderWebhookTimestamp)
		if ts == "" {
			return fmt.Errorf("%w: %s without %s", ErrWebhookSignature, HeaderWebhookSignature, HeaderWebhookTimestamp)
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		if !signatureMatches(sig, mac.Sum(nil)) {
			return fmt.Errorf("%w: %s does not match", ErrWebhookSignature, HeaderWebhookSignature)
		}
		at, ok := parseUnix(ts)
		if !ok {
			return fmt.Errorf("%w: %s is not unix seconds", ErrWebhookStale, HeaderWebhookTimestamp)
		}
		if d := now.Sub(at); d > tolerance || d < -tolerance {
			return fmt.Errorf("%w: %s is %s from now", ErrWebhookStale, HeaderWebhookTimestamp, d.Round(time.Second))
		}
		return nil
	}
	if sig := h.Get(HeaderWhataloSignature); sig != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if !signatureMatches(sig, mac.Sum(nil)) {
			return fmt.Errorf("%w: %s does not match", ErrWebhookSignature, HeaderWhataloSignature)
		}
		return nil
	}
	return fmt.Errorf("%w: no %s or %s header", ErrWebhookSignature, HeaderWebhookSignature, HeaderWhataloSignature)
}

// signatureMatches compares the hex signatures in header with want. Decoded
// bytes are compared, so the hex's case does not matter.
func signatureMatches(header string, want []byte) bool {
	matched, tries := false, 0
	for part := range strings.SplitSeq(header, ",") {
		if tries++; tries > 4 {
			break
		}
		part = strings.TrimSpace(part)
		if k, v, ok := strings.Cut(part, "="); ok && strings.EqualFold(k, "sha256") {
			part = v
		}
		if len(part) != hex.EncodedLen(len(want)) {
			continue
		}
		got, err := hex.DecodeString(part)
		if err == nil && hmac.Equal(got, want) {
			matched = true // no early return: time does not tell which part matched
		}
	}
	return matched
}

// parseUnix reads unix seconds; values too large for seconds in this era
// are taken as milliseconds.
func parseUnix(s string) (time.Time, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	if n > 1e11 || n < -1e11 {
		return time.UnixMilli(n), true
	}
	return time.Unix(n, 0), true
}

// HandleWebhook verifies and applies one delivery to this store: customer
// events update the index and cache, order events invalidate the customer's
// orders, checkout events record or clear abandoned carts. It calls no
// upstream on its path (fetches it needs run in the background, bounded),
// and keeps no reference to h or body, so it answers in well under a
// second. event is the documented event name, or "unknown".
//
// A failure returns ErrWebhookSignature, ErrWebhookStale or
// ErrWebhookPayload (wrapped) and changes nothing. A delivery id seen in
// the last day returns event and nil, changing nothing; so do events the
// adapter has no use for.
func (b *Backend) HandleWebhook(ctx context.Context, h http.Header, body []byte) (event string, err error) {
	event = eventLabel(h.Get(HeaderWebhookEvent))
	if len(body) > MaxWebhookBody {
		b.observeWebhook(event, WebhookBadPayload)
		return event, fmt.Errorf("%w: body of %d bytes exceeds %d", ErrWebhookPayload, len(body), MaxWebhookBody)
	}
	if err := VerifyWebhook(b.opts.WebhookSecret, h, body, b.now(), WebhookTolerance); err != nil {
		result := WebhookBadSignature
		if errors.Is(err, ErrWebhookStale) {
			result = WebhookStaleTimestamp
		}
		b.observeWebhook(event, result)
		return event, err
	}
	d, err := parseDelivery(h, body)
	if err == nil {
		event = eventLabel(d.event)
	}
	var apply func() string
	if err == nil {
		apply, err = b.planDelivery(d)
	}
	if err != nil {
		b.observeWebhook(event, WebhookBadPayload)
		return event, err
	}
	if d.id != "" && !b.webhooks.add(d.id, time.Now()) {
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

// delivery is a verified webhook body, read.
type delivery struct {
	id       string
	event    string
	at       time.Time       // when it happened; zero when not said
	entity   json.RawMessage // the customer, order or checkout object
	customer json.RawMessage // a customer beside another entity, if any
	remote   bool            // applied by another replica, which fetches what it needs
}

// envelope reads both body formats: the current one, with the entity under
// its own name and the event in a header, and the older one, with the event
// in the body and the entity under data.
type envelope struct {
	DeliveryID string          `json:"delivery_id"`
	OccurredAt string          `json:"occurred_at"`
	Event      string          `json:"event"`
	Timestamp  json.RawMessage `json:"timestamp"`
	ID         json.RawMessage `json:"id"`
	Data       json.RawMessage `json:"data"`
	Customer   json.RawMessage `json:"customer"`
	Order      json.RawMessage `json:"order"`
	Checkout   json.RawMessage `json:"checkout"`
	Product    json.RawMessage `json:"product"`
}

func parseDelivery(h http.Header, body []byte) (delivery, error) {
	var env envelope
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return delivery{}, fmt.Errorf("%w: body is not a JSON object", ErrWebhookPayload)
	}
	if err := decodeLenient(body, &env); err != nil {
		return delivery{}, fmt.Errorf("%w: read body: %w", ErrWebhookPayload, err)
	}
	d := delivery{event: strings.ToLower(strings.TrimSpace(h.Get(HeaderWebhookEvent)))}
	if d.event == "" {
		d.event = strings.ToLower(strings.TrimSpace(env.Event))
	}
	if d.event == "" {
		return delivery{}, fmt.Errorf("%w: no event name in %s or the body", ErrWebhookPayload, HeaderWebhookEvent)
	}
	d.id = h.Get(HeaderWebhookID)
	if d.id == "" {
		d.id = env.DeliveryID
	}
	if d.id == "" {
		d.id = rawString(env.ID)
	}
	d.id = deliveryKey(d.id)
	d.at = parseTime(env.OccurredAt)
	if d.at.IsZero() {
		d.at = rawTime(env.Timestamp)
	}
	entity, _, _ := strings.Cut(d.event, ".")
	switch entity {
	case "customer":
		d.entity = env.Customer
	case "order":
		d.entity = env.Order
	case "checkout":
		d.entity = env.Checkout
	case "product":
		d.entity = env.Product
	}
	if isJSONNull(d.entity) {
		d.entity = env.Data
	}
	if isJSONNull(d.entity) {
		d.entity = nil
	}
	if entity != "customer" && !isJSONNull(env.Customer) {
		d.customer = env.Customer
	}
	return d, nil
}

// deliveryKey is the id kept for deduplication: a copy (headers may share
// memory with a reused request buffer), hashed when long.
func deliveryKey(id string) string {
	id = strings.TrimSpace(id)
	if len(id) > maxDeliveryID {
		sum := sha256.Sum256([]byte(id))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return strings.Clone(id)
}

func isJSONNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// rawString reads a JSON string or number as a string: Whatalo's ids are
// opaque strings, but some payloads carry them as numbers.
func rawString(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(t, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(t, &n) == nil {
		return n.String()
	}
	return ""
}

// rawTime reads an RFC 3339 string or unix seconds.
func rawTime(raw json.RawMessage) time.Time {
	if s := rawString(raw); s != "" {
		if t := parseTime(s); !t.IsZero() {
			return t
		}
		if t, ok := parseUnix(s); ok {
			return t
		}
	}
	return time.Time{}
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t
}

// planDelivery validates the delivery's entity and returns what applying it
// does, so that a bad payload changes nothing, not even the record of
// delivery ids.
// changed tells OnChange that cached answers may no longer hold.
func (b *Backend) changed() {
	if b.opts.OnChange != nil {
		b.opts.OnChange()
	}
}

func (b *Backend) planDelivery(d delivery) (func() string, error) {
	switch d.event {
	case "customer.created", "customer.updated":
		return b.planCustomer(d)
	case "order.created", "order.updated", "order.cancelled", "order.completed":
		return b.planOrder(d)
	case "checkout.abandoned":
		return b.planAbandoned(d)
	case "checkout.completed":
		return b.planCheckoutCompleted(d)
	}
	// Products are cached by search text, which an event cannot name; the
	// short product TTL covers them.
	return func() string { return WebhookIgnored }, nil
}

// entityFields reads the entity as an object.
func entityFields(d delivery) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if d.entity == nil {
		return nil, fmt.Errorf("%w: %s without its object", ErrWebhookPayload, d.event)
	}
	if err := json.Unmarshal(d.entity, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: %s object is not a JSON object", ErrWebhookPayload, d.event)
	}
	return m, nil
}

// decodeLenient decodes raw into v, skipping fields of unexpected types
// (an id sent as a number) but not malformed values.
func decodeLenient(raw json.RawMessage, v any) error {
	err := json.Unmarshal(raw, v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return nil
	}
	return err
}

// planCustomer merges the event's customer over what is known of it, so a
// partial payload does not erase fields it leaves out.
func (b *Backend) planCustomer(d delivery) (func() string, error) {
	fields, err := entityFields(d)
	if err != nil {
		return nil, err
	}
	id := rawString(fields["id"])
	if id == "" {
		return nil, fmt.Errorf("%w: %s without a customer id", ErrWebhookPayload, d.event)
	}
	var probe whatalo.Customer
	if err := decodeLenient(d.entity, &probe); err != nil {
		return nil, fmt.Errorf("%w: read customer: %w", ErrWebhookPayload, err)
	}
	_, complete := fields["orders_count"]
	return func() string {
		base, known := b.knownCustomer(id)
		c := base
		if c.LastOrderAt != nil {
			t := *c.LastOrderAt
			c.LastOrderAt = &t // decoding writes through the pointer
		}
		_ = decodeLenient(d.entity, &c) // validated above
		c.ID = id
		b.storeCustomer(c)
		if !known && !complete && d.event == "customer.updated" && !d.remote {
			// An unknown customer's partial payload lacks the order
			// totals that decide whether orders are fetched.
			b.refresher.add(id)
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

// orderRef is what an order event says about whose order it is.
type orderRef struct {
	ID          string          `json:"-"`
	Number      json.RawMessage `json:"order_number"`
	CustomerID  json.RawMessage `json:"customer_id"`
	CustomerIDc json.RawMessage `json:"customerId"`
	Phone       string          `json:"customer_phone"`
	Email       string          `json:"customer_email"`
	Customer    *customerRef    `json:"customer"`
}

// customerRef is the customer an order or checkout names.
type customerRef struct {
	ID    json.RawMessage `json:"id"`
	Phone string          `json:"phone"`
	Email string          `json:"email"`
}

// sideCustomer reads the customer beside the entity, or nil.
func sideCustomer(d delivery) *customerRef {
	if d.customer == nil {
		return nil
	}
	var c customerRef
	if decodeLenient(d.customer, &c) != nil {
		return nil
	}
	return &c
}

// planOrder drops the cached orders of the order's customer and refreshes
// the customer's totals in the background.
func (b *Backend) planOrder(d delivery) (func() string, error) {
	fields, err := entityFields(d)
	if err != nil {
		return nil, err
	}
	var ref orderRef
	if err := decodeLenient(d.entity, &ref); err != nil {
		return nil, fmt.Errorf("%w: read order: %w", ErrWebhookPayload, err)
	}
	if ref.Customer == nil {
		ref.Customer = sideCustomer(d)
	}
	orderID := rawString(fields["id"])
	number := strings.TrimPrefix(rawString(ref.Number), "#")
	customerID := rawString(ref.CustomerID)
	if customerID == "" {
		customerID = rawString(ref.CustomerIDc)
	}
	phone, email := ref.Phone, ref.Email
	if ref.Customer != nil {
		if customerID == "" {
			customerID = rawString(ref.Customer.ID)
		}
		if phone == "" {
			phone = ref.Customer.Phone
		}
		if email == "" {
			email = ref.Customer.Email
		}
	}
	email = strings.ToLower(strings.TrimSpace(email))
	if orderID == "" && customerID == "" && phone == "" {
		return nil, fmt.Errorf("%w: %s names no order or customer", ErrWebhookPayload, d.event)
	}
	return func() string {
		if orderID != "" {
			b.cache.Delete(cache.KindOrder, orderID)
		}
		if number != "" {
			b.cache.Delete(cache.KindOrderSearch, number)
		}
		// Cached lookups of the buyer hold their order totals, which
		// decide whether the panel looks for orders.
		key := b.phoneKeyNow(phone)
		if key != "" {
			b.cache.Delete(cache.KindPhone, key)
		}
		if email != "" {
			b.cache.Delete(cache.KindEmail, email)
		}
		ids := []string{customerID}
		if customerID == "" {
			ids = nil
			if key != "" {
				ids = b.index.idsByPhone(key)
			}
		}
		for _, id := range ids {
			b.orderChanged(id, orderID, !d.remote)
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
		b.applyCacheChanges([]cacheChange{{id: id, oldPhone: e.phoneKey, oldEmail: e.emailKey}}, false)
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
	b.applyCacheChanges([]cacheChange{{id: id, oldPhone: old.phoneKey, oldEmail: old.emailKey}}, false)
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

// checkoutPayload is a checkout.abandoned or checkout.completed object.
type checkoutPayload struct {
	RecoveryURL   string          `json:"recovery_url"`
	RecoveryURLc  string          `json:"recoveryUrl"`
	CreatedAt     string          `json:"created_at"`
	UpdatedAt     string          `json:"updated_at"`
	Phone         string          `json:"phone"`
	CustomerPhone string          `json:"customer_phone"`
	Items         []checkoutItem  `json:"items"`
	Customer      *customerRef    `json:"customer"`
	ID            json.RawMessage `json:"id"`
}

type checkoutItem struct {
	ProductName  string         `json:"product_name"`
	ProductNameC string         `json:"productName"`
	Name         string         `json:"name"`
	Title        string         `json:"title"`
	VariantName  string         `json:"variant_name"`
	Quantity     *whatalo.Money `json:"quantity"`
	TotalPrice   *whatalo.Money `json:"total_price"`
	Price        *whatalo.Money `json:"price"`
	UnitPrice    *whatalo.Money `json:"unit_price"`
}

func (p *checkoutPayload) phone() string {
	switch {
	case p.Customer != nil && p.Customer.Phone != "":
		return p.Customer.Phone
	case p.CustomerPhone != "":
		return p.CustomerPhone
	}
	return p.Phone
}

func readCheckout(d delivery) (*checkoutPayload, error) {
	if _, err := entityFields(d); err != nil {
		return nil, err
	}
	var p checkoutPayload
	if err := decodeLenient(d.entity, &p); err != nil {
		return nil, fmt.Errorf("%w: read checkout: %w", ErrWebhookPayload, err)
	}
	if p.Customer == nil || p.Customer.Phone == "" {
		if c := sideCustomer(d); c != nil && c.Phone != "" {
			p.Customer = c
		}
	}
	return &p, nil
}

// planAbandoned records the cart under the checkout customer's phone, for
// abandonedCarts. A checkout without a usable phone is of no use to WAzion.
func (b *Backend) planAbandoned(d delivery) (func() string, error) {
	p, err := readCheckout(d)
	if err != nil {
		return nil, err
	}
	cart := Cart{ID: rawString(p.ID), URL: recoveryURL(p)}
	for _, s := range []string{p.CreatedAt, p.UpdatedAt} {
		if cart.Date = parseTime(s); !cart.Date.IsZero() {
			break
		}
	}
	if cart.Date.IsZero() {
		cart.Date = d.at
	}
	if cart.Date.IsZero() {
		cart.Date = b.now()
	}
	for _, it := range p.Items[:min(len(p.Items), maxCartItems)] {
		cart.Items = append(cart.Items, b.cartItem(it))
	}
	phone := p.phone()
	return func() string {
		key := b.phoneKeyNow(phone)
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
	p, err := readCheckout(d)
	if err != nil {
		return nil, err
	}
	phone := p.phone()
	return func() string {
		key := b.phoneKeyNow(phone)
		if key == "" {
			return WebhookIgnored
		}
		b.carts.clear(key)
		return WebhookOK
	}, nil
}

// recoveryURL is the checkout's recovery link when it is an http(s) URL:
// WAzion shows it as a link.
func recoveryURL(p *checkoutPayload) string {
	raw := strings.TrimSpace(p.RecoveryURL)
	if raw == "" {
		raw = strings.TrimSpace(p.RecoveryURLc)
	}
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
func (b *Backend) cartItem(it checkoutItem) wazion.CartItem {
	title := titleWithVariant(firstNonEmpty(it.ProductName, it.ProductNameC, it.Name, it.Title), it.VariantName)
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

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
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

// deliverySet remembers delivery ids for a while, bounded in count: past
// the bound, the oldest recorded is forgotten first.
type deliverySet struct {
	mu   sync.Mutex
	ttl  time.Duration
	max  int
	seen map[string]deliverySeen
	ring []ringSlot // ids in the order recorded; len <= max
	next int        // oldest slot once the ring is full
	gen  uint64
}

type deliverySeen struct {
	until time.Time
	gen   uint64 // which recording of the id, so an old slot evicts nothing
}

// ringSlot is one recording of an id in deliverySet's ring.
type ringSlot struct {
	key string
	gen uint64
}

func newDeliverySet(capacity int, ttl time.Duration) *deliverySet {
	return &deliverySet{ttl: ttl, max: max(capacity, 1), seen: map[string]deliverySeen{}}
}

// add records id and reports whether it was new (not seen within ttl).
func (s *deliverySet) add(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.seen[id]; ok && now.Before(prev.until) {
		return false
	}
	s.gen++
	s.seen[id] = deliverySeen{until: now.Add(s.ttl), gen: s.gen}
	slot := ringSlot{key: id, gen: s.gen}
	if len(s.ring) < s.max {
		s.ring = append(s.ring, slot)
		return true
	}
	old := s.ring[s.next]
	if cur, ok := s.seen[old.key]; ok && cur.gen == old.gen {
		delete(s.seen, old.key)
	}
	s.ring[s.next] = slot
	s.next = (s.next + 1) % len(s.ring)
	return true
}

func (s *deliverySet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// customerRefresher fetches customers again in the background, a few at a
// time, each id once however many events name it while it waits.
type customerRefresher struct {
	ctx     context.Context
	workers int
	max     int
	fetch   func(ctx context.Context, id string)

	mu      sync.Mutex
	queue   []string
	queued  map[string]bool
	running int
}

func newCustomerRefresher(ctx context.Context, workers, maxPending int, fetch func(context.Context, string)) *customerRefresher {
	return &customerRefresher{ctx: ctx, workers: workers, max: maxPending, fetch: fetch, queued: map[string]bool{}}
}

// add queues id unless it is queued already or the queue is full; then the
// next sync brings the change instead.
func (r *customerRefresher) add(id string) {
	if id == "" || r.ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queued[id] || len(r.queue) >= r.max {
		return
	}
	r.queued[id] = true
	r.queue = append(r.queue, strings.Clone(id))
	if r.running < r.workers {
		r.running++
		go r.work()
	}
}

func (r *customerRefresher) work() {
	for {
		r.mu.Lock()
		if len(r.queue) == 0 || r.ctx.Err() != nil {
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
