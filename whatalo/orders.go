package whatalo

import (
	"context"
	"iter"
	"net/url"
	"time"
)

// OrdersService calls /orders (scope read:orders).
type OrdersService service

// Sort fields accepted by GET /orders.
const (
	OrderSortOrderNumber  = "order_number"
	OrderSortTotal        = "total"
	OrderSortCreatedAt    = "created_at"
	OrderSortUpdatedAt    = "updated_at"
	OrderSortCustomerName = "customer_name"
)

// OrderListOptions are the filters of GET /orders. Zero values and nil
// pointers are left out. UpdatedAtGTE is the filter for incremental sync.
type OrderListOptions struct {
	Page    int // from 1
	PerPage int // 1..100; Whatalo's default is 25
	Sort    string
	Order   string
	Search  string

	CustomerID    string
	Status        []string // any of these statuses (sent comma-joined)
	PaymentStatus string   // pending, paid, refunded, failed or all
	DateFrom      time.Time
	DateTo        time.Time
	UpdatedAtGTE  time.Time
	UpdatedAtLTE  time.Time
	TotalGTE      *Money
	TotalLTE      *Money
	City          string // case-insensitive
	Province      string
	Country       string // country name
	CountryCode   string // ISO 3166-1 alpha-2
}

func (o *OrderListOptions) values() url.Values {
	if o == nil {
		return nil
	}
	q := query{}
	q.page(o.Page, o.PerPage)
	q.str("sort", o.Sort)
	q.str("order", o.Order)
	q.str("search", o.Search)
	q.str("customer_id", o.CustomerID)
	q.list("status", o.Status)
	q.str("payment_status", o.PaymentStatus)
	q.time("date_from", o.DateFrom)
	q.time("date_to", o.DateTo)
	q.time("updated_at[gte]", o.UpdatedAtGTE)
	q.time("updated_at[lte]", o.UpdatedAtLTE)
	q.money("total[gte]", o.TotalGTE)
	q.money("total[lte]", o.TotalLTE)
	q.str("city", o.City)
	q.str("province", o.Province)
	q.str("country", o.Country)
	q.str("country_code", o.CountryCode)
	return url.Values(q)
}

// List returns one page of orders, without items.
func (s *OrdersService) List(ctx context.Context, opts *OrderListOptions) ([]Order, *Response, error) {
	return fetchList[Order](ctx, s.client, "GET /orders", "/orders", opts.values())
}

// Pages walks the list page by page from opts.Page, 100 per page unless
// opts.PerPage says otherwise. A failed page ends the walk with its error;
// WaitOutRateLimits makes a rate-limited page wait and be asked again.
func (s *OrdersService) Pages(ctx context.Context, opts *OrderListOptions, walk ...WalkOption) iter.Seq2[*Page[Order], error] {
	return pages(ctx, opts, s.List, walk)
}

// All walks the list order by order, as Pages does.
func (s *OrdersService) All(ctx context.Context, opts *OrderListOptions, walk ...WalkOption) iter.Seq2[Order, error] {
	return items(s.Pages(ctx, opts, walk...))
}

func (o *OrderListOptions) pageFields() (page, perPage *int) { return &o.Page, &o.PerPage }

// Get returns one order with its items.
func (s *OrdersService) Get(ctx context.Context, id string) (*Order, *Response, error) {
	return fetchID[Order](ctx, s.client, "GET /orders/{id}", "/orders/", id, "", nil)
}

// Items returns an order's line items.
func (s *OrdersService) Items(ctx context.Context, id string) ([]LineItem, *Response, error) {
	items, resp, err := fetchID[[]LineItem](ctx, s.client, "GET /orders/{id}/items", "/orders/", id, "/items", nil)
	if err != nil {
		return nil, resp, err
	}
	return *items, resp, nil
}
