package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// emit sends a delivery the way Whatalo signs it (the fake's Emit, as
// POST /_fake/emit does) and returns the receiver's status.
func (e *ixEnv) emit(t *testing.T, d whatalotest.Delivery) int {
	t.Helper()
	d.URL = e.hook
	if d.Secret == "" {
		d.Secret = ixSecret
	}
	status, err := e.fake.Emit(context.Background(), d)
	if err != nil {
		t.Fatalf("emit %s: %v", d.Event, err)
	}
	return status
}

func ixJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// answer is CustomerInfo's answer as JSON, for before/after comparisons.
func (e *ixEnv) answer(t *testing.T, phone string) string {
	t.Helper()
	return string(ixJSON(t, e.info(t, phone)))
}

func TestWebhookCustomerUpdateChangesNextAnswer(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	if resp := e.info(t, ixMariaPhone); !resp.Found || resp.Customers[0].Name != "María García" {
		t.Fatalf("before: %+v", resp)
	}
	// A partial payload: name and phone change, the rest stays.
	status := e.emit(t, whatalotest.Delivery{Event: "customer.updated", Data: ixJSON(t, map[string]any{
		"id": ixMaria, "name": "María G. de Peña", "phone": "+1 829 555 4444",
	})})
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	resp := e.info(t, "8295554444")
	if !resp.Found || resp.Customers[0].Name != "María G. de Peña" {
		t.Fatalf("new phone after the webhook: %+v", resp)
	}
	c := resp.Customers[0]
	if c.Email != ixMariaEmail || c.OrdersCount != 3 || len(c.Orders) != 3 {
		t.Errorf("fields the payload left out were lost: %+v", c)
	}
	if resp := e.info(t, ixMariaPhone); resp.Found {
		t.Errorf("old phone still finds %+v", resp.Customers)
	}
	if n := e.obs.webhook("customer.updated/ok"); n != 1 {
		t.Errorf("observed ok %d times", n)
	}
	// The cache was refreshed too, for lookups that do not use the index.
	if v, ok := e.b.cache.Get(cache.KindCustomer, ixMaria); !ok || v.(*whatalo.Customer).Name != "María G. de Peña" {
		t.Errorf("cached customer = %v, %v", v, ok)
	}
}

func TestWebhookCustomerUpdateWithoutIndex(t *testing.T) {
	e := newIxEnv(t, func(o *Options) { o.Index.Disabled = true })
	if resp := e.info(t, ixMariaPhone); !resp.Found { // caches the phone lookup
		t.Fatal("not found")
	}
	c, _ := e.fake.Customer(ixMaria)
	c.Name = "María Nueva"
	e.fake.UpsertCustomer(c)
	if resp := e.info(t, ixMariaPhone); resp.Customers[0].Name != "María García" {
		t.Fatalf("phone lookup not cached: %q; the test proves nothing", resp.Customers[0].Name)
	}
	if status := e.emit(t, whatalotest.Delivery{Event: "customer.updated", Legacy: true, Data: ixJSON(t, map[string]any{
		"id": ixMaria, "name": "María Nueva", "phone": ixMariaPhone,
	})}); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	// The cached lookup of her phone was dropped: search runs again.
	if resp := e.info(t, ixMariaPhone); resp.Customers[0].Name != "María Nueva" {
		t.Errorf("answer after the webhook: %q", resp.Customers[0].Name)
	}
	if v, ok := e.b.cache.Get(cache.KindCustomer, ixMaria); !ok || v.(*whatalo.Customer).Name != "María Nueva" {
		t.Errorf("cached customer = %v, %v", v, ok)
	}
}

