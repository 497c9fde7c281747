package adapter

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// The attacks of issue 14, finding 8: X-Webhook-Id is not signed, so a
// captured delivery can be sent again under a fresh id; the older scheme's
// deliveries carry no timestamp and never go stale.

// capture is one delivery as sent on the wire, to be sent again verbatim
// (body, timestamp and signature) under another id.
type capture struct {
	header http.Header
	body   []byte
}

// deliver hands c to the Backend under id and returns the error.
func (e *ixEnv) deliver(t *testing.T, c capture, id string) {
	t.Helper()
	h := c.header.Clone()
	h.Set(whatalo.HeaderWebhookID, id)
	if _, err := e.b.HandleWebhook(context.Background(), h, c.body); err != nil {
		t.Fatalf("delivery %s: %v", id, err)
	}
}

// signed is a delivery of body signed as Whatalo signs today, at at.
func signed(event string, at time.Time, body string) capture {
	return capture{header: signedHeader(event, "", at, []byte(body)), body: []byte(body)}
}

// legacy is a delivery of body signed in the older scheme: the body alone.
func legacy(event, body string) capture {
	h := http.Header{}
	h.Set(whatalo.HeaderWebhookEvent, event)
	whatalo.SignWebhookLegacy(h, ixSecret, []byte(body))
	return capture{header: h, body: []byte(body)}
}

func (e *ixEnv) cartsOfMaria(t *testing.T) int {
	t.Helper()
	return len(e.info(t, ixMariaPhone).Customers[0].AbandonedCarts)
}

func (e *ixEnv) heldName(id string) string {
	c, _ := e.b.knownCustomer(id)
	return c.Name
}

// A signed checkout.abandoned, then checkout.completed, then the first
// delivery's exact body, timestamp and signature under a new id: the
// completed cart must not come back.
func TestWebhookReplayUnderFreshIDKeepsCompletedCartGone(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	t1 := time.Now().Add(-time.Minute).Truncate(time.Second)
	abandoned := signed("checkout.abandoned", t1, `{"delivery_id":"dlv_a1","occurred_at":"`+t1.UTC().Format(time.RFC3339)+`",
		"checkout":{"id":"chk_r1","recovery_url":"https://tienda.example/r/1","items":[{"product_name":"Mochila","quantity":1,"price":45}]},
		"customer":{"phone":"`+ixMariaPhone+`"}}`)
	e.deliver(t, abandoned, "dlv_a1")
	if n := e.cartsOfMaria(t); n != 1 {
		t.Fatalf("%d carts after checkout.abandoned, want 1", n)
	}
	t2 := t1.Add(30 * time.Second)
	e.deliver(t, signed("checkout.completed", t2, `{"occurred_at":"`+t2.UTC().Format(time.RFC3339)+`",
		"checkout":{"id":"chk_r1","customer":{"phone":"`+ixMariaPhone+`"}}}`), "dlv_c1")
	if n := e.cartsOfMaria(t); n != 0 {
		t.Fatalf("%d carts after checkout.completed, want 0", n)
	}
	e.deliver(t, abandoned, "dlv_fresh_id")
	if n := e.cartsOfMaria(t); n != 0 {
		t.Errorf("the replayed abandonment under a fresh id brought %d completed carts back", n)
	}
	if n := e.obs.webhook("checkout.abandoned/duplicate"); n != 1 {
		t.Errorf("replay observed as duplicate %d times, want 1", n)
	}
	// The signature's spelling does not make it another delivery.
	respelled := capture{header: abandoned.header.Clone(), body: abandoned.body}
	respelled.header.Set(whatalo.HeaderWebhookSignature, "sha256="+respelled.header.Get(whatalo.HeaderWebhookSignature)+",00")
	e.deliver(t, respelled, "dlv_respelled")
	if n := e.cartsOfMaria(t); n != 0 {
		t.Errorf("the replay with its signature respelled brought %d carts back", n)
	}
}

// A customer event without updated_at, replayed under a new id after a
// newer one, must not bring the old name back.
func TestWebhookCustomerReplayWithoutUpdatedAt(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	t1 := time.Now().Add(-time.Minute)
	old := signed("customer.updated", t1, `{"customer":{"id":"`+ixMaria+`","name":"María Vieja"}}`)
	e.deliver(t, old, "dlv_u1")
	e.deliver(t, signed("customer.updated", t1.Add(20*time.Second), `{"customer":{"id":"`+ixMaria+`","name":"María Nueva"}}`), "dlv_u2")
	if got := e.info(t, ixMariaPhone).Customers[0].Name; got != "María Nueva" {
		t.Fatalf("after the second update the panel shows %q", got)
	}
	e.deliver(t, old, "dlv_u3")
	if got := e.info(t, ixMariaPhone).Customers[0].Name; got != "María Nueva" {
		t.Errorf("the replayed first update under a fresh id made the panel show %q", got)
	}
	if n := e.obs.webhook("customer.updated/duplicate"); n != 1 {
		t.Errorf("replay observed as duplicate %d times, want 1", n)
	}
}

