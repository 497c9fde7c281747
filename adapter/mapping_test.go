package adapter

import (
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

func line(name string, qty int, unit, total string) whatalo.LineItem {
	return whatalo.LineItem{ProductName: name, Quantity: qty, UnitPrice: whatalo.NewMoney(unit), TotalPrice: whatalo.NewMoney(total)}
}

func TestMapOrderRefundsAndDiscounts(t *testing.T) {
	b := &Backend{opts: Options{MoneyDivisor: 1}}
	base := whatalo.Order{
		ID: "o1", OrderNumber: 1042, Currency: "DOP", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Total: whatalo.NewMoney("90.00"), DiscountAmount: whatalo.NewMoney("10.00"),
		Items: []whatalo.LineItem{line("A", 1, "33.33", "33.33"), line("B", 2, "33.335", "66.67")},
	}
	tests := []struct {
		name                    string
		status, payment         string
		wantRefunded, wantNet   float64
		wantCancelled           bool
		wantItemStatus          string
		wantCurrentQty, wantRef int
	}{
		{"completed paid", "completed", "paid", 0, 90, false, wazion.ItemActive, 1, 0},
		{"payment refunded", "completed", "refunded", 90, 0, false, wazion.ItemFullyRefunded, 0, 1},
		{"returned and paid", "returned", "paid", 90, 0, true, wazion.ItemFullyRefunded, 0, 1},
		{"returned unpaid (cash on delivery)", "returned", "pending", 0, 90, true, wazion.ItemActive, 1, 0},
		{"cancelled unpaid", "cancelled", "pending", 0, 90, true, wazion.ItemActive, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			o.Status, o.PaymentStatus = tt.status, tt.payment
			got := b.mapOrder(&o, "")
			if got.Name != "#1042" || got.Date != "2026-01-02T03:04:05Z" || got.Amount != 90 || got.TotalDiscounts != 10 {
				t.Errorf("basics: %+v", got)
			}
			if got.TotalRefunded != tt.wantRefunded || got.NetAmount != tt.wantNet || got.Cancelled != tt.wantCancelled {
				t.Errorf("refunded=%v net=%v cancelled=%v, want %v %v %v", got.TotalRefunded, got.NetAmount, got.Cancelled,
					tt.wantRefunded, tt.wantNet, tt.wantCancelled)
			}
			it := got.Items[0]
			if it.Status != tt.wantItemStatus || it.CurrentQuantity != tt.wantCurrentQty || it.RefundedQuantity != tt.wantRef {
				t.Errorf("item: %+v", it)
			}
		})
	}
}

func TestDiscountSharesAddUp(t *testing.T) {
	b := &Backend{opts: Options{MoneyDivisor: 1}}
	o := whatalo.Order{
		DiscountAmount: whatalo.NewMoney("10.00"),
		Items:          []whatalo.LineItem{line("A", 1, "33.33", "33.33"), line("B", 1, "33.33", "33.33"), line("C", 1, "33.34", "33.34")},
	}
	items := b.mapItems(&o)
	var sum float64
	for _, it := range items {
		sum += it.Discount
		if it.DiscountedAmount != round2(it.Amount-it.Discount) {
			t.Errorf("%s: discounted %v != amount %v - discount %v", it.Title, it.DiscountedAmount, it.Amount, it.Discount)
		}
	}
	if round2(sum) != 10 {
		t.Errorf("shares add up to %v, want 10", sum)
	}
	if items[0].Discount != 3.33 || items[2].Discount != 3.34 {
		t.Errorf("shares = %v %v %v", items[0].Discount, items[1].Discount, items[2].Discount)
	}
	// No discount, or lines of zero value: nothing is invented.
	o.DiscountAmount = whatalo.NewMoney("0")
	for _, it := range b.mapItems(&o) {
		if it.Discount != 0 {
			t.Errorf("discount %v without an order discount", it.Discount)
		}
	}
}

func TestMoneyDivisor(t *testing.T) {
	b := &Backend{opts: Options{MoneyDivisor: 100}}
	if got := b.money(whatalo.NewMoney("150050")); got != 1500.5 {
		t.Errorf("money = %v, want 1500.5", got)
	}
}

func TestItemTitle(t *testing.T) {
	if got := itemTitle(whatalo.LineItem{ProductName: "Camiseta", VariantName: "M"}); got != "Camiseta - M" {
		t.Errorf("title = %q", got)
	}
	if got := itemTitle(whatalo.LineItem{ProductName: "Gorra"}); got != "Gorra" {
		t.Errorf("title = %q", got)
	}
}

// TestPlaceholderVariantsLeaveTitles: Shopify's "Default Title", an empty
// variant or one that repeats the product's name is not a variant of its
// own: order items, cart items and the AI text show the product alone, and
// search_Products calls it not custom — one rule for all.
func TestPlaceholderVariantsLeaveTitles(t *testing.T) {
	tests := []struct {
		product, variant, want string
		custom                 bool
	}{
		{"Chalina de Baby Alpaca", "Default Title", "Chalina de Baby Alpaca", false},
		{"Chalina de Baby Alpaca", "default title", "Chalina de Baby Alpaca", false},
		{"Chalina de Baby Alpaca", "  ", "Chalina de Baby Alpaca", false},
		{"Chalina de Baby Alpaca", "Chalina de Baby Alpaca", "Chalina de Baby Alpaca", false},
		{"Chalina de Baby Alpaca", "Gris", "Chalina de Baby Alpaca - Gris", true},
	}
	b := &Backend{opts: Options{MoneyDivisor: 1}}
	for _, tt := range tests {
		li := whatalo.LineItem{ProductName: tt.product, VariantName: tt.variant, Quantity: 1, UnitPrice: whatalo.NewMoney("10"), TotalPrice: whatalo.NewMoney("10")}
		o := whatalo.Order{ID: "o1", OrderNumber: 7, Total: whatalo.NewMoney("10"), Items: []whatalo.LineItem{li}}
		if got := b.mapOrder(&o, "").Items[0].Title; got != tt.want {
			t.Errorf("order item %q/%q titled %q, want %q", tt.product, tt.variant, got, tt.want)
		}
		if got := b.cartItem(whatalo.WebhookCheckoutItem{ProductName: tt.product, VariantName: tt.variant}).Title; got != tt.want {
			t.Errorf("cart item %q/%q titled %q, want %q", tt.product, tt.variant, got, tt.want)
		}
		if got := customVariantTitle(tt.product, tt.variant); got != tt.custom {
			t.Errorf("customVariantTitle(%q, %q) = %v, want %v", tt.product, tt.variant, got, tt.custom)
		}
	}
}