// Without the index, a webhook that moves a customer to a new phone drops
// the cached lookup of the old one: the customer found by search is
// remembered under its id, which names the old phone.
func TestWebhookPhoneChangeWithoutIndex(t *testing.T) {
	e := newIxEnv(t, func(o *Options) { o.Index.Disabled = true })
	if resp := e.info(t, ixMariaPhone); !resp.Found { // caches the phone lookup
		t.Fatal("not found")
	}
	c, _ := e.fake.Customer(ixMaria)
	c.Phone = "+18295554444"
	e.fake.UpsertCustomer(c)
	// The payload names the new phone only.
	if status := e.emit(t, whatalotest.Delivery{Event: "customer.updated", Data: ixJSON(t, map[string]any{
		"id": ixMaria, "phone": "+1 829 555 4444",
	})}); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if resp := e.info(t, ixMariaPhone); resp.Found {
		t.Errorf("old phone still finds %+v", resp.Customers)
	}
	resp := e.info(t, "8295554444")
	if !resp.Found || resp.Customers[0].Email != ixMariaEmail {
		t.Fatalf("new phone after the webhook: %+v", resp)
	}

	// A deleted customer leaves the lookups of her phone and email too.
	if got, _ := e.b.customersByEmail(context.Background(), ixMariaEmail); len(got) != 1 {
		t.Fatalf("email lookup before the deletion: %v", names(got))
	}
	e.fake.DeleteCustomer(ixMaria)
	e.b.removeCustomer(ixMaria)
	if resp := e.info(t, "8295554444"); resp.Found {
		t.Errorf("deleted customer still found by phone: %+v", resp.Customers)
	}
	if got, _ := e.b.customersByEmail(context.Background(), ixMariaEmail); len(got) != 0 {
		t.Errorf("deleted customer still found by email: %v", names(got))
	}
}

func TestWebhookRejectionsChangeNothing(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	update := ixJSON(t, map[string]any{"id": ixMaria, "name": "Intruso", "phone": "+18095550001"})
	before := e.answer(t, ixMariaPhone)
	indexBefore := e.b.IndexStatus()

	cases := []struct {
		name   string
		d      whatalotest.Delivery
		status int
		result string
	}{
		{"bad signature", whatalotest.Delivery{Event: "customer.updated", Data: update, Secret: "whsec_wrong"}, 401, "bad_signature"},
		{"bad legacy signature", whatalotest.Delivery{Event: "customer.updated", Data: update, Secret: "whsec_wrong", Legacy: true}, 401, "bad_signature"},
		{"stale timestamp", whatalotest.Delivery{Event: "customer.updated", Data: update, Timestamp: time.Now().Add(-301 * time.Second).Unix()}, 401, "stale_timestamp"},
		{"future timestamp", whatalotest.Delivery{Event: "customer.updated", Data: update, Timestamp: time.Now().Add(10 * time.Minute).Unix()}, 401, "stale_timestamp"},
		{"not JSON", whatalotest.Delivery{Event: "customer.updated", Body: json.RawMessage(`"just a string"`)}, 400, "bad_payload"},
		{"no customer id", whatalotest.Delivery{Event: "customer.updated", Data: ixJSON(t, map[string]any{"name": "Sin ID"})}, 400, "bad_payload"},
		{"bad total", whatalotest.Delivery{Event: "customer.updated", Data: json.RawMessage(`{"id":"` + ixMaria + `","name":"X","total_spent":"lots"}`)}, 400, "bad_payload"},
	}
	for _, c := range cases {
		if status := e.emit(t, c.d); status != c.status {
			t.Errorf("%s: status %d, want %d", c.name, status, c.status)
		}
		if n := e.obs.webhook("customer.updated/" + c.result); n == 0 {
			t.Errorf("%s: result %s not observed", c.name, c.result)
		}
	}
	if after := e.answer(t, ixMariaPhone); after != before {
		t.Errorf("answer changed:\nbefore %s\nafter  %s", before, after)
	}
	if got := e.b.IndexStatus(); got.Customers != indexBefore.Customers || got.Keys != indexBefore.Keys {
		t.Errorf("index changed: %+v -> %+v", indexBefore, got)
	}
	if got := e.info(t, "+18095550001"); got.Found {
		t.Errorf("rejected phone found: %+v", got.Customers)
	}
	if n := e.b.webhooks.len(); n != 0 {
		t.Errorf("%d delivery ids recorded from rejected deliveries", n)
	}
}

