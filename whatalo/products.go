package whatalo

import (
	"context"
	"iter"
	"net/url"
)

// ProductsService calls /products (scope read:products).
type ProductsService service

// Sort fields accepted by GET /products.
const (
	ProductSortName          = "name"
	ProductSortPrice         = "price"
	ProductSortStockQuantity = "stock_quantity"
	ProductSortCreatedAt     = "created_at"
	ProductSortUpdatedAt     = "updated_at"
)

// ProductListOptions are the filters of GET /products. Zero values and nil
// pointers are left out. Whatalo lists only active products unless Status
// says "inactive" or "all".
type ProductListOptions struct {
	Page    int // from 1
	PerPage int // 1..100; Whatalo's default is 25
	Sort    string
	Order   string
	Search  string

	Status      string   // active (Whatalo's default), inactive or all
	CategoryID  []string // any of these categories (sent comma-joined)
	IsFeatured  *bool
	PriceGTE    *Money
	PriceLTE    *Money
	StockStatus string // in_stock, low_stock or out_of_stock
}

func (o *ProductListOptions) values() url.Values {
	if o == nil {
		return nil
	}
	q := query{}
	q.page(o.Page, o.PerPage)
	q.str("sort", o.Sort)
	q.str("order", o.Order)
	q.str("search", o.Search)
	q.str("status", o.Status)
	q.list("category_id", o.CategoryID)
	q.boolPtr("is_featured", o.IsFeatured)
	q.money("price[gte]", o.PriceGTE)
	q.money("price[lte]", o.PriceLTE)
	q.str("stock_status", o.StockStatus)
	return url.Values(q)
}

// List returns one page of products.
func (s *ProductsService) List(ctx context.Context, opts *ProductListOptions) ([]Product, *Response, error) {
	return fetchList[Product](ctx, s.client, "GET /products", "/products", opts.values())
}

// Pages walks the list page by page from opts.Page, 100 per page unless
// opts.PerPage says otherwise. A failed page ends the walk with its error;
// WaitOutRateLimits makes a rate-limited page wait and be asked again.
func (s *ProductsService) Pages(ctx context.Context, opts *ProductListOptions, walk ...WalkOption) iter.Seq2[*Page[Product], error] {
	return pages(ctx, opts, s.List, walk)
}

// All walks the list product by product, as Pages does.
func (s *ProductsService) All(ctx context.Context, opts *ProductListOptions, walk ...WalkOption) iter.Seq2[Product, error] {
	return items(s.Pages(ctx, opts, walk...))
}

func (o *ProductListOptions) pageFields() (page, perPage *int) { return &o.Page, &o.PerPage }

// Get returns one product.
func (s *ProductsService) Get(ctx context.Context, id string) (*Product, *Response, error) {
	return fetchID[Product](ctx, s.client, "GET /products/{id}", "/products/", id, "", nil)
}
