package whatalotest

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

var productSorts = []string{"name", "price", "stock_quantity", "created_at", "updated_at"}

// productFilter is the parsed query of GET /v1/products and its count.
type productFilter struct {
	search     string
	status     string
	categories []string
	featured   *bool
	price      decRange
	stock      string
}

func readProductFilter(p *params) productFilter {
	pf := productFilter{
		search:     strings.ToLower(p.str("search")),
		status:     p.str("status"),
		categories: p.list("category_id", nil),
		featured:   p.boolean("is_featured"),
		price:      p.decRange("price"),
		stock:      p.str("stock_status"),
	}
	switch pf.status {
	case "":
		pf.status = "active"
	case "active", "inactive", "all":
	default:
		p.bad("status", "must be active, inactive or all")
	}
	switch pf.stock {
	case "", "in_stock", "low_stock", "out_of_stock":
	default:
		p.bad("stock_status", "must be in_stock, low_stock or out_of_stock")
	}
	return pf
}

func (pf productFilter) match(p *whatalo.Product) bool {
	switch {
	case pf.status == "active" && !p.IsActive, pf.status == "inactive" && p.IsActive:
		return false
	case pf.search != "" && !strings.Contains(strings.ToLower(p.Name), pf.search) &&
		!strings.Contains(strings.ToLower(p.SKU), pf.search) && !strings.Contains(strings.ToLower(p.Slug), pf.search):
		return false
	case len(pf.categories) > 0 && !slices.Contains(pf.categories, p.CategoryID):
		return false
	case pf.featured != nil && *pf.featured != p.IsFeatured:
		return false
	case pf.price.set() && !pf.price.has(p.Price.Decimal):
		return false
	case pf.stock != "" && stockStatus(p) != pf.stock:
		return false
	}
	return true
}

// stockStatus judges stock against the product's own low_stock_threshold.
func stockStatus(p *whatalo.Product) string {
	switch {
	case !p.TrackInventory || p.StockQuantity > p.LowStockThreshold:
		return "in_stock"
	case p.StockQuantity <= 0:
		return "out_of_stock"
	default:
		return "low_stock"
	}
}

func (f *Fake) listProducts(r *http.Request) response {
	p := newParams(r)
	page, perPage := p.page()
	field, desc := p.sort(productSorts, "created_at")
	pf := readProductFilter(p)
	if res, bad := p.failed(); bad {
		return res
	}
	f.mu.RLock()
	sorted := slices.Clone(f.productList)
	f.mu.RUnlock()
	slices.SortFunc(sorted, func(a, b *whatalo.Product) int {
		var c int
		switch field {
		case "name":
			c = strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		case "price":
			c = a.Price.Cmp(b.Price.Decimal)
		case "stock_quantity":
			c = cmp.Compare(a.StockQuantity, b.StockQuantity)
		case "updated_at":
			c = a.UpdatedAt.Compare(b.UpdatedAt)
		default:
			c = a.CreatedAt.Compare(b.CreatedAt)
		}
		if c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	recs, total := pageOf(sorted, desc, pf.match, page, perPage)
	out := make([]whatalo.Product, len(recs))
	for i, rec := range recs {
		out[i] = *rec
	}
	return ok(listBody{Data: out, Pagination: pagination(page, perPage, total)})
}

func (f *Fake) countProducts(r *http.Request) response {
	p := newParams(r)
	pf := readProductFilter(p)
	if res, bad := p.failed(); bad {
		return res
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	n := 0
	for _, prod := range f.productList {
		if pf.match(prod) {
			n++
		}
	}
	return ok(dataBody{Data: map[string]int{"count": n}})
}

func (f *Fake) getProduct(r *http.Request) response {
	f.mu.RLock()
	defer f.mu.RUnlock()
	p := f.products[r.PathValue("id")]
	if p == nil {
		return notFound("Product")
	}
	return ok(dataBody{Data: *p})
}