func TestWebhookReplayChangesNothing(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	first := whatalotest.Delivery{ID: "dlv_replayed", Event: "customer.updated", Data: ixJSON(t, map[string]any{"id": ixMaria, "name": "María Primera"})}
	if status := e.emit(t, first); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	before := e.answer(t, ixMariaPhone)
	if !strings.Contains(before, "María Primera") {
		t.Fatalf("first delivery not applied: %s", before)
	}
	// The same delivery id again, freshly signed, with other content: a
	// replay, or Whatalo's retry of a delivery already applied.
	replay := first
	replay.Data = ixJSON(t, map[string]any{"id": ixMaria, "name": "María Segunda"})
	if status := e.emit(t, replay); status != http.StatusOK {
		t.Errorf("replay status %d, want 200 (so Whatalo stops retrying)", status)
	}
	if after := e.answer(t, ixMariaPhone); after != before {
		t.Errorf("replay changed the answer:\nbefore %s\nafter  %s", before, after)
	}
	if n := e.obs.webhook("customer.updated/duplicate"); n != 1 {
		t.Errorf("duplicate observed %d times", n)
	}
}

func TestWebhookLegacySignatureAccepted(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	status := e.emit(t, whatalotest.Delivery{Event: "customer.updated", Legacy: true, Data: ixJSON(t, map[string]any{
		"id": ixMaria, "name": "María Legacy",
	})})
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if resp := e.info(t, ixMariaPhone); resp.Customers[0].Name != "María Legacy" {
		t.Errorf("legacy delivery not applied: %+v", resp.Customers[0])
	}
}

func TestWebhookCustomerCreatedIsFound(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	if resp := e.info(t, "+573005550123"); resp.Found {
		t.Fatal("found before creation")
	}
	status := e.emit(t, whatalotest.Delivery{Event: "customer.created", Data: ixJSON(t, map[string]any{
		"id": 123456789, "name": "Camila Ortiz", "phone": "+57 300 555 0123", "email": "camila@example.com",
		"orders_count": 0, "created_at": time.Now().UTC().Format(time.RFC3339),
	})})
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	resp := e.info(t, "+573005550123")
	if !resp.Found || resp.Customers[0].Name != "Camila Ortiz" {
		t.Fatalf("created customer not found: %+v", resp)
	}
	got, _ := e.b.customersByEmail(context.Background(), "camila@example.com")
	if len(got) != 1 || got[0].ID != "123456789" {
		t.Errorf("by email = %+v (a numeric id is kept as its digits)", got)
	}
}

func TestWebhookOlderCustomerUpdateDoesNotWin(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	old := time.Now().Add(-10 * 24 * time.Hour).UTC().Format(time.RFC3339) // the demo's is now-2d
	e.emit(t, whatalotest.Delivery{Event: "customer.updated", Data: ixJSON(t, map[string]any{
		"id": ixMaria, "name": "María Vieja", "updated_at": old,
	})})
	if resp := e.info(t, ixMariaPhone); resp.Customers[0].Name != "María García" {
		t.Errorf("an update older than the index's replaced it: %q", resp.Customers[0].Name)
	}
}

func TestWebhookAbandonedCheckout(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	created := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	checkout := map[string]any{
		"id":           "chk_1",
		"recovery_url": "https://tienda-demo.whatalo.com/checkout/recover/abc123",
		"created_at":   created.Format(time.RFC3339),
		"items": []map[string]any{
			{"product_name": "Camiseta", "variant_name": "Rojo / M", "quantity": 2, "total_price": 1500},
			{"name": "Gorra", "quantity": 3, "unit_price": 250.5},
			{"title": "Calcetines", "price": "99.90"},
		},
		"customer": map[string]any{"name": "María García", "phone": "809-555-1234"},
	}
	if status := e.emit(t, whatalotest.Delivery{Event: "checkout.abandoned", Data: ixJSON(t, checkout)}); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	resp := e.info(t, ixMariaPhone)
	carts := resp.Customers[0].AbandonedCarts
	if len(carts) != 1 {
		t.Fatalf("abandonedCarts = %+v", carts)
	}
	c := carts[0]
	if c.URL != checkout["recovery_url"] || c.Date != created.Format(time.RFC3339) {
		t.Errorf("cart = %+v", c)
	}
	want := `[{Camiseta - Rojo / M 2 1500} {Gorra 3 751.5} {Calcetines 1 99.9}]`
	if got := fmt.Sprint(c.Items); got != want {
		t.Errorf("items = %s, want %s", got, want)
	}
	// Another customer's panel does not show it.
	if resp := e.info(t, "+573001234567"); len(resp.Customers[0].AbandonedCarts) != 0 {
		t.Errorf("cart shown to another customer: %+v", resp.Customers[0].AbandonedCarts)
	}
	// Completing the checkout clears it.
	if status := e.emit(t, whatalotest.Delivery{Event: "checkout.completed", Data: ixJSON(t, map[string]any{
		"id": "chk_1", "customer": map[string]any{"phone": "+18095551234"},
	})}); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if carts := e.info(t, ixMariaPhone).Customers[0].AbandonedCarts; len(carts) != 0 {
		t.Errorf("carts after checkout.completed = %+v", carts)
	}
}

