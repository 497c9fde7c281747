package whatalotest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

var customerSorts = []string{"name", "created_at", "updated_at", "orders_count", "total_spent", "last_order_at"}

// customerIndex returns the customers sorted ascending by field (ties by
// ID). Callers hold mu.RLock.
func (f *Fake) customerIndex(field string) []*customerRec {
	f.idxMu.Lock()
	defer f.idxMu.Unlock()
	if idx, ok := f.custIdx[field]; ok {
		return idx
	}
	idx := slices.Clone(f.custList)
	var by func(a, b *customerRec) int
	switch field {
	case "name":
		// search starts with the lowercase name and a NUL, so it sorts by name.
		by = func(a, b *customerRec) int { return strings.Compare(a.search, b.search) }
	case "updated_at":
		by = func(a, b *customerRec) int { return a.c.UpdatedAt.Compare(b.c.UpdatedAt) }
	case "orders_count":
		by = func(a, b *customerRec) int { return cmp.Compare(a.c.OrdersCount, b.c.OrdersCount) }
	case "total_spent":
		by = func(a, b *customerRec) int { return a.c.TotalSpent.Cmp(b.c.TotalSpent.Decimal) }
	case "last_order_at":
		by = func(a, b *customerRec) int { return lastOrderAt(a).Compare(lastOrderAt(b)) }
	default:
		by = func(a, b *customerRec) int { return a.c.CreatedAt.Compare(b.c.CreatedAt) }
	}
	slices.SortFunc(idx, func(a, b *customerRec) int {
		if c := by(a, b); c != 0 {
			return c
		}
		return strings.Compare(a.c.ID, b.c.ID)
	})
	if f.custIdx == nil {
		f.custIdx = map[string][]*customerRec{}
	}
	f.custIdx[field] = idx
	return idx
}

func lastOrderAt(c *customerRec) time.Time {
	if c.c.LastOrderAt == nil {
		return time.Time{}
	}
	return *c.c.LastOrderAt
}

func (f *Fake) listCustomers(r *http.Request) response {
	p := newParams(r)
	page, perPage := p.page()
	field, desc := p.sort(customerSorts, "created_at")
	m := newMatcher(p.str("search"))
	spent := p.decRange("total_spent")
	count := p.decRange("orders_count")
	last := p.timeRange("last_order_at")
	hasOrders := p.boolean("has_orders")
	if res, bad := p.failed(); bad {
		return res
	}
	var match func(*customerRec) bool
	if m != nil || spent.set() || count.set() || last.set() || hasOrders != nil {
		match = func(c *customerRec) bool {
			switch {
			case m != nil && !m.text(c.search, c.digits):
				return false
			case spent.set() && !spent.has(c.c.TotalSpent.Decimal):
				return false
			case count.set() && !count.has(decimalInt(c.c.OrdersCount)):
				return false
			case last.set() && (c.c.LastOrderAt == nil || !last.has(*c.c.LastOrderAt)):
				return false
			case hasOrders != nil && *hasOrders != (c.c.OrdersCount > 0):
				return false
			}
			return true
		}
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	recs, total := pageOf(f.customerIndex(field), desc, match, page, perPage)
	out := make([]whatalo.Customer, len(recs))
	for i, rec := range recs {
		out[i] = rec.c
	}
	return ok(listBody{Data: out, Pagination: pagination(page, perPage, total)})
}

func (f *Fake) countCustomers(r *http.Request) response {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return ok(dataBody{Data: map[string]int{"count": len(f.custList)}})
}

func (f *Fake) getCustomer(r *http.Request) response {
	c, found := f.Customer(r.PathValue("id"))
	if !found {
		return notFound("Customer")
	}
	return ok(dataBody{Data: c})
}

// customerFields reads a customer body; present reports which keys were
// sent, so PATCH can tell "absent" from "set to empty".
func customerFields(r *http.Request) (in map[string]*string, errs []whatalo.FieldError) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, []whatalo.FieldError{{Field: "body", Message: "must be a JSON object"}}
	}
	in = map[string]*string{}
	for _, k := range []string{"name", "email", "phone", "notes"} {
		v, sent := raw[k]
		if !sent {
			continue
		}
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			in[k] = nil
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			errs = append(errs, whatalo.FieldError{Field: k, Message: "must be a string"})
			continue
		}
		s = strings.TrimSpace(s)
		in[k] = &s
	}
	if v, sent := in["name"]; sent && (v == nil || *v == "") {
		errs = append(errs, whatalo.FieldError{Field: "name", Message: "name is required"})
	}
	if v := in["email"]; v != nil && *v != "" {
		if a, err := mail.ParseAddress(*v); err != nil || a.Address != *v {
			errs = append(errs, whatalo.FieldError{Field: "email", Message: "must be a valid email address"})
		}
	}
	if v := in["phone"]; v != nil && len(*v) > 32 {
		errs = append(errs, whatalo.FieldError{Field: "phone", Message: "must be at most 32 characters"})
	}
	if v := in["notes"]; v != nil && len(*v) > 5000 {
		errs = append(errs, whatalo.FieldError{Field: "notes", Message: "must be at most 5000 characters"})
	}
	return in, errs
}

func invalidBody(errs []whatalo.FieldError) response {
	return fail(http.StatusUnprocessableEntity, "VALIDATION_ERROR", "Invalid request body", errs)
}

func (f *Fake) createCustomer(r *http.Request) response {
	in, errs := customerFields(r)
	if in != nil {
		if _, sent := in["name"]; !sent {
			errs = append(errs, whatalo.FieldError{Field: "name", Message: "name is required"})
		}
	}
	if len(errs) > 0 {
		return invalidBody(errs)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now().UTC()
	rec := &customerRec{c: whatalo.Customer{ID: f.newIDLocked(), CreatedAt: now, UpdatedAt: now}}
	applyCustomer(&rec.c, in)
	rec.index()
	rec.aggregate()
	f.customers[rec.c.ID] = rec
	f.custList = append(f.custList, rec)
	f.invalidateLocked()
	return response{http.StatusCreated, dataBody{Data: rec.c}}
}

func (f *Fake) updateCustomer(r *http.Request) response {
	in, errs := customerFields(r)
	if len(errs) > 0 {
		return invalidBody(errs)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := f.customers[r.PathValue("id")]
	if rec == nil {
		return notFound("Customer")
	}
	applyCustomer(&rec.c, in)
	rec.c.UpdatedAt = time.Now().UTC()
	rec.index()
	deriveContact(&rec.c)
	f.invalidateLocked()
	return ok(dataBody{Data: rec.c})
}

func applyCustomer(c *whatalo.Customer, in map[string]*string) {
	for k, v := range in {
		s := ""
		if v != nil {
			s = *v
		}
		switch k {
		case "name":
			c.Name = s
		case "email":
			c.Email = s
		case "phone":
			c.Phone = s
		case "notes":
			c.Notes = s
		}
	}
	deriveContact(c)
}