// Older-scheme deliveries have no timestamp: a replay is a duplicate for a
// day by its body, and after that applies only when newer than what is held.
func TestWebhookLegacyReplay(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	t1 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	t2 := t1.Add(time.Minute)
	first := legacy("customer.updated", `{"event":"customer.updated","timestamp":"`+t1.Format(time.RFC3339)+`","data":{"id":"`+ixMaria+`","name":"María Legado"}}`)
	e.deliver(t, first, "dlv_l1")
	if got := e.heldName(ixMaria); got != "María Legado" {
		t.Fatalf("first legacy delivery not applied: %q", got)
	}
	e.deliver(t, legacy("customer.updated", `{"event":"customer.updated","timestamp":"`+t2.Format(time.RFC3339)+`","data":{"id":"`+ixMaria+`","name":"María Actual"}}`), "dlv_l2")

	e.deliver(t, first, "dlv_l1_again")
	if got := e.heldName(ixMaria); got != "María Actual" {
		t.Errorf("legacy replay within a day: held name %q, want María Actual", got)
	}
	if n := e.obs.webhook("customer.updated/duplicate"); n != 1 {
		t.Errorf("legacy replay observed as duplicate %d times, want 1", n)
	}
	// A day later the body is forgotten; its time is older than held.
	e.clock.Advance(25 * time.Hour)
	e.deliver(t, first, "dlv_l1_later")
	if got := e.heldName(ixMaria); got != "María Actual" {
		t.Errorf("legacy replay a day later: held name %q, want María Actual", got)
	}
	if n := e.obs.webhook("customer.updated/ignored"); n != 1 {
		t.Errorf("older legacy update observed as ignored %d times, want 1", n)
	}
	// Without any time the delivery cannot be shown newer: the customer is
	// read again from Whatalo instead.
	c, _ := e.fake.Customer(ixMaria)
	c.Name = "María de Whatalo"
	e.fake.UpsertCustomer(c)
	gets := e.fake.Stats().PerRoute["GET /v1/customers/{id}"]
	e.deliver(t, legacy("customer.updated", `{"event":"customer.updated","data":{"id":"`+ixMaria+`","name":"María Sin Fecha"}}`), "dlv_l3")
	if got := e.heldName(ixMaria); got == "María Sin Fecha" {
		t.Error("a legacy update telling no time overwrote the customer")
	}
	ixWait(t, "the customer read again", func() bool {
		return e.fake.Stats().PerRoute["GET /v1/customers/{id}"] > gets && e.b.refresher.idle()
	})
	if got := e.heldName(ixMaria); got != "María de Whatalo" {
		t.Errorf("after the refresh the held name is %q, want Whatalo's", got)
	}

	// A legacy abandonment replayed after its checkout completed, once the
	// day has passed: the completion still wins.
	ta := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	abandoned := legacy("checkout.abandoned", `{"event":"checkout.abandoned","timestamp":"`+ta.Format(time.RFC3339)+`","data":{"id":"chk_l1","customer":{"phone":"`+ixMariaPhone+`"}}}`)
	e.deliver(t, abandoned, "dlv_la")
	e.deliver(t, legacy("checkout.completed", `{"event":"checkout.completed","timestamp":"`+ta.Add(time.Minute).Format(time.RFC3339)+`","data":{"id":"chk_l1","customer":{"phone":"`+ixMariaPhone+`"}}}`), "dlv_lc")
	e.clock.Advance(25 * time.Hour)
	e.deliver(t, abandoned, "dlv_la_later")
	if n := e.cartsOfMaria(t); n != 0 {
		t.Errorf("a legacy abandonment replayed after its completion shows %d carts", n)
	}

	// A legacy order event replayed a day later changes nothing, and costs
	// no fetch.
	order := legacy("order.updated", `{"event":"order.updated","timestamp":"`+ta.Format(time.RFC3339)+`","data":{"id":"ord_l1","customer_id":"`+ixMaria+`"}}`)
	e.deliver(t, order, "dlv_lo")
	ixWait(t, "refresh after the order event", e.b.refresher.idle)
	e.clock.Advance(25 * time.Hour)
	e.deliver(t, order, "dlv_lo_later")
	if n := e.obs.webhook("order.updated/ignored"); n != 1 {
		t.Errorf("legacy order replay observed as ignored %d times, want 1", n)
	}
	if !e.b.refresher.idle() {
		t.Error("the replayed legacy order event queued a fetch")
	}
}

func TestVersionSet(t *testing.T) {
	s := newVersionSet(2, time.Hour)
	now := time.Now()
	t1, t2 := now.Add(-time.Hour), now.Add(-time.Minute)
	steps := []struct {
		id      string
		version time.Time
		strict  bool
		want    bool
	}{
		{"a", t2, false, true},
		{"a", t1, false, false},         // older than held
		{"a", time.Time{}, false, true}, // tells no time: applied
		{"a", t2, true, false},          // strict: not newer
		{"a", now, true, true},
		{"b", time.Time{}, true, true}, // never told of
		{"b", time.Time{}, true, false},
		{"", t1, true, true},
	}
	for i, st := range steps {
		if got := s.newer(st.id, st.version, st.strict, now); got != st.want {
			t.Errorf("step %d: newer(%q, %v, %v) = %v, want %v", i, st.id, st.version, st.strict, got, st.want)
		}
	}
	if s.newer("a", t1, true, now.Add(2*time.Hour)) != true {
		t.Error("a version held past its TTL still decides")
	}
}
