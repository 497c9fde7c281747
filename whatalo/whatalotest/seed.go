package whatalotest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest/demostore"
)

// Seed is a store's data: store info, customers, orders (with items),
// products. The Fake keeps references to a seed's orders and products, and
// replaces rather than edits them, so one seed may back several fakes; do
// not modify a seed after passing it to New.
type Seed struct {
	Store     whatalo.Store      `json:"store"`
	Customers []whatalo.Customer `json:"customers"`
	Orders    []whatalo.Order    `json:"orders"`
	Products  []whatalo.Product  `json:"products"`
}

// LoadSeed parses a seed in the JSON format described in the package
// documentation, resolving relative dates ("now-3d") against now and
// filling in the fields Whatalo derives.
func LoadSeed(data []byte, now time.Time) (*Seed, error) {
	var tree any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("load seed: parse JSON: %w", err)
	}
	if _, ok := tree.(map[string]any); !ok {
		return nil, errors.New("load seed: top level is not a JSON object")
	}
	resolved, err := resolveDates(tree, "", now.UTC())
	if err != nil {
		return nil, fmt.Errorf("load seed: %w", err)
	}
	buf, err := json.Marshal(resolved)
	if err != nil {
		return nil, fmt.Errorf("load seed: re-encode: %w", err)
	}
	var s Seed
	dec = json.NewDecoder(bytes.NewReader(buf))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("load seed: decode: %w", err)
	}
	if err := s.prepare(); err != nil {
		return nil, fmt.Errorf("load seed: %w", err)
	}
	return &s, nil
}

// DemoSeed returns the embedded demo store (package demostore), with its
// dates relative to time.Now().
func DemoSeed() *Seed {
	s, err := LoadSeed(demostore.JSON(), time.Now())
	if err != nil {
		// The demo store is embedded and covered by tests.
		panic(fmt.Sprintf("whatalotest: embedded demo store: %v", err))
	}
	return s
}

// resolveDates walks a decoded JSON tree and rewrites relative times in
// values whose key ends in "_at"; path names the value in errors.
func resolveDates(v any, path string, now time.Time) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			p := k
			if path != "" {
				p = path + "." + k
			}
			r, err := resolveDates(child, p, now)
			if err != nil {
				return nil, err
			}
			t[k] = r
		}
	case []any:
		for i, child := range t {
			r, err := resolveDates(child, path+"["+strconv.Itoa(i)+"]", now)
			if err != nil {
				return nil, err
			}
			t[i] = r
		}
	case string:
		if !strings.HasSuffix(path, "_at") {
			break
		}
		if strings.HasPrefix(t, "now") {
			at, err := relativeTime(t, now)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return at.Format(time.RFC3339Nano), nil
		}
		if _, err := time.Parse(time.RFC3339Nano, t); err != nil {
			return nil, fmt.Errorf("%s: %q is neither an RFC 3339 time nor now±duration", path, t)
		}
	}
	return v, nil
}

// relativeTime parses "now", "now-3d", "now-1d12h", "now+30m".
func relativeTime(s string, now time.Time) (time.Time, error) {
	rest := strings.TrimPrefix(s, "now")
	if rest == "" {
		return now, nil
	}
	sign := time.Duration(1)
	switch rest[0] {
	case '-':
		sign = -1
	case '+':
	default:
		return time.Time{}, fmt.Errorf("relative time %q: want now, now-<duration> or now+<duration>", s)
	}
	d, err := parseLongDuration(rest[1:])
	if err != nil {
		return time.Time{}, fmt.Errorf("relative time %q: %w", s, err)
	}
	return now.Add(sign * d), nil
}

// parseLongDuration is time.ParseDuration plus the units d (24h) and w (7d).
func parseLongDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		j := i
		for j < len(s) && (s[j] < '0' || s[j] > '9') && s[j] != '.' {
			j++
		}
		if i == 0 || j == i {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		num, unit := s[:i], s[i:j]
		s = s[j:]
		mult := time.Duration(0)
		switch unit {
		case "w":
			mult = 7 * 24 * time.Hour
		case "d":
			mult = 24 * time.Hour
		}
		if mult == 0 {
			d, err := time.ParseDuration(num + unit)
			if err != nil {
				return 0, err
			}
			total += d
			continue
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("bad duration number %q", num)
		}
		total += time.Duration(f * float64(mult))
	}
	return total, nil
}

