package adapter

import (
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

func TestComputeState(t *testing.T) {
	now := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	day := 24 * time.Hour
	order := func(age time.Duration, status, payment string) whatalo.Order {
		return whatalo.Order{Status: status, PaymentStatus: payment, CreatedAt: ago(age)}
	}
	done := func(age time.Duration) whatalo.Order { return order(age, whatalo.OrderCompleted, whatalo.PaymentPaid) }

	tests := []struct {
		name   string
		orders []whatalo.Order
		rules  StateRules
		want   string
	}{
		{"nil orders", nil, DefaultStateRules(), StateNoOrders},
		{"empty orders", []whatalo.Order{}, DefaultStateRules(), StateNoOrders},

		{"latest pending", []whatalo.Order{order(time.Hour, whatalo.OrderPending, whatalo.PaymentPending)}, DefaultStateRules(), StateProcessing},
		{"latest confirmed", []whatalo.Order{order(200*day, whatalo.OrderConfirmed, whatalo.PaymentPending)}, DefaultStateRules(), StateProcessing},
		{"latest in progress", []whatalo.Order{order(day, whatalo.OrderInProgress, whatalo.PaymentPaid)}, DefaultStateRules(), StateProcessing},
		{"status case and spaces", []whatalo.Order{order(day, " In_Progress ", whatalo.PaymentPaid)}, DefaultStateRules(), StateProcessing},
		{"older pending does not count", []whatalo.Order{done(day), order(30*day, whatalo.OrderPending, "")}, DefaultStateRules(), StateNewOrders},
		{"processing beats conflictive", []whatalo.Order{
			order(day, whatalo.OrderPending, whatalo.PaymentPending),
			order(2*day, whatalo.OrderCancelled, ""),
			order(3*day, whatalo.OrderReturned, ""),
		}, DefaultStateRules(), StateProcessing},

		{"two cancelled of five", []whatalo.Order{
			done(day), order(2*day, whatalo.OrderCancelled, ""), done(3 * day), order(4*day, whatalo.OrderCancelled, ""), done(5 * day),
		}, DefaultStateRules(), StateConflictive},
		{"returned and refunded", []whatalo.Order{
			order(day, whatalo.OrderReturned, whatalo.PaymentPaid), order(400*day, whatalo.OrderCompleted, whatalo.PaymentRefunded),
		}, DefaultStateRules(), StateConflictive},
		{"payment failed twice", []whatalo.Order{
			order(100*day, whatalo.OrderCompleted, whatalo.PaymentFailed), order(101*day, whatalo.OrderCompleted, whatalo.PaymentFailed),
		}, DefaultStateRules(), StateConflictive},
		{"one troubled order counts once", []whatalo.Order{
			order(day, whatalo.OrderCancelled, whatalo.PaymentRefunded), done(2 * day),
		}, DefaultStateRules(), StateNewOrders},
		{"trouble outside the window", []whatalo.Order{
			done(day), done(2 * day), done(3 * day), done(4 * day), done(5 * day),
			order(6*day, whatalo.OrderCancelled, ""), order(7*day, whatalo.OrderCancelled, ""),
		}, DefaultStateRules(), StateNewOrders},
		{"trouble inside a wider window", []whatalo.Order{
			done(day), done(2 * day), done(3 * day), done(4 * day), done(5 * day),
			order(6*day, whatalo.OrderCancelled, ""), order(7*day, whatalo.OrderCancelled, ""),
		}, StateRules{ConflictWindow: 7}, StateConflictive},
		{"higher minimum", []whatalo.Order{
			done(day), order(2*day, whatalo.OrderCancelled, ""), order(3*day, whatalo.OrderCancelled, ""),
		}, StateRules{ConflictMin: 3}, StateNewOrders},
		{"conflictive beats old", []whatalo.Order{
			order(500*day, whatalo.OrderCancelled, ""), order(501*day, whatalo.OrderReturned, ""),
		}, DefaultStateRules(), StateConflictive},

		{"new: an hour ago", []whatalo.Order{done(time.Hour)}, DefaultStateRules(), StateNewOrders},
		{"new: exactly 7 days", []whatalo.Order{done(7 * day)}, DefaultStateRules(), StateNewOrders},
		{"recent: 7 days and a second", []whatalo.Order{done(7*day + time.Second)}, DefaultStateRules(), StateRecentOrders},
		{"recent: exactly 90 days", []whatalo.Order{done(90 * day)}, DefaultStateRules(), StateRecentOrders},
		{"old: 90 days and a second", []whatalo.Order{done(90*day + time.Second)}, DefaultStateRules(), StateOldOrders},
		{"old: years ago", []whatalo.Order{done(3 * 365 * day)}, DefaultStateRules(), StateOldOrders},
		{"future order (clock skew) is new", []whatalo.Order{done(-time.Hour)}, DefaultStateRules(), StateNewOrders},
		{"one cancelled, latest old", []whatalo.Order{done(100 * day), order(120*day, whatalo.OrderCancelled, "")}, DefaultStateRules(), StateOldOrders},

		{"unsorted input uses the latest", []whatalo.Order{done(200 * day), done(3 * day), done(100 * day)}, DefaultStateRules(), StateNewOrders},
		{"unsorted input, latest in progress", []whatalo.Order{
			done(10 * day), order(time.Hour, whatalo.OrderInProgress, ""), done(5 * day),
		}, DefaultStateRules(), StateProcessing},

		{"zero rules: 7-day boundary", []whatalo.Order{done(7 * day)}, StateRules{}, StateNewOrders},
		{"zero rules: 8 days", []whatalo.Order{done(8 * day)}, StateRules{}, StateRecentOrders},
		{"zero rules: 91 days", []whatalo.Order{done(91 * day)}, StateRules{}, StateOldOrders},
		{"zero rules: two of five", []whatalo.Order{
			done(day), order(2*day, whatalo.OrderCancelled, ""), order(3*day, whatalo.OrderReturned, ""),
		}, StateRules{}, StateConflictive},
		{"negative rules fall back", []whatalo.Order{done(8 * day)}, StateRules{NewOrdersDays: -1, RecentOrdersDays: -1}, StateRecentOrders},
		{"custom new days", []whatalo.Order{done(10 * day)}, StateRules{NewOrdersDays: 14}, StateNewOrders},
		{"custom recent days", []whatalo.Order{done(100 * day)}, StateRules{RecentOrdersDays: 180}, StateRecentOrders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ComputeState(tt.orders, now, tt.rules); got != tt.want {
				t.Errorf("ComputeState = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestComputeStateDoesNotReorderInput(t *testing.T) {
	now := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	orders := []whatalo.Order{
		{ID: "old", Status: whatalo.OrderCompleted, CreatedAt: now.AddDate(0, -3, 0)},
		{ID: "new", Status: whatalo.OrderCompleted, CreatedAt: now.AddDate(0, 0, -1)},
	}
	ComputeState(orders, now, DefaultStateRules())
	if orders[0].ID != "old" || orders[1].ID != "new" {
		t.Errorf("input reordered: %s, %s", orders[0].ID, orders[1].ID)
	}
}

func TestDefaultStateRules(t *testing.T) {
	want := StateRules{NewOrdersDays: 7, RecentOrdersDays: 90, ConflictWindow: 5, ConflictMin: 2}
	if got := DefaultStateRules(); got != want {
		t.Errorf("DefaultStateRules() = %+v, want %+v", got, want)
	}
	if got := (StateRules{}).withDefaults(); got != want {
		t.Errorf("zero rules with defaults = %+v, want %+v", got, want)
	}
	custom := StateRules{NewOrdersDays: 3, RecentOrdersDays: 30, ConflictWindow: 10, ConflictMin: 4}
	if got := custom.withDefaults(); got != custom {
		t.Errorf("set rules changed by defaults: %+v", got)
	}
}
