package whatalo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Webhook events Whatalo documents (protocol 1.4.0).
const (
	EventOrderCreated      = "order.created"
	EventOrderUpdated      = "order.updated"
	EventOrderCancelled    = "order.cancelled"
	EventOrderCompleted    = "order.completed"
	EventProductCreated    = "product.created"
	EventProductUpdated    = "product.updated"
	EventProductDeleted    = "product.deleted"
	EventCustomerCreated   = "customer.created"
	EventCustomerUpdated   = "customer.updated"
	EventCheckoutCompleted = "checkout.completed"
	EventCheckoutAbandoned = "checkout.abandoned"
)

// UnknownWebhookEvent stands for every event name Whatalo does not
// document, in WebhookEventLabel.
const UnknownWebhookEvent = "unknown"

// WebhookEvents returns every event Whatalo documents, the ones a
// subscription may name. The slice is the caller's.
func WebhookEvents() []string {
	return []string{
		EventOrderCreated, EventOrderUpdated, EventOrderCancelled, EventOrderCompleted,
		EventProductCreated, EventProductUpdated, EventProductDeleted,
		EventCustomerCreated, EventCustomerUpdated,
		EventCheckoutCompleted, EventCheckoutAbandoned,
	}
}

// WebhookEventLabel is name as Whatalo documents it (case and surrounding
// space aside), or UnknownWebhookEvent: a value from a bounded set,
// for metric labels and logs, whatever a sender puts in X-Webhook-Event.
func WebhookEventLabel(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if slices.Contains(WebhookEvents(), name) {
		return name
	}
	return UnknownWebhookEvent
}

// WebhookDelivery is a webhook delivery as ParseWebhook reads it. The
// entity stays raw until ReadCustomer, ReadOrder or ReadCheckout decodes
// it: which applies is what the event means to the receiver.
type WebhookDelivery struct {
	// ID names the delivery, the same on every retry: X-Webhook-Id, else
	// the body's delivery_id or, in the older body, id. Empty when none.
	ID string
	// Event is the event name in lower case: X-Webhook-Event, else the
	// older body's event.
	Event string
	// OccurredAt is when the event happened: occurred_at, else the older
	// body's timestamp (RFC 3339 or unix seconds); zero when not said.
	OccurredAt time.Time
	// Entity is the object the event is about: the body's member named for
	// the event's entity ("order" for order.*), else the older body's data;
	// nil when absent or null.
	Entity json.RawMessage
	// SideCustomer is a customer object beside another entity (checkout
	// deliveries carry the buyer so), or nil.
	SideCustomer json.RawMessage
}

// webhookEnvelope reads both body formats: the current one, with the entity
// under its own name and the event in a header, and the older one, with the
// event in the body and the entity under data.
type webhookEnvelope struct {
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

// ParseWebhook reads a delivery's headers and body, in either format. Call
// it after VerifyWebhook: it trusts what it reads. A body that is not a
// JSON object, or that names no event, fails with ErrWebhookPayload
// wrapped. The delivery shares no memory with h or body.
func ParseWebhook(h http.Header, body []byte) (*WebhookDelivery, error) {
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("%w: body is not a JSON object", ErrWebhookPayload)
	}
	var env webhookEnvelope
	if err := decodeLenient(body, &env); err != nil {
		return nil, fmt.Errorf("%w: read body: %w", ErrWebhookPayload, err)
	}
	d := &WebhookDelivery{Event: strings.ToLower(strings.TrimSpace(h.Get(HeaderWebhookEvent)))}
	if d.Event == "" {
		d.Event = strings.ToLower(strings.TrimSpace(env.Event))
	}
	if d.Event == "" {
		return nil, fmt.Errorf("%w: no event name in %s or the body", ErrWebhookPayload, HeaderWebhookEvent)
	}
	d.ID = strings.Clone(h.Get(HeaderWebhookID))
	if d.ID == "" {
		d.ID = env.DeliveryID
	}
	if d.ID == "" {
		d.ID = rawString(env.ID)
	}
	d.OccurredAt = parseTime(env.OccurredAt)
	if d.OccurredAt.IsZero() {
		d.OccurredAt = rawTime(env.Timestamp)
	}
	entity, _, _ := strings.Cut(d.Event, ".")
	switch entity {
	case "customer":
		d.Entity = env.Customer
	case "order":
		d.Entity = env.Order
	case "checkout":
		d.Entity = env.Checkout
	case "product":
		d.Entity = env.Product
	}
	if isJSONNull(d.Entity) {
		d.Entity = env.Data
	}
	if isJSONNull(d.Entity) {
		d.Entity = nil
	}
	if entity != "customer" && !isJSONNull(env.Customer) {
		d.SideCustomer = env.Customer
	}
	return d, nil
}

// entityFields reads the entity as an object, which every event's is.
func (d *WebhookDelivery) entityFields() (map[string]json.RawMessage, error) {
	if d.Entity == nil {
		return nil, fmt.Errorf("%w: %s without its object", ErrWebhookPayload, d.Event)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(d.Entity, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: %s object is not a JSON object", ErrWebhookPayload, d.Event)
	}
	return m, nil
}

// decodeLenient decodes raw into v, skipping fields of unexpected types (an
// id sent as a number) but not malformed values: deliveries of the older
// format and of other Whatalo versions type some fields otherwise.
func decodeLenient(raw json.RawMessage, v any) error {
	err := json.Unmarshal(raw, v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return nil
	}
	return err
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

// parseTime reads an RFC 3339 time, or zero.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t
}