func TestWebhookAbandonedCheckoutBounds(t *testing.T) {
	e := newIxEnv(t, nil)
	items := make([]map[string]any, 50)
	for i := range items {
		items[i] = map[string]any{"product_name": strings.Repeat("x", 500), "quantity": 1, "total_price": 1}
	}
	for i, at := range []time.Duration{-1 * time.Hour, -2 * time.Hour, -3 * time.Hour, -4 * time.Hour, -40 * 24 * time.Hour} {
		e.emit(t, whatalotest.Delivery{Event: "checkout.abandoned", Data: ixJSON(t, map[string]any{
			"id": "chk_" + strconv.Itoa(i), "recovery_url": "javascript:alert(1)",
			"created_at": time.Now().Add(at).UTC().Format(time.RFC3339), "items": items,
			"customer": map[string]any{"phone": ixMariaPhone},
		})})
	}
	carts := e.info(t, ixMariaPhone).Customers[0].AbandonedCarts
	if len(carts) != maxCartsPerPhone {
		t.Fatalf("%d carts kept, want %d", len(carts), maxCartsPerPhone)
	}
	for _, c := range carts {
		if len(c.Items) != maxCartItems || len([]rune(c.Items[0].Title)) != maxCartText || c.URL != "" {
			t.Errorf("cart not bounded: %d items, title of %d, url %q", len(c.Items), len([]rune(c.Items[0].Title)), c.URL)
		}
	}
	// A checkout without a usable phone is accepted and ignored.
	if status := e.emit(t, whatalotest.Delivery{Event: "checkout.abandoned", Data: ixJSON(t, map[string]any{"id": "chk_x", "customer": map[string]any{"email": "a@b.c"}})}); status != http.StatusOK {
		t.Errorf("status %d", status)
	}
	if n := e.obs.webhook("checkout.abandoned/ignored"); n != 1 {
		t.Errorf("ignored observed %d times", n)
	}
}

func TestWebhookOrderInvalidatesOrders(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	before := e.info(t, ixMariaPhone).Customers[0]
	o := e.fake.AddOrder(whatalo.Order{CustomerID: ixMaria, Items: []whatalo.LineItem{
		{ProductName: "Pedido Nuevo", Quantity: 1, UnitPrice: whatalo.NewMoney("10")},
	}})
	if cached := e.info(t, ixMariaPhone).Customers[0]; len(cached.Orders) != len(before.Orders) {
		t.Fatalf("orders not cached (%d -> %d): the test proves nothing", len(before.Orders), len(cached.Orders))
	}
	if status := e.emit(t, whatalotest.Delivery{Event: "order.updated", Data: ixJSON(t, map[string]any{
		"id": o.ID, "order_number": o.OrderNumber, "customer_id": ixMaria, "status": "confirmed",
	})}); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	after := e.info(t, ixMariaPhone).Customers[0]
	if len(after.Orders) != len(before.Orders)+1 || after.Orders[0].Name != "#"+strconv.Itoa(o.OrderNumber) {
		t.Fatalf("orders after order.updated: %d, first %q", len(after.Orders), after.Orders[0].Name)
	}
	// The customer's totals are refreshed in the background.
	ixWait(t, "refreshed orders_count", func() bool {
		cs, _ := e.b.customersByPhones(context.Background(), []string{ixMariaPhone})
		return len(cs) == 1 && cs[0].OrdersCount == before.OrdersCount+1
	})
}

