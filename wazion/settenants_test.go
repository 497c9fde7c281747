package wazion_test

import (
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// TestSetTenantsKeepsUnchangedStores: a Server switched to a set built by
// Update refuses the tokens of the stores it no longer has, serves the new
// ones, and keeps the state of a store given again unchanged (here its
// token's spent request bound), while a changed store starts afresh.
func TestSetTenantsKeepsUnchangedStores(t *testing.T) {
	const tokenC = "token-cccccccccccccccc"
	a, b, c := &fakeBackend{name: "A"}, &fakeBackend{name: "B"}, &fakeBackend{name: "C"}
	storeA := wazion.Tenant{Name: "A", Tokens: []string{tokenA}, Backend: a, RateLimit: 0.001, RateBurst: 1}
	ts, err := wazion.NewTenants([]wazion.Tenant{storeA, {Name: "B", Tokens: []string{tokenB}, Backend: b}})
	if err != nil {
		t.Fatal(err)
	}
	srv := wazion.NewServer(ts, wazion.Options{})
	app := fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true}))
	srv.Routes(app)
	ask := func(token string) answer {
		return do(t, app, get("/wazion/sidePanel_CustomerInfo?phone=%2B18095551234&token="+token))
	}
	if got := ask(tokenA); got.str("error") != "" {
		t.Fatalf("first request of A: %s", got.raw)
	}

	next, err := srv.Tenants().Update([]wazion.Tenant{storeA, {Name: "C", Tokens: []string{tokenC}, Backend: c}})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetTenants(next)
	if got := srv.Tenants().Names(); len(got) != 2 || got[0] != "A" || got[1] != "C" {
		t.Errorf("Names after SetTenants = %v, want [A C]", got)
	}
	if got := ask(tokenB); got.str("error") != "unauthorized" {
		t.Errorf("removed store's token answered %s", got.raw)
	}
	if got := ask(tokenC); got.str("error") != "" || c.calls() != 1 {
		t.Errorf("added store answered %s after %d calls", got.raw, c.calls())
	}
	if got := ask(tokenA); got.str("error") == "" || a.calls() != 1 {
		t.Errorf("kept store's spent bound was reset: answered %s, %d backend calls", got.raw, a.calls())
	}

	changed := storeA
	changed.RateLimit = 0.002
	next, err = srv.Tenants().Update([]wazion.Tenant{changed})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetTenants(next)
	if got := ask(tokenA); got.str("error") != "" {
		t.Errorf("changed store kept its old bound: %s", got.raw)
	}
	if _, err := srv.Tenants().Update(nil); err == nil {
		t.Error("Update with no tenant: no error")
	}
}
