package adapter

import (
	"context"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// DefaultTokenShare is the part of the store's budget that the lookups of
// one WAzion token may spend upstream. A third: one flooding (or leaked)
// token leaves two thirds to the store's other tokens and its background
// work, so even with the background share (0.3) fully in use the others
// keep over a third (above 300 calls a minute at 900/min); and a store
// served through a single token still has 300 cold-lookup calls a minute,
// far more than a shop's agents open chats.
const DefaultTokenShare = 1.0 / 3

// maxCallerBudgets bounds the callers whose budgets a Backend keeps. A
// caller is a configured token, so there are few; past the bound the least
// recently seen is forgotten, and a caller idle that long has a full
// bucket anyway.
const maxCallerBudgets = 1024

// callerBudgets holds one whatalo.CallerBudget per WAzion caller, so that
// the Whatalo calls a token's lookups cause are bounded per token, not only
// the requests it sends: the requests of a cached answer cost nothing and
// are not counted, a cold lookup costs its upstream attempts.
type callerBudgets struct {
	perMinute int // 0: no bound of its own
	budgets   *lru.Cache[wazion.Caller, *whatalo.CallerBudget]
}

// newCallerBudgets sizes each caller's budget at share of perMinute (the
// key's budget). A share of 1 or more, or no budget, bounds nothing.
func newCallerBudgets(perMinute int, share float64) *callerBudgets {
	if share <= 0 {
		share = DefaultTokenShare
	}
	if share >= 1 || perMinute <= 0 {
		return &callerBudgets{}
	}
	budgets, err := lru.New[wazion.Caller, *whatalo.CallerBudget](maxCallerBudgets)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &callerBudgets{perMinute: max(1, int(float64(perMinute)*share)), budgets: budgets}
}

// charge returns ctx with the budget of the request's caller, if there is
// one, so that Whatalo calls made for it spend that budget.
func (cb *callerBudgets) charge(ctx context.Context) context.Context {
	if cb.perMinute == 0 {
		return ctx
	}
	c := wazion.CallerFrom(ctx)
	if c.IsZero() {
		return ctx
	}
	b, ok := cb.budgets.Get(c)
	if !ok {
		// Two first requests of a caller at once: both use the one kept.
		b = whatalo.NewCallerBudget(cb.perMinute)
		if prev, found, _ := cb.budgets.PeekOrAdd(c, b); found {
			b = prev
		}
	}
	return whatalo.WithCallerBudget(ctx, b)
}

// begin prepares the context of one WAzion request: its cache trace, which
// tells failing background syncs when Whatalo answers again, and its
// caller's budget.
func (b *Backend) begin(ctx context.Context) context.Context {
	return b.callers.charge(withTrace(ctx, &b.resume))
}
