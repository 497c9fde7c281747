package whatalotest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

var (
	orderSorts      = []string{"order_number", "total", "created_at", "updated_at", "customer_name"}
	orderStatuses   = []string{whatalo.OrderPending, whatalo.OrderConfirmed, whatalo.OrderInProgress, whatalo.OrderCompleted, whatalo.OrderCancelled, whatalo.OrderReturned}
	paymentStatuses = []string{whatalo.PaymentPending, whatalo.PaymentPaid, whatalo.PaymentRefunded, whatalo.PaymentFailed}
)

// nextStatuses is the transition table PATCH /v1/orders/{id} enforces.
// Whatalo does not publish its table; this follows the documented lifecycle
// pending → confirmed → in_progress → completed, with cancelled and
// returned branching off.
var nextStatuses = map[string][]string{
	whatalo.OrderPending:    {whatalo.OrderConfirmed, whatalo.OrderInProgress, whatalo.OrderCompleted, whatalo.OrderCancelled},
	whatalo.OrderConfirmed:  {whatalo.OrderInProgress, whatalo.OrderCompleted, whatalo.OrderCancelled},
	whatalo.OrderInProgress: {whatalo.OrderCompleted, whatalo.OrderCancelled},
	whatalo.OrderCompleted:  {whatalo.OrderReturned},
}

func orderCompare(field string) func(a, b *orderRec) int {
	var by func(a, b *orderRec) int
	switch field {
	case "order_number":
		by = func(a, b *orderRec) int { return cmp.Compare(a.o.OrderNumber, b.o.OrderNumber) }
	case "total":
		by = func(a, b *orderRec) int { return a.o.Total.Cmp(b.o.Total.Decimal) }
	case "updated_at":
		by = func(a, b *orderRec) int { return a.o.UpdatedAt.Compare(b.o.UpdatedAt) }
	case "customer_name":
		by = func(a, b *orderRec) int { return strings.Compare(a.search, b.search) }
	default:
		by = func(a, b *orderRec) int { return a.o.CreatedAt.Compare(b.o.CreatedAt) }
	}
	return func(a, b *orderRec) int {
		if c := by(a, b); c != 0 {
			return c
		}
		return cmp.Compare(a.o.OrderNumber, b.o.OrderNumber)
	}
}

// orderIndex returns all orders sorted ascending by field. Callers hold
// mu.RLock.
func (f *Fake) orderIndex(field string) []*orderRec {
	f.idxMu.Lock()
	defer f.idxMu.Unlock()
	if idx, ok := f.orderIdx[field]; ok {
		return idx
	}
	idx := slices.Clone(f.orderList)
	slices.SortFunc(idx, orderCompare(field))
	if f.orderIdx == nil {
		f.orderIdx = map[string][]*orderRec{}
	}
	f.orderIdx[field] = idx
	return idx
}

func (f *Fake) listOrders(r *http.Request) response {
	p := newParams(r)
	page, perPage := p.page()
	field, desc := p.sort(orderSorts, "created_at")
	customerID := p.str("customer_id")
	m := newMatcher(p.str("search"))
	statuses := p.list("status", orderStatuses)
	payment := p.str("payment_status")
	if payment == "all" {
		payment = ""
	} else if payment != "" && !slices.Contains(paymentStatuses, payment) {
		p.bad("payment_status", "must be one of pending, paid, refunded, failed, all")
	}
	created := timeRange{p.date("date_from", false), p.date("date_to", true)}
	updated := p.timeRange("updated_at")
	total := p.decRange("total")
	city := p.str("city")
	province := p.str("province")
	country := p.str("country")
	countryCode := p.str("country_code")
	if res, bad := p.failed(); bad {
		return res
	}
	filtered := m != nil || len(statuses) > 0 || payment != "" || created.set() || updated.set() || total.set() ||
		city != "" || province != "" || country != "" || countryCode != ""
	var match func(*orderRec) bool
	if filtered {
		match = func(rec *orderRec) bool {
			o := rec.o
			switch {
			case m != nil && !(m.text(rec.search, rec.digits) || (m.number != 0 && o.OrderNumber == m.number)):
				return false
			case len(statuses) > 0 && !slices.Contains(statuses, o.Status):
				return false
			case payment != "" && o.PaymentStatus != payment:
				return false
			case created.set() && !created.has(o.CreatedAt):
				return false
			case updated.set() && !updated.has(o.UpdatedAt):
				return false
			case total.set() && !total.has(o.Total.Decimal):
				return false
			case countryCode != "" && !strings.EqualFold(o.CountryCode, countryCode):
				return false
			}
			a := o.ShippingAddress
			if a == nil {
				a = &whatalo.Address{}
			}
			return (city == "" || strings.EqualFold(a.City, city)) &&
				(province == "" || strings.EqualFold(a.Province, province)) &&
				(country == "" || strings.EqualFold(a.Country, country))
		}
	}

	f.mu.RLock()
	defer f.mu.RUnlock()
	var sorted []*orderRec
	if customerID != "" {
		if c := f.customers[customerID]; c != nil {
			sorted = slices.SortedFunc(slices.Values(c.orders), orderCompare(field))
		} else {
			// Orders of a deleted customer are still found by customer_id.
			for _, rec := range f.orderList {
				if rec.o.CustomerID == customerID {
					sorted = append(sorted, rec)
				}
			}
			slices.SortFunc(sorted, orderCompare(field))
		}
	} else {
		sorted = f.orderIndex(field)
	}
	recs, n := pageOf(sorted, desc, match, page, perPage)
	out := make([]whatalo.Order, len(recs))
	for i, rec := range recs {
		out[i] = *rec.o
		out[i].Items = nil // lists carry no items
	}
	return ok(listBody{Data: out, Pagination: pagination(page, perPage, n)})
}

