package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/redisshare/redistest"
	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// Issue 14, finding 11: abandoned carts exist only from webhooks, and so
// does the memory of deliveries seen; with Redis, a process started after
// them (a restart, or a replica started later) must see both.
func TestRedisKeepsWebhookStateThroughARestart(t *testing.T) {
	srv := redistest.Start(t)
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
	env := map[string]string{"REDIS_URL": srv.URL}
	before := startService(t, fake, env, nil)
	hookPath := "/webhooks/whatalo/" + config.DefaultStoreName

	carts := func(ts *testService) int {
		t.Helper()
		_, body := ts.get(t, wazionPath(wazion.EndpointCustomerInfo, "phone", demoPhone))
		var resp struct {
			Customers []struct {
				AbandonedCarts []json.RawMessage `json:"abandonedCarts"`
			} `json:"customers"`
		}
		if err := json.Unmarshal([]byte(body), &resp); err != nil || len(resp.Customers) == 0 {
			t.Fatalf("customer info: %s", body)
		}
		return len(resp.Customers[0].AbandonedCarts)
	}
	webhooks := func(ts *testService, result string) float64 {
		return ts.scrape(t).sum("whatalo_wazion_webhooks_total", "result", result)
	}

	// A checkout abandoned, and a customer update, while the first process runs.
	at := time.Now().UTC().Truncate(time.Second)
	body := []byte(`{"delivery_id":"dlv_restart_cart","occurred_at":"` + at.Format(time.RFC3339) + `",
		"checkout":{"id":"chk_restart","recovery_url":"https://tienda.example/r/9","items":[{"product_name":"Mochila","quantity":1,"price":45}]},
		"customer":{"phone":"` + demoPhone + `"}}`)
	h := http.Header{}
	whatalo.SignWebhook(h, testWebhookSecret, body, at)
	send := func(ts *testService) int {
		t.Helper()
		status, resp := doRequest(t, http.MethodPost, ts.URL+hookPath, "application/json", body,
			whatalo.HeaderWebhookID, "dlv_restart_cart", whatalo.HeaderWebhookEvent, "checkout.abandoned",
			whatalo.HeaderWebhookTimestamp, h.Get(whatalo.HeaderWebhookTimestamp),
			whatalo.HeaderWebhookSignature, h.Get(whatalo.HeaderWebhookSignature))
		if status != http.StatusOK {
			t.Fatalf("checkout.abandoned: %d %s", status, resp)
		}
		return status
	}
	send(before)
	if n := carts(before); n != 1 {
		t.Fatalf("the process that got the webhook shows %d carts, want 1", n)
	}
	update := func(ts *testService, name string) {
		t.Helper()
		status, err := fake.Emit(context.Background(), whatalotest.Delivery{
			URL: ts.URL + hookPath, Secret: testWebhookSecret, Event: "customer.updated", ID: "dlv_restart_update",
			Data: json.RawMessage(`{"id":"` + demoCustomerID + `","name":"` + name + `"}`),
		})
		if err != nil || status != http.StatusOK {
			t.Fatalf("customer.updated: %d %v", status, err)
		}
	}
	update(before, "María Una Vez")

	// A process started afterwards knows nothing but what Redis kept.
	after := startService(t, fake, env, nil)
	if n := carts(after); n != 1 {
		t.Errorf("a process started after the webhook shows %d abandoned carts, want 1", n)
	}
	// Whatalo redelivers both: the same ids, freshly signed, and the same
	// bytes again.
	update(after, "María Dos Veces")
	send(after)
	if got := webhooks(after, "duplicate"); got != 2 {
		t.Errorf("the later process counted %v duplicates of the redelivered events, want 2", got)
	}
	if got := webhooks(after, "ok"); got != 0 {
		t.Errorf("the later process applied %v redelivered events, want none", got)
	}
	if n := carts(after); n != 1 {
		t.Errorf("after the redelivery the later process shows %d carts, want 1", n)
	}
}
