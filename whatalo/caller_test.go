package whatalo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// TestCallerBudget: a caller's interactive calls spend its budget and,
// past it, fail at once without reaching Whatalo or being retried, with an
// error matching ErrCallerBudget and ErrRateLimited; its background calls
// and other callers' calls go on.
func TestCallerBudget(t *testing.T) {
	srv := whatalotest.NewServer(t, nil)
	c := newClient(t, srv)
	budget := whatalo.NewCallerBudget(2) // one now, the next a minute later
	ctx := whatalo.WithCallerBudget(ctxTimeout(t, 5*time.Second), budget)
	if _, _, err := c.Store.Get(ctx); err != nil {
		t.Fatalf("first call within the budget: %v", err)
	}
	before := srv.Stats().Total
	_, _, err := c.Store.Get(ctx)
	if !errors.Is(err, whatalo.ErrCallerBudget) || !errors.Is(err, whatalo.ErrRateLimited) {
		t.Fatalf("call past the budget: %v, want ErrCallerBudget and ErrRateLimited", err)
	}
	if n := srv.Stats().Total - before; n != 0 {
		t.Errorf("the refused call reached Whatalo %d times", n)
	}
	if _, _, err := c.Store.Get(whatalo.WithPriority(ctx, whatalo.Background)); err != nil {
		t.Errorf("background call of the same caller: %v, want it not charged", err)
	}
	other := whatalo.WithCallerBudget(context.Background(), whatalo.NewCallerBudget(2))
	if _, _, err := c.Store.Get(other); err != nil {
		t.Errorf("another caller's call: %v", err)
	}
}

// TestCallerBudgetRefundedWhenTheKeyRefuses: an attempt the key's Limiter
// refuses sends nothing, so it costs the caller nothing.
func TestCallerBudgetRefundedWhenTheKeyRefuses(t *testing.T) {
	srv := whatalotest.NewServer(t, nil)
	c := newClient(t, srv, whatalo.WithLimiter(whatalo.NewLimiter(1, 1)))
	if _, _, err := c.Store.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	budget := whatalo.NewCallerBudget(2)
	ctx := whatalo.WithCallerBudget(ctxTimeout(t, 100*time.Millisecond), budget)
	_, _, err := c.Store.Get(ctx)
	if !errors.Is(err, whatalo.ErrRateLimited) || errors.Is(err, whatalo.ErrCallerBudget) {
		t.Fatalf("call with the key's minute spent: %v, want the key's refusal", err)
	}
	fresh := whatalo.NewLimiter(100, 1)
	c2 := newClient(t, srv, whatalo.WithLimiter(fresh))
	if _, _, err := c2.Store.Get(whatalo.WithCallerBudget(context.Background(), budget)); err != nil {
		t.Errorf("the caller's one call after a refusal that sent nothing: %v, want it still available", err)
	}
}
