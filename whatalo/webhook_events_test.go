package whatalo_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

func TestWebhookEventLabel(t *testing.T) {
	if n := len(whatalo.WebhookEvents()); n != 11 {
		t.Errorf("%d documented events, want the 11 of protocol 1.4.0", n)
	}
	for name, want := range map[string]string{
		"customer.updated":       "customer.updated",
		" Checkout.Abandoned\t":  "checkout.abandoned",
		"order.status_changed":   whatalo.UnknownWebhookEvent,
		"app.installed":          whatalo.UnknownWebhookEvent,
		"":                       whatalo.UnknownWebhookEvent,
		"customer.updated.extra": whatalo.UnknownWebhookEvent,
	} {
		if got := whatalo.WebhookEventLabel(name); got != want {
			t.Errorf("WebhookEventLabel(%q) = %q, want %q", name, got, want)
		}
	}
	events := whatalo.WebhookEvents()
	events[0] = "changed"
	if !slices.Contains(whatalo.WebhookEvents(), whatalo.EventOrderCreated) {
		t.Error("changing the returned list changed the package's")
	}
}

func webhookHeader(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestParseWebhook(t *testing.T) {
	at := time.Date(2025, 10, 9, 8, 53, 20, 0, time.UTC)
	cases := []struct {
		name                    string
		h                       http.Header
		body                    string
		id, event, entity, side string
		at                      time.Time
	}{
		{
			name: "current",
			h:    webhookHeader(whatalo.HeaderWebhookID, "dlv_1", whatalo.HeaderWebhookEvent, "Customer.Updated"),
			body: `{"delivery_id":"dlv_body","occurred_at":"2025-10-09T08:53:20Z","event_id":"1","customer":{"id":"1"},"store":{"id":"s"}}`,
			id:   "dlv_1", event: "customer.updated", entity: `{"id":"1"}`, at: at,
		},
		{
			name: "id from the body",
			h:    webhookHeader(whatalo.HeaderWebhookEvent, "order.created"),
			body: `{"delivery_id":"dlv_body","order":{"id":"7"},"customer":{"phone":"+18095551234"}}`,
			id:   "dlv_body", event: "order.created", entity: `{"id":"7"}`, side: `{"phone":"+18095551234"}`,
		},
		{
			name: "older body",
			h:    http.Header{},
			body: `{"id":"evt_1","event":"checkout.abandoned","store":"my-store","timestamp":1760000000,"data":{"id":"c"}}`,
			id:   "evt_1", event: "checkout.abandoned", entity: `{"id":"c"}`, at: time.Unix(1_760_000_000, 0),
		},
		{
			name: "older body, numeric id and RFC 3339 timestamp",
			h:    http.Header{},
			body: `{"id":42,"event":"order.updated","timestamp":"2025-10-09T08:53:20Z","order":null,"data":{"id":"o"}}`,
			id:   "42", event: "order.updated", entity: `{"id":"o"}`, at: at,
		},
		{
			name:  "no entity",
			h:     webhookHeader(whatalo.HeaderWebhookEvent, "product.deleted"),
			body:  `{"product":null}`,
			event: "product.deleted",
		},
		{
			name:  "a customer event has no side customer",
			h:     webhookHeader(whatalo.HeaderWebhookEvent, "customer.created"),
			body:  `{"customer":{"id":"1"}}`,
			event: "customer.created", entity: `{"id":"1"}`,
		},
	}
	for _, c := range cases {
		d, err := whatalo.ParseWebhook(c.h, []byte(c.body))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if d.ID != c.id || d.Event != c.event || string(d.Entity) != c.entity || string(d.SideCustomer) != c.side || !d.OccurredAt.Equal(c.at) {
			t.Errorf("%s: got %+v (entity %s, side %s)", c.name, d, d.Entity, d.SideCustomer)
		}
		if c.entity == "" && d.Entity != nil {
			t.Errorf("%s: entity %q, want nil", c.name, d.Entity)
		}
	}
}

func TestParseWebhookRejects(t *testing.T) {
	named := webhookHeader(whatalo.HeaderWebhookEvent, "customer.updated")
	for name, c := range map[string]struct {
		h    http.Header
		body string
	}{
		"a string":  {named, `"just a string"`},
		"an array":  {named, `[1,2]`},
		"empty":     {named, ``},
		"malformed": {named, `{"customer":`},
		"no event":  {http.Header{}, `{"customer":{"id":"1"}}`},
	} {
		if d, err := whatalo.ParseWebhook(c.h, []byte(c.body)); !errors.Is(err, whatalo.ErrWebhookPayload) {
			t.Errorf("%s: %+v, %v; want ErrWebhookPayload", name, d, err)
		}
	}
}

func parsed(t *testing.T, event, body string) *whatalo.WebhookDelivery {
	t.Helper()
	d, err := whatalo.ParseWebhook(webhookHeader(whatalo.HeaderWebhookEvent, event), []byte(body))
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	return d
}

func TestWebhookReadCustomer(t *testing.T) {
	d := parsed(t, "customer.updated", `{"customer":{"id":365047281936,"name":"María Nueva","phone":12}}`)
	wc, err := d.ReadCustomer()
	if err != nil {
		t.Fatal(err)
	}
	if wc.ID != "365047281936" || wc.HasOrderTotals {
		t.Errorf("read %+v", wc)
	}
	last := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	base := whatalo.Customer{ID: "old", Name: "María", Email: "maria@example.com", Phone: "+18095551234", OrdersCount: 3, LastOrderAt: &last}
	shared := base.LastOrderAt
	c := base
	wc.ApplyTo(&c)
	if c.ID != "365047281936" || c.Name != "María Nueva" || c.Email != base.Email || c.Phone != base.Phone || c.OrdersCount != 3 {
		t.Errorf("applied: %+v", c)
	}
	if c.LastOrderAt == shared || !shared.Equal(last) {
		t.Error("applying shares LastOrderAt with the customer it was given")
	}

	full := parsed(t, "customer.created", `{"customer":{"id":"1","orders_count":0,"last_order_at":"2025-10-09T08:53:20Z"}}`)
	if wc, err := full.ReadCustomer(); err != nil || !wc.HasOrderTotals {
		t.Errorf("full customer: %+v, %v", wc, err)
	}
	ac := base
	wc, _ = full.ReadCustomer()
	wc.ApplyTo(&ac)
	if !last.Equal(*base.LastOrderAt) || ac.LastOrderAt.Equal(last) {
		t.Errorf("last_order_at written through the given customer's pointer: %v, %v", base.LastOrderAt, ac.LastOrderAt)
	}

	for name, body := range map[string]string{
		"no id":       `{"customer":{"name":"Sin ID"}}`,
		"bad total":   `{"customer":{"id":"1","total_spent":"lots"}}`,
		"no object":   `{"store":{}}`,
		"not object":  `{"customer":[1]}`,
		"null object": `{"customer":null}`,
	} {
		if wc, err := parsed(t, "customer.updated", body).ReadCustomer(); !errors.Is(err, whatalo.ErrWebhookPayload) {
			t.Errorf("%s: %+v, %v; want ErrWebhookPayload", name, wc, err)
		}
	}
}

func TestWebhookReadOrder(t *testing.T) {
	cases := []struct {
		name, body string
		want       whatalo.WebhookOrder
	}{
		{"flat", `{"order":{"id":7,"order_number":"#12","customer_id":"c1","customer_phone":"809","customer_email":"A@B.C"}}`,
			whatalo.WebhookOrder{ID: "7", Number: "12", CustomerID: "c1", Phone: "809", Email: "A@B.C"}},
		{"camelCase", `{"order":{"id":"o","order_number":12,"customerId":99}}`,
			whatalo.WebhookOrder{ID: "o", Number: "12", CustomerID: "99"}},
		{"customer object", `{"order":{"id":"o","customer":{"id":"c2","phone":"+1-809-555-0123","email":"x@y.z"}}}`,
			whatalo.WebhookOrder{ID: "o", CustomerID: "c2", Phone: "+1-809-555-0123", Email: "x@y.z"}},
		{"the order's fields first", `{"order":{"customer_id":"c1","customer_phone":"1","customer":{"id":"c2","phone":"2","email":"e"}}}`,
			whatalo.WebhookOrder{CustomerID: "c1", Phone: "1", Email: "e"}},
		{"customer beside", `{"order":{"id":"o"},"customer":{"id":"c3","phone":"3"}}`,
			whatalo.WebhookOrder{ID: "o", CustomerID: "c3", Phone: "3"}},
		{"own customer over the one beside", `{"order":{"customer":{"phone":"4"}},"customer":{"id":"c3","phone":"3"}}`,
			whatalo.WebhookOrder{Phone: "4"}},
		{"older body", `{"event":"order.created","data":{"id":7,"customer":{"phone":"809-555-1234"},"order_number":"#12"}}`,
			whatalo.WebhookOrder{ID: "7", Number: "12", Phone: "809-555-1234"}},
	}
	for _, c := range cases {
		o, err := parsed(t, "order.updated", c.body).ReadOrder()
		if err != nil || *o != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.name, o, err, c.want)
		}
	}
	if o, err := parsed(t, "order.updated", `{"order":"7"}`).ReadOrder(); !errors.Is(err, whatalo.ErrWebhookPayload) {
		t.Errorf("string order: %+v, %v; want ErrWebhookPayload", o, err)
	}
}

