package whatalo

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The payloads of the deliveries, read from WebhookDelivery.Entity. Whatalo's
// current body uses snake_case fields, the plugin SDK's older one camelCase;
// both are read, and the Read methods pick whichever a delivery carries.

// WebhookCustomer is the customer of a customer.created or customer.updated
// delivery: the whole customer, or only some of its fields.
type WebhookCustomer struct {
	// ID is the customer's id, sent as a string or a number.
	ID string
	// HasOrderTotals reports whether the payload carries orders_count, and
	// so whether it tells the customer's order totals.
	HasOrderTotals bool
	// UpdatedAt is the payload's updated_at: which version of the customer
	// it carries. Zero when absent or not RFC 3339.
	UpdatedAt time.Time

	raw json.RawMessage
}

// ReadCustomer reads a customer event's customer. It fails with
// ErrWebhookPayload wrapped when the entity is not an object with an id, or
// a field it carries is malformed.
func (d *WebhookDelivery) ReadCustomer() (*WebhookCustomer, error) {
	fields, err := d.entityFields()
	if err != nil {
		return nil, err
	}
	id := rawString(fields["id"])
	if id == "" {
		return nil, fmt.Errorf("%w: %s without a customer id", ErrWebhookPayload, d.Event)
	}
	var probe Customer
	if err := decodeLenient(d.Entity, &probe); err != nil {
		return nil, fmt.Errorf("%w: read customer: %w", ErrWebhookPayload, err)
	}
	_, totals := fields["orders_count"]
	return &WebhookCustomer{ID: id, HasOrderTotals: totals, UpdatedAt: probe.UpdatedAt, raw: d.Entity}, nil
}

// ApplyTo writes the fields the payload carries over c, so that a partial
// payload leaves the others as they were, and sets c.ID.
func (w *WebhookCustomer) ApplyTo(c *Customer) {
	if c.LastOrderAt != nil {
		t := *c.LastOrderAt
		c.LastOrderAt = &t // decoding writes through the pointer, which c may share
	}
	_ = decodeLenient(w.raw, c) // validated by ReadCustomer
	c.ID = w.ID
}

// WebhookOrder is what an order delivery says about the order and its
// buyer. Any field may be empty.
type WebhookOrder struct {
	ID         string
	Number     string // the order number without "#"
	CustomerID string
	Phone      string
	Email      string
	// UpdatedAt is the order's updated_at, zero when absent or not RFC
	// 3339.
	UpdatedAt time.Time
}

// webhookOrderWire is an order object as deliveries send it.
type webhookOrderWire struct {
	Number      json.RawMessage      `json:"order_number"`
	CustomerID  json.RawMessage      `json:"customer_id"`
	CustomerIDc json.RawMessage      `json:"customerId"`
	Phone       string               `json:"customer_phone"`
	Email       string               `json:"customer_email"`
	UpdatedAt   string               `json:"updated_at"`
	Customer    *webhookCustomerWire `json:"customer"`
}

// webhookCustomerWire is the customer an order or checkout names.
type webhookCustomerWire struct {
	ID    json.RawMessage `json:"id"`
	Phone string          `json:"phone"`
	Email string          `json:"email"`
}

// sideCustomer reads the customer beside the entity, or nil.
func (d *WebhookDelivery) sideCustomer() *webhookCustomerWire {
	if d.SideCustomer == nil {
		return nil
	}
	var c webhookCustomerWire
	if decodeLenient(d.SideCustomer, &c) != nil {
		return nil
	}
	return &c
}

// ReadOrder reads an order event's order. The buyer is the order's
// customer_id, customer_phone and customer_email, else its customer object,
// else the customer beside the order. It fails with ErrWebhookPayload
// wrapped when the entity is not an object or is malformed.
func (d *WebhookDelivery) ReadOrder() (*WebhookOrder, error) {
	fields, err := d.entityFields()
	if err != nil {
		return nil, err
	}
	var w webhookOrderWire
	if err := decodeLenient(d.Entity, &w); err != nil {
		return nil, fmt.Errorf("%w: read order: %w", ErrWebhookPayload, err)
	}
	if w.Customer == nil {
		w.Customer = d.sideCustomer()
	}
	o := &WebhookOrder{
		ID:         rawString(fields["id"]),
		Number:     strings.TrimPrefix(rawString(w.Number), "#"),
		CustomerID: firstNonEmpty(rawString(w.CustomerID), rawString(w.CustomerIDc)),
		Phone:      w.Phone,
		Email:      w.Email,
		UpdatedAt:  parseTime(w.UpdatedAt),
	}
	if c := w.Customer; c != nil {
		if o.CustomerID == "" {
			o.CustomerID = rawString(c.ID)
		}
		if o.Phone == "" {
			o.Phone = c.Phone
		}
		if o.Email == "" {
			o.Email = c.Email
		}
	}
	return o, nil
}