func TestWebhookFirstOrderOfCustomerShows(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	// A new customer without orders: the panel does not look for any.
	c := e.fake.UpsertCustomer(whatalo.Customer{Name: "Valeria Soto", Phone: "+18095553333"})
	id := c.ID
	e.emit(t, whatalotest.Delivery{Event: "customer.created", Data: ixJSON(t, c)})
	if c := e.info(t, "+18095553333").Customers[0]; c.Name != "Valeria Soto" || len(c.Orders) != 0 {
		t.Fatalf("before: %+v", c)
	}
	e.fake.SetFaults(whatalotest.Faults{Hang: true, Routes: []string{"GET /v1/customers/{id}"}}) // no refreshed totals
	o := e.fake.AddOrder(whatalo.Order{CustomerID: id, Items: []whatalo.LineItem{{ProductName: "Primera", Quantity: 1, UnitPrice: whatalo.NewMoney("5")}}})
	e.emit(t, whatalotest.Delivery{Event: "order.created", Data: ixJSON(t, map[string]any{"id": o.ID, "customer_id": id})})
	if c := e.info(t, "+18095553333").Customers[0]; len(c.Orders) != 1 {
		t.Errorf("first order not shown: %+v", c.Orders)
	}
}

func TestWebhookDoesNotWaitForUpstream(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	e.fake.SetFaults(whatalotest.Faults{Hang: true})
	body := []byte(`{"delivery_id":"dlv_hang","order":{"id":"1","customer_id":"` + ixMaria + `"}}`)
	h := signedHeader("order.updated", "dlv_hang", time.Now(), body)
	done := make(chan error, 1)
	go func() {
		_, err := e.b.HandleWebhook(context.Background(), h, body)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("HandleWebhook blocked on a hung upstream")
	}
	if e.b.refresher.idle() {
		t.Error("no background refresh of the customer was started")
	}
}

func TestWebhookUnknownAndProductEventsIgnored(t *testing.T) {
	e := newIxEnv(t, nil)
	for _, ev := range []string{"product.updated", "app.installed"} {
		if status := e.emit(t, whatalotest.Delivery{Event: ev, Data: ixJSON(t, map[string]any{"id": "1"})}); status != http.StatusOK {
			t.Errorf("%s: status %d", ev, status)
		}
	}
	if e.obs.webhook("product.updated/ignored") != 1 || e.obs.webhook("unknown/ignored") != 1 {
		t.Errorf("observed %v", e.obs.webhooks)
	}
}

func TestWebhookNoSecretRefusesAll(t *testing.T) {
	e := newIxEnv(t, func(o *Options) { o.WebhookSecret = "" })
	if status := e.emit(t, whatalotest.Delivery{Event: "customer.updated", Secret: "anything", Data: ixJSON(t, map[string]any{"id": ixMaria})}); status != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", status)
	}
}

func TestWebhookBodyTooLarge(t *testing.T) {
	e := newIxEnv(t, nil)
	body := []byte(`{"customer":{"id":"1","notes":"` + strings.Repeat("a", whatalo.MaxWebhookBody) + `"}}`)
	h := signedHeader("customer.updated", "dlv_big", time.Now(), body)
	if _, err := e.b.HandleWebhook(context.Background(), h, body); !errors.Is(err, whatalo.ErrWebhookPayload) {
		t.Errorf("err = %v, want ErrWebhookPayload", err)
	}
}

// signedHeader is the header of a delivery of body, signed with ixSecret
// as Whatalo signs it; an empty id sends none.
func signedHeader(event, id string, at time.Time, body []byte) http.Header {
	h := http.Header{}
	h.Set(whatalo.HeaderWebhookEvent, event)
	if id != "" {
		h.Set(whatalo.HeaderWebhookID, id)
	}
	whatalo.SignWebhook(h, ixSecret, body, at)
	return h
}

func TestDeliverySetBounded(t *testing.T) {
	s := newDeliverySet(3, time.Hour)
	now := time.Now()
	for _, id := range []string{"a", "b", "c"} {
		if !s.add(id, now) {
			t.Fatalf("%s not new", id)
		}
	}
	if s.add("a", now) {
		t.Error("a accepted twice")
	}
	s.add("d", now) // evicts a, the oldest
	if s.len() != 3 {
		t.Errorf("holds %d ids, want 3", s.len())
	}
	if !s.add("a", now) {
		t.Error("evicted id still refused")
	}
	if s.add("d", now.Add(59*time.Minute)) {
		t.Error("d accepted again within its TTL")
	}
	if !s.add("d", now.Add(61*time.Minute)) {
		t.Error("d refused after its TTL")
	}
}

