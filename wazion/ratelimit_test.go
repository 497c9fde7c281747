package wazion_test

import (
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// TestTokenRateLimit: past its bound a token gets an error answer (still
// 200 and JSON) without a Backend call; other tokens are not affected.
func TestTokenRateLimit(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	other := &fakeBackend{name: "B"}
	app := newApp(t, wazion.Options{},
		wazion.Tenant{Name: "A", Tokens: []string{tokenA}, Backend: fake, RateLimit: 0.001, RateBurst: 3},
		wazion.Tenant{Name: "B", Tokens: []string{tokenB}, Backend: other},
	)
	target := "/wazion/sidePanel_CustomerInfo?phone=%2B34600000001&token="
	for i := range 3 {
		if a := do(t, app, get(target+tokenA)); a.str("error") != "" {
			t.Fatalf("request %d within the burst: error %q", i, a.str("error"))
		}
	}
	a := do(t, app, get(target+tokenA))
	if a.str("error") == "" || a.json["found"] != false {
		t.Errorf("over the bound: %s", a.raw)
	}
	if fake.calls() != 3 {
		t.Errorf("backend called %d times, want 3", fake.calls())
	}
	// test=true is answered without the Backend and stays available.
	if a := do(t, app, get(target+tokenA+"&test=true")); a.str("error") != "" {
		t.Errorf("test request limited: %s", a.raw)
	}
	for range 5 {
		if a := do(t, app, get(target+tokenB)); a.str("error") != "" {
			t.Errorf("unlimited token B limited: %s", a.raw)
		}
	}
}
