package whatalotest

import (
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// params reads documented query parameters, collecting validation errors
// to answer them all at once.
type params struct {
	q    url.Values
	errs []whatalo.FieldError
}

func newParams(r *http.Request) *params { return &params{q: r.URL.Query()} }

func (p *params) bad(field, msg string) {
	p.errs = append(p.errs, whatalo.FieldError{Field: field, Message: msg})
}

func (p *params) failed() (response, bool) {
	if len(p.errs) == 0 {
		return response{}, false
	}
	return fail(http.StatusBadRequest, "VALIDATION_ERROR", "Invalid query parameters", p.errs), true
}

func (p *params) str(name string) string { return strings.TrimSpace(p.q.Get(name)) }

func (p *params) intParam(name string, def, lo, hi int) int {
	s := p.str(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		if hi == math.MaxInt {
			p.bad(name, "must be an integer >= "+strconv.Itoa(lo))
		} else {
			p.bad(name, "must be an integer between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi))
		}
		return def
	}
	return n
}

// page reads page (from 1) and per_page (1..100, default 25).
func (p *params) page() (page, perPage int) {
	return p.intParam("page", 1, 1, math.MaxInt), p.intParam("per_page", 25, 1, 100)
}

// sort reads sort (one of allowed, default def) and order (default desc).
func (p *params) sort(allowed []string, def string) (field string, desc bool) {
	field = p.str("sort")
	if field == "" {
		field = def
	} else if !slices.Contains(allowed, field) {
		p.bad("sort", "must be one of "+strings.Join(allowed, ", "))
		field = def
	}
	switch p.str("order") {
	case "", "desc":
		desc = true
	case "asc":
	default:
		p.bad("order", "must be asc or desc")
		desc = true
	}
	return field, desc
}

func (p *params) number(name string) *decimal.Decimal {
	s := p.str(name)
	if s == "" {
		return nil
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		p.bad(name, "must be a number")
		return nil
	}
	return &d
}

// date reads an ISO 8601 date-time; a bare date means the start of that day
// (UTC), or its end when endOfDay, so "date_to=2026-01-31" includes the 31st.
func (p *params) date(name string, endOfDay bool) *time.Time {
	s := p.str(name)
	if s == "" {
		return nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return &t
	}
	if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		return &t
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			t = t.Add(24*time.Hour - time.Nanosecond)
		}
		return &t
	}
	p.bad(name, "must be an ISO 8601 date-time")
	return nil
}

func (p *params) boolean(name string) *bool {
	switch p.str(name) {
	case "":
		return nil
	case "true":
		v := true
		return &v
	case "false":
		v := false
		return &v
	}
	p.bad(name, "must be true or false")
	return nil
}

// list reads a comma-separated list whose values must be in allowed.
func (p *params) list(name string, allowed []string) []string {
	s := p.str(name)
	if s == "" {
		return nil
	}
	var out []string
	for _, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if allowed != nil && !slices.Contains(allowed, v) {
			p.bad(name, "must be a comma-separated list of "+strings.Join(allowed, ", "))
			return nil
		}
		out = append(out, v)
	}
	return out
}

// decRange is a [gte, lte] filter on a number.
type decRange struct{ gte, lte *decimal.Decimal }

func (p *params) decRange(name string) decRange {
	return decRange{p.number(name + "[gte]"), p.number(name + "[lte]")}
}

func (r decRange) set() bool { return r.gte != nil || r.lte != nil }

func (r decRange) has(v decimal.Decimal) bool {
	return (r.gte == nil || v.GreaterThanOrEqual(*r.gte)) && (r.lte == nil || v.LessThanOrEqual(*r.lte))
}

// timeRange is a [from, to] filter on a time, both ends included.
type timeRange struct{ from, to *time.Time }

func (p *params) timeRange(name string) timeRange {
	return timeRange{p.date(name+"[gte]", false), p.date(name+"[lte]", true)}
}

func (r timeRange) set() bool { return r.from != nil || r.to != nil }

func (r timeRange) has(t time.Time) bool {
	return (r.from == nil || !t.Before(*r.from)) && (r.to == nil || !t.After(*r.to))
}

// pageOf returns the page of sorted (walked backwards when desc) whose
// elements pass match (nil: all), and how many pass in total.
func pageOf[T any](sorted []T, desc bool, match func(T) bool, page, perPage int) ([]T, int) {
	start := perPage * (page - 1)
	if page-1 > math.MaxInt/perPage {
		start = math.MaxInt
	}
	n := len(sorted)
	out := make([]T, 0, min(perPage, n))
	if match == nil {
		for i := start; i < n && len(out) < perPage; i++ {
			if desc {
				out = append(out, sorted[n-1-i])
			} else {
				out = append(out, sorted[i])
			}
		}
		return out, n
	}
	total := 0
	for i := range n {
		x := sorted[i]
		if desc {
			x = sorted[n-1-i]
		}
		if !match(x) {
			continue
		}
		if total >= start && len(out) < perPage {
			out = append(out, x)
		}
		total++
	}
	return out, total
}

func pagination(page, perPage, total int) whatalo.Pagination {
	return whatalo.Pagination{Page: page, PerPage: perPage, Total: total, TotalPages: (total + perPage - 1) / perPage}
}

// matcher is a search query: a lowercase substring, and a digit string when
// the query looks like a phone number.
type matcher struct {
	lower  string
	digits string
	number int // order number when the query is "#1001" or "1001"
}

func newMatcher(q string) *matcher {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil
	}
	m := &matcher{lower: strings.ToLower(q)}
	phoneLike := true
	digits := 0
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '+' || r == '-' || r == '(' || r == ')':
		default:
			phoneLike = false
		}
	}
	if phoneLike && digits >= 4 {
		m.digits = digitsOf(q)
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(q, "#")); err == nil && n > 0 {
		m.number = n
	}
	return m
}

// text matches a precomputed search key (lowercase fields joined by NUL)
// and a phone's digits.
func (m *matcher) text(search, digits string) bool {
	return strings.Contains(search, m.lower) || (m.digits != "" && strings.Contains(digits, m.digits))
}
