package adapter

import (
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// Whatalo has no refund records and no per-line discounts, so the figures
// WAzion shows are derived from what an order does carry:
//
//   - An order is refunded in full when its payment_status is "refunded", or
//     when its status is "returned" and it had been paid. Its totalRefunded
//     is then its total and every line is fully_refunded. Nothing else is
//     ever partly refunded, because nothing in the data says so.
//   - An order's totalDiscounts is its discount_amount. Each line's share of
//     it is proportional to the line's total_price, rounded to cents, the
//     rounding remainder going to the last line, so the shares add up to the
//     order's discount.
//   - netAmount is total minus totalRefunded.
//   - A customer's totalRefunded and totalDiscounts add up those of the
//     orders shown (the most recent ones); totalSpent is Whatalo's
//     total_spent.
//
// The README carries the same rule for store owners.

// refunded reports whether an order's money went back to the customer.
func refunded(o *whatalo.Order) bool {
	return o.PaymentStatus == whatalo.PaymentRefunded ||
		(o.Status == whatalo.OrderReturned && o.PaymentStatus == whatalo.PaymentPaid)
}

// cancelled reports whether an order did not go ahead.
func cancelled(o *whatalo.Order) bool {
	return o.Status == whatalo.OrderCancelled || o.Status == whatalo.OrderReturned
}

// money converts an amount to the float WAzion shows, applying the store's
// divisor and rounding to cents.
func (b *Backend) money(m whatalo.Money) float64 {
	d := m.Decimal
	if b.opts.MoneyDivisor > 1 {
		d = d.Div(decimal.NewFromInt(int64(b.opts.MoneyDivisor)))
	}
	return d.Round(2).InexactFloat64()
}

// mapOrder maps an order, with its items when it carries them.
func (b *Backend) mapOrder(o *whatalo.Order, storeURL string) wazion.Order {
	total := b.money(o.Total)
	var refundedAmt float64
	if refunded(o) {
		refundedAmt = total
	}
	return wazion.Order{
		Name:           "#" + itoa(o.OrderNumber),
		Date:           o.CreatedAt.UTC().Format(time.RFC3339),
		Amount:         total,
		NetAmount:      b.money(whatalo.Money{Decimal: o.Total.Sub(refundedDecimal(o))}),
		TotalRefunded:  refundedAmt,
		TotalDiscounts: b.money(o.DiscountAmount),
		Currency:       o.Currency,
		Cancelled:      cancelled(o),
		ShopURL:        b.opts.URLs.OrderURL(storeURL, o.ID, itoa(o.OrderNumber)),
		Note:           b.orderNote(o, false),
		Items:          b.mapItems(o),
	}
}

func refundedDecimal(o *whatalo.Order) decimal.Decimal {
	if refunded(o) {
		return o.Total.Decimal
	}
	return decimal.Zero
}

// InternalNotes says where an order's internal_notes, the store's own
// notes, may be shown.
type InternalNotes string

// Where internal notes go. They are the store's words about the customer,
// not meant for the customer, and WAzion's AI writes to the customer: they
// reach the AI text only when the store asks for it.
const (
	InternalNotesPanel      InternalNotes = "panel"        // the side panel, marked as internal (default)
	InternalNotesNone       InternalNotes = "none"         // nowhere
	InternalNotesPanelAndAI InternalNotes = "panel_and_ai" // the panel and the AI text, marked
)

// orderNote is the note shown with an order: the customer's note, then
// the store's internal note marked as such when the store's setting lets
// it into this place (forAI: the ai_CustomerInitialInfo text).
func (b *Backend) orderNote(o *whatalo.Order, forAI bool) string {
	internal := strings.TrimSpace(o.InternalNotes)
	switch b.opts.InternalNotes {
	case InternalNotesNone:
		internal = ""
	case InternalNotesPanelAndAI:
	default:
		if forAI {
			internal = ""
		}
	}
	if internal != "" {
		internal = b.phrases().internalNote + ": " + internal
	}
	switch {
	case o.CustomerNotes == "":
		return internal
	case internal == "":
		return o.CustomerNotes
	}
	return o.CustomerNotes + " | " + internal
}

// mapItems maps an order's lines, sharing its discount out by line total.
func (b *Backend) mapItems(o *whatalo.Order) []wazion.Item {
	items := make([]wazion.Item, 0, len(o.Items))
	shares := discountShares(o)
	full := refunded(o)
	for i, li := range o.Items {
		// The price before any discount: unit price times quantity, or
		// the line total when the unit price is missing.
		original := li.UnitPrice.Mul(decimal.NewFromInt(int64(li.Quantity)))
		if !li.UnitPrice.IsPositive() {
			original = li.TotalPrice.Decimal
		}
		it := wazion.Item{
			Title:            itemTitle(li),
			Quantity:         li.Quantity,
			CurrentQuantity:  li.Quantity,
			Amount:           b.money(li.TotalPrice),
			OriginalAmount:   b.money(whatalo.Money{Decimal: original}),
			DiscountedAmount: b.money(whatalo.Money{Decimal: li.TotalPrice.Sub(shares[i])}),
			Discount:         b.money(whatalo.Money{Decimal: shares[i]}),
			Status:           wazion.ItemActive,
		}
		if full {
			it.CurrentQuantity = 0
			it.RefundedQuantity = li.Quantity
			it.RefundedAmount = it.DiscountedAmount
			it.Status = wazion.ItemFullyRefunded
		}
		items = append(items, it)
	}
	return items
}

// itemTitle is "Product - Variant", or the product alone when the variant
// is a placeholder.
func itemTitle(li whatalo.LineItem) string {
	return titleWithVariant(li.ProductName, li.VariantName)
}

// titleWithVariant is "Product - Variant", or the product alone when the
// variant is a placeholder, as order items, cart items and the AI text
// title them.
func titleWithVariant(product, variant string) string {
	if !customVariantTitle(product, variant) {
		return product
	}
	return product + " - " + strings.TrimSpace(variant)
}

// customVariantTitle reports whether a variant's title says something of
// its own: not empty, not Shopify's "Default Title" placeholder (which
// stores imported from Shopify carry), and not the product's name again.
// search_Products' has_custom_title is the same rule.
func customVariantTitle(product, variant string) bool {
	v := strings.TrimSpace(variant)
	return v != "" && !strings.EqualFold(v, "Default Title") && !strings.EqualFold(v, strings.TrimSpace(product))
}

// discountShares splits the order's discount over its lines in proportion
// to their totals, in cents, the remainder on the last line.
func discountShares(o *whatalo.Order) []decimal.Decimal {
	shares := make([]decimal.Decimal, len(o.Items))
	for i := range shares {
		shares[i] = decimal.Zero
	}
	disc := o.DiscountAmount.Decimal
	if len(o.Items) == 0 || !disc.IsPositive() {
		return shares
	}
	sum := decimal.Zero
	for _, li := range o.Items {
		sum = sum.Add(li.TotalPrice.Decimal)
	}
	if !sum.IsPositive() {
		shares[len(shares)-1] = disc
		return shares
	}
	given := decimal.Zero
	for i, li := range o.Items[:len(o.Items)-1] {
		shares[i] = disc.Mul(li.TotalPrice.Decimal).Div(sum).Round(2)
		given = given.Add(shares[i])
	}
	shares[len(shares)-1] = disc.Sub(given)
	return shares
}

func itoa(n int) string { return strconv.Itoa(n) }
