package adapter

import (
	"slices"
	"strings"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// Label keys of a customer's state, as WAzion's label table names them.
const (
	StateNoOrders     = "state_no_orders"
	StateProcessing   = "state_processing"
	StateConflictive  = "state_conflictive"
	StateNewOrders    = "state_new_orders"
	StateRecentOrders = "state_recent_orders"
	StateOldOrders    = "state_old_orders"
)

// StateRules are the thresholds of ComputeState. A field left at zero (or
// negative) takes its default, so a partly filled configuration still works.
type StateRules struct {
	// NewOrdersDays: a latest order at most this old makes "new orders".
	NewOrdersDays int
	// RecentOrdersDays: a latest order at most this old makes "recent orders".
	RecentOrdersDays int
	// ConflictWindow is how many of the latest orders are looked at for
	// trouble.
	ConflictWindow int
	// ConflictMin is how many of those must be cancelled, returned,
	// refunded or failed to make a customer "conflictive".
	ConflictMin int
}

// DefaultStateRules returns the documented defaults: new ≤ 7 days, recent ≤
// 90 days, conflictive with 2 or more troubled orders among the last 5.
func DefaultStateRules() StateRules {
	return StateRules{NewOrdersDays: 7, RecentOrdersDays: 90, ConflictWindow: 5, ConflictMin: 2}
}

func (r StateRules) withDefaults() StateRules {
	d := DefaultStateRules()
	if r.NewOrdersDays <= 0 {
		r.NewOrdersDays = d.NewOrdersDays
	}
	if r.RecentOrdersDays <= 0 {
		r.RecentOrdersDays = d.RecentOrdersDays
	}
	if r.ConflictWindow <= 0 {
		r.ConflictWindow = d.ConflictWindow
	}
	if r.ConflictMin <= 0 {
		r.ConflictMin = d.ConflictMin
	}
	return r
}

// ComputeState returns the label key of a customer's state from their
// orders, in any order. The first rule that holds wins: no orders;
// processing (latest order pending, confirmed or in progress); conflictive
// (ConflictMin or more of the last ConflictWindow orders cancelled, returned,
// refunded or failed); new, recent or old orders by the age of the latest
// order at now. Ages are exact durations, so an order placed exactly
// NewOrdersDays ago is still new.
func ComputeState(orders []whatalo.Order, now time.Time, r StateRules) string {
	if len(orders) == 0 {
		return StateNoOrders
	}
	r = r.withDefaults()
	latest := slices.Clone(orders)
	slices.SortStableFunc(latest, func(a, b whatalo.Order) int {
		return b.CreatedAt.Compare(a.CreatedAt)
	})

	switch normStatus(latest[0].Status) {
	case whatalo.OrderPending, whatalo.OrderConfirmed, whatalo.OrderInProgress:
		return StateProcessing
	}

	troubled := 0
	for _, o := range latest[:min(r.ConflictWindow, len(latest))] {
		if isTroubled(o) {
			troubled++
		}
	}
	if troubled >= r.ConflictMin {
		return StateConflictive
	}

	age := now.Sub(latest[0].CreatedAt)
	switch {
	case age <= days(r.NewOrdersDays):
		return StateNewOrders
	case age <= days(r.RecentOrdersDays):
		return StateRecentOrders
	default:
		return StateOldOrders
	}
}

// isTroubled reports an order that went wrong for the shop: cancelled or
// returned, or its payment refunded or failed. One order counts once.
func isTroubled(o whatalo.Order) bool {
	switch normStatus(o.Status) {
	case whatalo.OrderCancelled, whatalo.OrderReturned:
		return true
	}
	switch normStatus(o.PaymentStatus) {
	case whatalo.PaymentRefunded, whatalo.PaymentFailed:
		return true
	}
	return false
}

// normStatus compares statuses the way a person would: imported or
// hand-edited data may say "Cancelled " where the API says "cancelled".
func normStatus(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }
