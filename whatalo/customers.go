package whatalo

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// CustomersService calls /customers (scopes read:customers, write:customers).
type CustomersService service

// Sort fields accepted by GET /customers.
const (
	CustomerSortName        = "name"
	CustomerSortCreatedAt   = "created_at"
	CustomerSortUpdatedAt   = "updated_at"
	CustomerSortOrdersCount = "orders_count"
	CustomerSortTotalSpent  = "total_spent"
	CustomerSortLastOrderAt = "last_order_at"
)

// Sort directions; Whatalo's default is SortDesc.
const (
	SortAsc  = "asc"
	SortDesc = "desc"
)

// CustomerListOptions are the filters of GET /customers. Zero values and nil
// pointers are left out. Whatalo has no exact phone or email filter and does
// not say which fields Search matches: filter the results yourself.
type CustomerListOptions struct {
	Page    int // from 1
	PerPage int // 1..100; Whatalo's default is 25
	Sort    string
	Order   string
	Search  string

	TotalSpentGTE  *Money
	TotalSpentLTE  *Money
	OrdersCountGTE *int
	OrdersCountLTE *int
	LastOrderAtGTE time.Time
	LastOrderAtLTE time.Time
	HasOrders      *bool
}

func (o *CustomerListOptions) values() url.Values {
	if o == nil {
		return nil
	}
	q := query{}
	q.page(o.Page, o.PerPage)
	q.str("sort", o.Sort)
	q.str("order", o.Order)
	q.str("search", o.Search)
	q.money("total_spent[gte]", o.TotalSpentGTE)
	q.money("total_spent[lte]", o.TotalSpentLTE)
	q.intPtr("orders_count[gte]", o.OrdersCountGTE)
	q.intPtr("orders_count[lte]", o.OrdersCountLTE)
	q.time("last_order_at[gte]", o.LastOrderAtGTE)
	q.time("last_order_at[lte]", o.LastOrderAtLTE)
	q.boolPtr("has_orders", o.HasOrders)
	return url.Values(q)
}

// List returns one page of customers.
func (s *CustomersService) List(ctx context.Context, opts *CustomerListOptions) ([]Customer, *Response, error) {
	return fetchList[Customer](ctx, s.client, "GET /customers", "/customers", opts.values())
}

// Pages walks the list page by page from opts.Page, 100 per page unless
// opts.PerPage says otherwise. A failed page ends the walk with its error;
// WaitOutRateLimits makes a rate-limited page wait and be asked again.
func (s *CustomersService) Pages(ctx context.Context, opts *CustomerListOptions, walk ...WalkOption) iter.Seq2[*Page[Customer], error] {
	return pages(ctx, opts, s.List, walk)
}

// All walks the list customer by customer, as Pages does.
func (s *CustomersService) All(ctx context.Context, opts *CustomerListOptions, walk ...WalkOption) iter.Seq2[Customer, error] {
	return items(s.Pages(ctx, opts, walk...))
}

// Stream walks the list as All does, but decodes each page one customer at
// a time, so that a walk over a large store never holds a page whole. The
// *Customer is reused from one customer to the next: copy what you keep. A
// failed page ends the walk with its error, possibly after some of its
// customers were yielded.
func (s *CustomersService) Stream(ctx context.Context, opts *CustomerListOptions, walk ...WalkOption) iter.Seq2[*Customer, error] {
	return stream[Customer](ctx, s.client, "GET /customers", "/customers", opts, (*CustomerListOptions).values, walk)
}

func (o *CustomerListOptions) pageFields() (page, perPage *int) { return &o.Page, &o.PerPage }

// Get returns one customer.
func (s *CustomersService) Get(ctx context.Context, id string) (*Customer, *Response, error) {
	return fetchID[Customer](ctx, s.client, "GET /customers/{id}", "/customers/", id, "", nil)
}

// Create adds a customer; Name is required.
func (s *CustomersService) Create(ctx context.Context, in CustomerInput) (*Customer, *Response, error) {
	return fetch[Customer](ctx, s.client, "POST /customers", "/customers", nil, in)
}

// Update changes the fields set in in and returns the stored customer.
func (s *CustomersService) Update(ctx context.Context, id string, in CustomerInput) (*Customer, *Response, error) {
	return fetchID[Customer](ctx, s.client, "PATCH /customers/{id}", "/customers/", id, "", in)
}

// Count returns how many customers the store has.
func (s *CustomersService) Count(ctx context.Context) (int, *Response, error) {
	return s.client.count(ctx, "GET /customers/count", "/customers/count", nil)
}

// count decodes a count response. Whatalo does not document its shape; both
// {"data":{"count":N}} and {"data":N} are accepted.
func (c *Client) count(ctx context.Context, route, path string, q url.Values) (int, *Response, error) {
	var raw json.RawMessage
	resp, err := c.do(ctx, route, path, q, nil, &raw)
	if err != nil {
		return 0, resp, err
	}
	if n, err := strconv.Atoi(string(raw)); err == nil {
		return n, resp, nil
	}
	var obj struct {
		Count *int `json:"count"`
		Total *int `json:"total"`
	}
	if err := json.Unmarshal(raw, &obj); err == nil {
		if obj.Count != nil {
			return *obj.Count, resp, nil
		}
		if obj.Total != nil {
			return *obj.Total, resp, nil
		}
	}
	return 0, resp, fmt.Errorf("whatalo: %s: decode response: %w", route,
		&badResponse{msg: "no count in data " + truncate(string(raw), 80)})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