// prepare checks a seed and fills in derived fields; see the package
// documentation for the rules.
func (s *Seed) prepare() error {
	customers := make(map[string]int, len(s.Customers))
	for i, c := range s.Customers {
		if c.ID == "" {
			return fmt.Errorf("customer %d (%s): missing id", i, c.Name)
		}
		if _, dup := customers[c.ID]; dup {
			return fmt.Errorf("customer %s: duplicate id", c.ID)
		}
		customers[c.ID] = i
	}
	products := make(map[string]bool, len(s.Products))
	for i := range s.Products {
		p := &s.Products[i]
		if p.ID == "" {
			return fmt.Errorf("product %d (%s): missing id", i, p.Name)
		}
		if products[p.ID] {
			return fmt.Errorf("product %s: duplicate id", p.ID)
		}
		products[p.ID] = true
		deriveProduct(p)
	}
	orderIDs := make(map[string]bool, len(s.Orders))
	numbers := make(map[int]bool, len(s.Orders))
	for i := range s.Orders {
		o := &s.Orders[i]
		if o.ID == "" {
			return fmt.Errorf("order %d: missing id", i)
		}
		if orderIDs[o.ID] {
			return fmt.Errorf("order %s: duplicate id", o.ID)
		}
		orderIDs[o.ID] = true
		if o.OrderNumber <= 0 || numbers[o.OrderNumber] {
			return fmt.Errorf("order %s: order_number %d missing or duplicate", o.ID, o.OrderNumber)
		}
		numbers[o.OrderNumber] = true
		if !validStatus(o.Status) || !validPaymentStatus(o.PaymentStatus) {
			return fmt.Errorf("order #%d: unknown status %q or payment_status %q", o.OrderNumber, o.Status, o.PaymentStatus)
		}
		if o.CustomerID != "" {
			ci, ok := customers[o.CustomerID]
			if !ok {
				return fmt.Errorf("order #%d: unknown customer_id %s", o.OrderNumber, o.CustomerID)
			}
			fillOrderCustomer(o, &s.Customers[ci])
		}
		if o.Currency == "" {
			o.Currency = s.Store.Currency
		}
		if err := settleAmounts(o); err != nil {
			return fmt.Errorf("order #%d: %w", o.OrderNumber, err)
		}
		deriveOrder(o)
	}
	byCustomer := make(map[string][]*whatalo.Order)
	for i := range s.Orders {
		o := &s.Orders[i]
		if o.CustomerID != "" {
			byCustomer[o.CustomerID] = append(byCustomer[o.CustomerID], o)
		}
	}
	for i := range s.Customers {
		aggregate(&s.Customers[i], byCustomer[s.Customers[i].ID])
	}
	return nil
}

func fillOrderCustomer(o *whatalo.Order, c *whatalo.Customer) {
	if o.CustomerName == "" {
		o.CustomerName = c.Name
	}
	if o.CustomerPhone == "" {
		o.CustomerPhone = c.Phone
	}
	if o.CustomerEmail == "" {
		o.CustomerEmail = c.Email
	}
}

// settleAmounts computes zero amounts and checks the others add up.
func settleAmounts(o *whatalo.Order) error {
	sum := decimal.Zero
	for i := range o.Items {
		it := &o.Items[i]
		want := it.UnitPrice.Mul(decimal.NewFromInt(int64(it.Quantity)))
		if it.TotalPrice.IsZero() {
			it.TotalPrice = whatalo.Money{Decimal: want}
		} else if !it.TotalPrice.Equal(want) {
			return fmt.Errorf("item %s: total_price %s, want unit_price × quantity = %s", it.ID, it.TotalPrice, want)
		}
		if it.CreatedAt.IsZero() {
			it.CreatedAt = o.CreatedAt
		}
		sum = sum.Add(it.TotalPrice.Decimal)
	}
	if o.Subtotal.IsZero() {
		o.Subtotal = whatalo.Money{Decimal: sum}
	} else if len(o.Items) > 0 && !o.Subtotal.Equal(sum) {
		return fmt.Errorf("subtotal %s, want the items' sum %s", o.Subtotal, sum)
	}
	total := o.Subtotal.Sub(o.DiscountAmount.Decimal).Add(o.ShippingCost.Decimal).Add(o.TaxAmount.Decimal)
	if o.Total.IsZero() {
		o.Total = whatalo.Money{Decimal: total}
	} else if !o.Total.Equal(total) {
		return fmt.Errorf("total %s, want subtotal - discount_amount + shipping_cost + tax_amount = %s", o.Total, total)
	}
	return nil
}

