package wazion_test

import (
	"context"
	"sync"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// TestCallerIdentifiesTheToken: the Backend can tell the tokens of one
// store apart, and one token's requests from each other's not at all.
func TestCallerIdentifiesTheToken(t *testing.T) {
	var mu sync.Mutex
	var seen []wazion.Caller
	fake := &fakeBackend{name: "A"}
	fake.customerInfo = func(ctx context.Context, req wazion.Request) (*wazion.CustomerInfoResponse, error) {
		mu.Lock()
		seen = append(seen, wazion.CallerFrom(ctx))
		mu.Unlock()
		return &wazion.CustomerInfoResponse{Found: true, Customers: []wazion.Customer{{Name: "x"}}}, nil
	}
	app := newApp(t, wazion.Options{}, wazion.Tenant{Name: "A", Tokens: []string{tokenA, tokenB}, Backend: fake})
	do(t, app, get("/wazion/sidePanel_CustomerInfo?token="+tokenA+"&phone=%2B18095550001"))
	do(t, app, get("/wazion/sidePanel_CustomerInfo?token="+tokenA+"&phone=%2B18095550002"))
	do(t, app, get("/wazion/sidePanel_CustomerInfo?token="+tokenB+"&phone=%2B18095550003"))
	if len(seen) != 3 {
		t.Fatalf("backend called %d times, want 3", len(seen))
	}
	if seen[0].IsZero() || seen[0] != seen[1] {
		t.Errorf("two requests of one token: callers %v and %v, want one non-zero caller", seen[0], seen[1])
	}
	if seen[2] == seen[0] || seen[2].IsZero() {
		t.Errorf("the store's second token has the first's caller")
	}
	if !wazion.CallerFrom(context.Background()).IsZero() {
		t.Error("a caller outside any request")
	}
}