func TestWebhookReadCheckout(t *testing.T) {
	body := `{"checkout":{"id":"chk_1","recoveryUrl":"  https://tienda.example/r/1 ","created_at":"2025-10-09T08:53:20Z","updated_at":"soon",
		"phone":"3","customer_phone":"2","customer":{"phone":"1"},
		"items":[{"product_name":" Mochila ","variant_name":" Roja ","quantity":"2","price":45},{"productName":"Gorra"},{"name":"Camisa"},{"title":"Taza","total_price":9.5,"unit_price":1}]}}`
	co, err := parsed(t, "checkout.abandoned", body).ReadCheckout()
	if err != nil {
		t.Fatal(err)
	}
	if co.ID != "chk_1" || co.RecoveryURL != "https://tienda.example/r/1" || co.Phone != "1" ||
		!co.CreatedAt.Equal(time.Date(2025, 10, 9, 8, 53, 20, 0, time.UTC)) || !co.UpdatedAt.IsZero() {
		t.Errorf("read %+v", co)
	}
	var names []string
	for _, it := range co.Items {
		names = append(names, it.ProductName+"|"+it.VariantName)
	}
	if got, _ := json.Marshal(names); string(got) != `["Mochila|Roja","Gorra|","Camisa|","Taza|"]` {
		t.Errorf("items %s", got)
	}
	first, last := co.Items[0], co.Items[3]
	if first.Quantity == nil || first.Quantity.String() != "2" || first.Price == nil || first.Price.String() != "45" || first.TotalPrice != nil ||
		last.TotalPrice == nil || last.TotalPrice.String() != "9.5" || last.UnitPrice == nil || last.Quantity != nil {
		t.Errorf("amounts %+v, %+v", first, last)
	}

	for name, c := range map[string]struct{ body, phone string }{
		"customer_phone over phone":      {`{"checkout":{"phone":"3","customer_phone":"2"}}`, "2"},
		"phone":                          {`{"checkout":{"phone":"3"}}`, "3"},
		"customer beside":                {`{"checkout":{"phone":"3","customer":{"email":"a@b.c"}},"customer":{"phone":"4"}}`, "4"},
		"own customer over one beside":   {`{"checkout":{"customer":{"phone":"1"}},"customer":{"phone":"4"}}`, "1"},
		"beside without a phone ignored": {`{"checkout":{"phone":"3"},"customer":{"name":"x"}}`, "3"},
	} {
		co, err := parsed(t, "checkout.completed", c.body).ReadCheckout()
		if err != nil || co.Phone != c.phone {
			t.Errorf("%s: %+v, %v; want phone %q", name, co, err, c.phone)
		}
	}
	if co, err := parsed(t, "checkout.abandoned", `{"checkout":{"items":[{"price":"lots"}]}}`).ReadCheckout(); !errors.Is(err, whatalo.ErrWebhookPayload) {
		t.Errorf("bad price: %+v, %v; want ErrWebhookPayload", co, err)
	}
}