// WebhookCheckout is a checkout.abandoned or checkout.completed checkout.
type WebhookCheckout struct {
	ID string
	// RecoveryURL is the link that resumes the checkout, as sent: the
	// receiver decides whether it is one to show.
	RecoveryURL string
	// CreatedAt and UpdatedAt are zero when absent or not RFC 3339.
	CreatedAt time.Time
	UpdatedAt time.Time
	// Phone is the buyer's: the checkout's customer's, else its
	// customer_phone or phone, else that of the customer beside it.
	Phone string
	Items []WebhookCheckoutItem
}

// WebhookCheckoutItem is one line of a checkout. The amounts are nil when
// not sent.
type WebhookCheckoutItem struct {
	ProductName string // product_name, productName, name or title: the first given
	VariantName string
	Quantity    *Money
	TotalPrice  *Money // the line's amount
	Price       *Money // the unit price, under either of two names
	UnitPrice   *Money
}

// webhookCheckoutWire is a checkout object as deliveries send it.
type webhookCheckoutWire struct {
	ID            json.RawMessage           `json:"id"`
	RecoveryURL   string                    `json:"recovery_url"`
	RecoveryURLc  string                    `json:"recoveryUrl"`
	CreatedAt     string                    `json:"created_at"`
	UpdatedAt     string                    `json:"updated_at"`
	Phone         string                    `json:"phone"`
	CustomerPhone string                    `json:"customer_phone"`
	Items         []webhookCheckoutItemWire `json:"items"`
	Customer      *webhookCustomerWire      `json:"customer"`
}

type webhookCheckoutItemWire struct {
	ProductName  string `json:"product_name"`
	ProductNameC string `json:"productName"`
	Name         string `json:"name"`
	Title        string `json:"title"`
	VariantName  string `json:"variant_name"`
	Quantity     *Money `json:"quantity"`
	TotalPrice   *Money `json:"total_price"`
	Price        *Money `json:"price"`
	UnitPrice    *Money `json:"unit_price"`
}

// ReadCheckout reads a checkout event's checkout. It fails with
// ErrWebhookPayload wrapped when the entity is not an object or is
// malformed.
func (d *WebhookDelivery) ReadCheckout() (*WebhookCheckout, error) {
	if _, err := d.entityFields(); err != nil {
		return nil, err
	}
	var w webhookCheckoutWire
	if err := decodeLenient(d.Entity, &w); err != nil {
		return nil, fmt.Errorf("%w: read checkout: %w", ErrWebhookPayload, err)
	}
	if w.Customer == nil || w.Customer.Phone == "" {
		if c := d.sideCustomer(); c != nil && c.Phone != "" {
			w.Customer = c
		}
	}
	co := &WebhookCheckout{
		ID:          rawString(w.ID),
		RecoveryURL: firstNonEmpty(w.RecoveryURL, w.RecoveryURLc),
		CreatedAt:   parseTime(w.CreatedAt),
		UpdatedAt:   parseTime(w.UpdatedAt),
		Phone:       w.Phone,
	}
	switch {
	case w.Customer != nil && w.Customer.Phone != "":
		co.Phone = w.Customer.Phone
	case w.CustomerPhone != "":
		co.Phone = w.CustomerPhone
	}
	if len(w.Items) > 0 {
		co.Items = make([]WebhookCheckoutItem, len(w.Items))
	}
	for i, it := range w.Items {
		co.Items[i] = WebhookCheckoutItem{
			ProductName: firstNonEmpty(it.ProductName, it.ProductNameC, it.Name, it.Title),
			VariantName: strings.TrimSpace(it.VariantName),
			Quantity:    it.Quantity,
			TotalPrice:  it.TotalPrice,
			Price:       it.Price,
			UnitPrice:   it.UnitPrice,
		}
	}
	return co, nil
}

// firstNonEmpty is the first of ss that is not blank, trimmed.
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