func (f *Fake) countOrders(r *http.Request) response {
	p := newParams(r)
	statuses := p.list("status", orderStatuses)
	if res, bad := p.failed(); bad {
		return res
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	n := 0
	for _, rec := range f.orderList {
		if len(statuses) == 0 || slices.Contains(statuses, rec.o.Status) {
			n++
		}
	}
	return ok(dataBody{Data: map[string]int{"count": n}})
}

func (f *Fake) getOrder(r *http.Request) response {
	o, found := f.Order(r.PathValue("id"))
	if !found {
		return notFound("Order")
	}
	if o.Items == nil {
		o.Items = []whatalo.LineItem{}
	}
	return ok(dataBody{Data: o})
}

func (f *Fake) getOrderItems(r *http.Request) response {
	o, found := f.Order(r.PathValue("id"))
	if !found {
		return notFound("Order")
	}
	items := o.Items
	if items == nil {
		items = []whatalo.LineItem{}
	}
	return ok(dataBody{Data: items})
}

func (f *Fake) updateOrder(r *http.Request) response {
	var in struct {
		Status        *string `json:"status"`
		PaymentStatus *string `json:"payment_status"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&in); err != nil {
		return invalidBody([]whatalo.FieldError{{Field: "body", Message: "must be a JSON object"}})
	}
	if in.Status == nil && in.PaymentStatus == nil {
		return invalidBody([]whatalo.FieldError{{Field: "status", Message: "status or payment_status is required"}})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := f.orders[r.PathValue("id")]
	if rec == nil {
		return notFound("Order")
	}
	o := *rec.o
	var errs []whatalo.FieldError
	now := time.Now().UTC()
	if in.Status != nil && *in.Status != o.Status {
		switch {
		case !slices.Contains(orderStatuses, *in.Status):
			errs = append(errs, whatalo.FieldError{Field: "status", Message: "must be one of " + strings.Join(orderStatuses, ", ")})
		case !slices.Contains(nextStatuses[o.Status], *in.Status):
			errs = append(errs, whatalo.FieldError{Field: "status", Message: "cannot change from " + o.Status + " to " + *in.Status})
		default:
			o.Status = *in.Status
			if o.Status == whatalo.OrderCompleted {
				o.CompletedAt = &now
			}
		}
	}
	if in.PaymentStatus != nil {
		if !slices.Contains(paymentStatuses, *in.PaymentStatus) {
			errs = append(errs, whatalo.FieldError{Field: "payment_status", Message: "must be one of " + strings.Join(paymentStatuses, ", ")})
		} else {
			o.PaymentStatus = *in.PaymentStatus
		}
	}
	if len(errs) > 0 {
		return invalidBody(errs)
	}
	o.UpdatedAt = now
	deriveOrder(&o)
	rec.o = &o
	if c := f.customers[o.CustomerID]; c != nil {
		c.c.UpdatedAt = now
		c.aggregate()
	}
	f.invalidateLocked()
	return ok(dataBody{Data: o})
}

func decimalInt(n int) decimal.Decimal { return decimal.NewFromInt(int64(n)) }
