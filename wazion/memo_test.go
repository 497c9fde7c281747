package wazion_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// A request repeated with the same query string is answered as the first
// was, whatever else in it could pick another store or change the answer.
func TestRepeatedQueryIsReadAsTheFirst(t *testing.T) {
	related := []string{"+18095550001", "+18095550002"}
	a := &fakeBackend{name: "A"}
	// A Backend that writes into its Request must not change the next
	// request's.
	a.customerInfo = func(_ context.Context, req wazion.Request) (*wazion.CustomerInfoResponse, error) {
		if len(req.RelatedPhones) > 0 {
			if !slices.Equal(req.RelatedPhones, related) {
				t.Errorf("related phones %q, want %q", req.RelatedPhones, related)
			}
			req.RelatedPhones[0] = "+10000000000"
		}
		return &wazion.CustomerInfoResponse{Found: true, Customers: []wazion.Customer{{Name: "A", Phone: req.Phone}}}, nil
	}
	b := &fakeBackend{name: "B"}
	var logs logBuffer
	app := newApp(t, wazion.Options{Logger: newLogger(&logs)},
		wazion.Tenant{Name: "A", Tokens: []string{tokenA}, Backend: a},
		wazion.Tenant{Name: "B", Tokens: []string{tokenB}, Backend: b})
	name := func(ans answer) string {
		t.Helper()
		cs := ans.list("customers")
		if len(cs) != 1 {
			t.Fatalf("answer %s: want one customer", ans.raw)
		}
		n, _ := cs[0].(map[string]any)["name"].(string)
		return n
	}

	q := path(wazion.EndpointCustomerInfo) + "?token=" + tokenA + "&phone=%2B18095551234&relatedphones=%2B18095550001,%2B18095550002"
	for i := range 3 {
		if got := name(do(t, app, get(q))); got != "A" {
			t.Fatalf("request %d: answered by %q, want A", i, got)
		}
	}
	if a.calls() != 3 {
		t.Fatalf("backend A called %d times, want 3 (no answers kept)", a.calls())
	}
	for i, l := range logs.lines(t) {
		if l["store"] != "A" || l["phone"] != wazion.MaskPhone("+18095551234") || l["outcome"] != wazion.OutcomeFound {
			t.Errorf("log line %d: %v", i, l)
		}
	}

	// A body's token is read first: the same query with one is another
	// request.
	if got := name(do(t, app, postJSON(q, `{"token":"`+tokenB+`"}`))); got != "B" {
		t.Errorf("body token B with query token A: answered by %q, want B", got)
	}
	// A token in a header is not the query's: the same query string with
	// another header token is another store.
	h := path(wazion.EndpointCustomerInfo) + "?phone=%2B18095551234"
	for _, tc := range []struct{ token, want string }{{tokenA, "A"}, {tokenB, "B"}, {tokenA, "A"}} {
		req := get(h)
		req.Header.Set(wazion.HeaderToken, tc.token)
		if got := name(do(t, app, req)); got != tc.want {
			t.Errorf("header token %s: answered by %q, want %s", tc.token[:7], got, tc.want)
		}
	}
	// Nor is a query token that selects no store: refused alone, it
	// still lets a header token through.
	bad := path(wazion.EndpointCustomerInfo) + "?token=nope&phone=%2B18095551234"
	for range 2 {
		if ans := do(t, app, get(bad)); ans.str("error") == "" {
			t.Errorf("bad query token alone: %s, want an error", ans.raw)
		}
	}
	for _, tc := range []struct{ token, want string }{{tokenB, "B"}, {tokenA, "A"}} {
		req := get(bad)
		req.Header.Set(wazion.HeaderToken, tc.token)
		if got := name(do(t, app, req)); got != tc.want {
			t.Errorf("bad query token, header token %s: answered by %q, want %s", tc.token[:7], got, tc.want)
		}
	}
	for _, header := range []string{"Authorization", wazion.HeaderToken} {
		req := get(bad)
		req.Header.Set(header, "Bearer "+tokenB)
		if header == wazion.HeaderToken {
			req.Header.Set(header, tokenB)
		}
		if got := name(do(t, app, req)); got != "B" {
			t.Errorf("bad query token, %s: answered by %q, want B", header, got)
		}
	}

	// The same query string on another endpoint is that endpoint's.
	other := path(wazion.EndpointCustomerInitialInfo) + "?token=" + tokenA + "&phone=%2B18095551234"
	do(t, app, get(other))
	if got := a.last(t).Endpoint; got != wazion.EndpointCustomerInitialInfo {
		t.Errorf("second endpoint's request reached the Backend as %q", got)
	}

	// A test request is answered with sample data every time.
	test := path(wazion.EndpointCustomerInfo) + "?token=" + tokenA + "&test=true"
	calls := a.calls()
	for range 2 {
		if ans := do(t, app, get(test)); ans.str("error") != "" || len(ans.list("customers")) == 0 {
			t.Errorf("test request: %s", ans.raw)
		}
	}
	if a.calls() != calls {
		t.Errorf("test requests reached the Backend")
	}
}

// A token's bound holds for a request repeated with the same query string.
func TestRepeatedQueryKeepsTokenBound(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	app := newApp(t, wazion.Options{}, wazion.Tenant{Name: "A", Tokens: []string{tokenA}, Backend: fake, RateLimit: 1e-9, RateBurst: 1})
	q := path(wazion.EndpointCustomerInfo) + "?token=" + tokenA + "&phone=%2B18095551234"
	if ans := do(t, app, get(q)); ans.str("error") != "" {
		t.Fatalf("first request: %s", ans.raw)
	}
	for i := range 3 {
		if ans := do(t, app, get(q)); ans.str("error") == "" {
			t.Errorf("request %d past the bound: %s, want an error", i+2, ans.raw)
		}
	}
	if fake.calls() != 1 {
		t.Errorf("backend called %d times, want 1", fake.calls())
	}
}

// After SetTenants a query string is read against the new stores: a token
// taken away no longer answers, a changed store answers with its new
// Backend.
func TestRepeatedQueryAfterSetTenants(t *testing.T) {
	a1, a2 := &fakeBackend{name: "A1"}, &fakeBackend{name: "A2"}
	ts, err := wazion.NewTenants([]wazion.Tenant{{Name: "A", Tokens: []string{tokenA, tokenB}, Backend: a1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := wazion.NewServer(ts, wazion.Options{})
	app := fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true}))
	srv.Routes(app)
	qa := path(wazion.EndpointCustomerInfo) + "?token=" + tokenA + "&phone=%2B18095551234"
	qb := path(wazion.EndpointCustomerInfo) + "?token=" + tokenB + "&phone=%2B18095551234"
	do(t, app, get(qa))
	do(t, app, get(qb))

	next, err := ts.Update([]wazion.Tenant{{Name: "A", Tokens: []string{tokenA}, Backend: a2}})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetTenants(next)
	do(t, app, get(qa))
	if a2.calls() != 1 || a1.calls() != 2 {
		t.Errorf("after the change: old Backend %d calls, new %d; want 2 and 1", a1.calls(), a2.calls())
	}
	if ans := do(t, app, get(qb)); ans.str("error") == "" {
		t.Errorf("token taken away still answers: %s", ans.raw)
	}
	if a1.calls() != 2 {
		t.Errorf("old Backend called after its token was taken away")
	}
}