// deriveOrder sets the flags Whatalo computes from an order's state.
func deriveOrder(o *whatalo.Order) {
	o.IsPending = o.Status == whatalo.OrderPending
	o.IsCompleted = o.Status == whatalo.OrderCompleted
	o.IsCancellable = o.Status == whatalo.OrderPending || o.Status == whatalo.OrderConfirmed || o.Status == whatalo.OrderInProgress
	o.IsFullyPaid = o.PaymentStatus == whatalo.PaymentPaid
	n := 0
	for _, it := range o.Items {
		n += it.Quantity
	}
	if len(o.Items) > 0 || o.ItemCount == 0 {
		o.ItemCount = n
	}
}

// deriveProduct sets the fields Whatalo computes from a product's prices
// and stock.
func deriveProduct(p *whatalo.Product) {
	p.HasDiscount = p.ComparePrice != nil && p.ComparePrice.GreaterThan(p.Price.Decimal) && p.ComparePrice.IsPositive()
	p.DiscountPercentage = 0
	if p.HasDiscount {
		pct := p.ComparePrice.Sub(p.Price.Decimal).Div(p.ComparePrice.Decimal).Mul(decimal.NewFromInt(100)).Round(2)
		p.DiscountPercentage = pct.InexactFloat64()
	}
	p.IsPurchasable = p.IsActive && (!p.TrackInventory || p.StockQuantity > 0 || p.ContinueSelling)
	if p.Variants == nil {
		p.Variants = []whatalo.Variant{}
	}
	if p.Gallery == nil {
		p.Gallery = []string{}
	}
}

// countsAsSpent reports whether an order's total belongs in total_spent.
func countsAsSpent(o *whatalo.Order) bool {
	return o.Status != whatalo.OrderCancelled && o.Status != whatalo.OrderReturned
}

// aggregate sets a customer's computed fields from its orders.
func aggregate(c *whatalo.Customer, orders []*whatalo.Order) {
	c.OrdersCount = len(orders)
	spent := decimal.Zero
	var last *whatalo.Order
	for _, o := range orders {
		if countsAsSpent(o) {
			spent = spent.Add(o.Total.Decimal)
		}
		if last == nil || o.CreatedAt.After(last.CreatedAt) || (o.CreatedAt.Equal(last.CreatedAt) && o.OrderNumber > last.OrderNumber) {
			last = o
		}
	}
	c.TotalSpent = whatalo.Money{Decimal: spent}
	c.LastOrderAt, c.LastOrderID = nil, ""
	if last != nil {
		at := last.CreatedAt
		c.LastOrderAt = &at
		c.LastOrderID = last.ID
	}
	deriveContact(c)
}

func deriveContact(c *whatalo.Customer) {
	c.HasEmail = strings.TrimSpace(c.Email) != ""
	c.HasPhone = strings.TrimSpace(c.Phone) != ""
	switch {
	case c.HasEmail:
		c.DisplayContact = c.Email
	case c.HasPhone:
		c.DisplayContact = c.Phone
	default:
		c.DisplayContact = ""
	}
}

func validStatus(s string) bool {
	switch s {
	case whatalo.OrderPending, whatalo.OrderConfirmed, whatalo.OrderInProgress,
		whatalo.OrderCompleted, whatalo.OrderCancelled, whatalo.OrderReturned:
		return true
	}
	return false
}

func validPaymentStatus(s string) bool {
	switch s {
	case whatalo.PaymentPending, whatalo.PaymentPaid, whatalo.PaymentRefunded, whatalo.PaymentFailed:
		return true
	}
	return false
}