func TestRefresherCloseWaitsForFetches(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var finished atomic.Int32
	started := make(chan string, 3)
	r := newCustomerRefresher(context.Background(), 2, 10, func(ctx context.Context, id string) {
		started <- id
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // a fetch winding down: close waits it out
		finished.Add(1)
	})
	for _, id := range []string{"a", "b", "c"} {
		r.add(id)
	}
	<-started
	<-started
	r.close()
	if n := finished.Load(); n != 2 {
		t.Errorf("close returned with %d of 2 fetches finished", n)
	}
	r.add("d")
	if !r.idle() || len(started) != 0 {
		t.Errorf("fetches after close: idle %v, started %d", r.idle(), len(started))
	}
}

func TestWebhookCheckoutCustomerBesideCheckout(t *testing.T) {
	e := newIxEnv(t, nil)
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	body := fmt.Sprintf(`{"delivery_id":"dlv_side","occurred_at":%q,"event_id":"chk_2",
		"checkout":{"id":"chk_2","recovery_url":"https://tienda.example/r/2","items":[{"product_name":"Mochila","quantity":1,"price":45}]},
		"customer":{"name":"Juan Pérez","phone":"+57 300 123 4567"},"store":{"id":"str_demo01"}}`, at.Format(time.RFC3339))
	if status := e.emit(t, whatalotest.Delivery{Event: "checkout.abandoned", Body: json.RawMessage(body)}); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	carts := e.info(t, "+573001234567").Customers[0].AbandonedCarts
	if len(carts) != 1 || carts[0].Date != at.Format(time.RFC3339) || carts[0].URL != "https://tienda.example/r/2" ||
		fmt.Sprint(carts[0].Items) != "[{Mochila 1 45}]" {
		t.Errorf("carts = %+v", carts)
	}
	// An array is not a delivery.
	if status := e.emit(t, whatalotest.Delivery{Event: "checkout.abandoned", Body: json.RawMessage(`[1,2]`)}); status != http.StatusBadRequest {
		t.Errorf("array body: status %d, want 400", status)
	}
}

// FuzzWebhookPayload feeds signed bodies of any shape to HandleWebhook: it
// must never panic, and must answer nil or whatalo.ErrWebhookPayload.
func FuzzWebhookPayload(f *testing.F) {
	f.Add("customer.updated", []byte(`{"customer":{"id":"1","name":"A","phone":"+18095551234","total_spent":"12.5"}}`))
	f.Add("order.created", []byte(`{"event":"order.created","data":{"id":7,"customer":{"phone":"809-555-1234"},"order_number":"#12"}}`))
	f.Add("checkout.abandoned", []byte(`{"checkout":{"id":"c","items":[{"quantity":"2","unit_price":1e3}]},"customer":{"phone":"+5215512345678"}}`))
	f.Add("", []byte(`{"event":"checkout.completed","timestamp":1760000000,"data":{"customer_phone":"+34612345678"}}`))
	client, err := whatalo.NewClient("wk_test_fuzz", whatalo.WithBaseURL("http://127.0.0.1:1/v1"), whatalo.WithRetryMax(0))
	if err != nil {
		f.Fatal(err)
	}
	b := New(client, Options{Name: "fuzz", Region: "DO", WebhookSecret: ixSecret})
	defer b.Close()
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		h := signedHeader(event, "", time.Now(), body)
		_, err := b.HandleWebhook(context.Background(), h, body)
		if err != nil && !errors.Is(err, whatalo.ErrWebhookPayload) {
			t.Fatalf("signed delivery: %v", err)
		}
	})
}

func TestWebhookEventsActedOn(t *testing.T) {
	acted := WebhookEvents()
	if len(acted) != 8 || slices.ContainsFunc(acted, func(e string) bool { return strings.HasPrefix(e, "product.") }) {
		t.Errorf("WebhookEvents() = %v, want the customer, order and checkout events", acted)
	}
}
