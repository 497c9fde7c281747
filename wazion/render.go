package wazion

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits WAzion's side panel applies; applying them here keeps responses
// small and predictable.
const (
	// MaxGlobalResults is how many customers globalSearch returns.
	MaxGlobalResults = 15
	// MaxGlobalOrders is how many orders each globalSearch customer lists.
	MaxGlobalOrders = 3
	// MaxDescriptionRunes bounds a product description in the normal format.
	MaxDescriptionRunes = 500
	// MinQueryRunes is the shortest globalSearch query or search_Products q.
	MinQueryRunes = 2
)

// Ellipsis ends a description cut to MaxDescriptionRunes. It is one rune, so
// a cut description is at most MaxDescriptionRunes runes in all.
const Ellipsis = "…"

// The shaping functions below turn a Backend answer (possibly nil) and an
// error message into the body sent to WAzion, one per endpoint, each of the
// signature of endpoint.shape. They never modify what a Backend returned: a
// Backend may hand out cached values shared by concurrent requests. They copy
// whatever they need to change.

// shapeCustomerInfo makes a sidePanel_CustomerInfo answer consistent: no
// null arrays, found matching the customers, labels present.
func shapeCustomerInfo(labels *Labels, _ Request, resp *CustomerInfoResponse, errMsg string) shaped {
	var out CustomerInfoResponse
	if resp != nil {
		out = *resp
	}
	out.Customers = nonNilCustomers(out.Customers)
	out.Found = len(out.Customers) > 0
	if out.Labels == nil {
		out.Labels = labels
	}
	if errMsg != "" {
		out.Error = errMsg
	}
	return shaped{body: &out, found: out.Found, errMsg: out.Error}
}

func nonNilCustomers(cs []Customer) []Customer {
	if cs == nil {
		return []Customer{}
	}
	clean := true
	for i := range cs {
		if !customerClean(&cs[i]) {
			clean = false
			break
		}
	}
	if clean {
		return cs
	}
	out := make([]Customer, len(cs))
	copy(out, cs)
	for i := range out {
		c := &out[i]
		c.Orders = withItems(c.Orders, func(o *Order) *[]Item { return &o.Items })
		c.AbandonedCarts = withItems(c.AbandonedCarts, func(a *AbandonedCart) *[]CartItem { return &a.Items })
	}
	return out
}

func customerClean(c *Customer) bool {
	if c.Orders == nil || c.AbandonedCarts == nil {
		return false
	}
	for i := range c.Orders {
		if c.Orders[i].Items == nil {
			return false
		}
	}
	for i := range c.AbandonedCarts {
		if c.AbandonedCarts[i].Items == nil {
			return false
		}
	}
	return true
}

// withItems copies xs, orders or carts, with every null list of items
// made empty; it never returns nil.
func withItems[T, Item any](xs []T, items func(*T) *[]Item) []T {
	out := make([]T, len(xs))
	copy(out, xs)
	for i := range out {
		if p := items(&out[i]); *p == nil {
			*p = []Item{}
		}
	}
	return out
}

func shapeInitialInfo(_ *Labels, _ Request, resp *InitialInfoResponse, errMsg string) shaped {
	var out InitialInfoResponse
	if resp != nil {
		out = *resp
	}
	if errMsg != "" {
		out.Error = errMsg
	}
	return shaped{body: &out, found: out.Found, errMsg: out.Error}
}

func shapeFindToJoin(_ *Labels, _ Request, resp *FindToJoinResponse, errMsg string) shaped {
	var out FindToJoinResponse
	if resp != nil {
		out = *resp
	}
	if out.Customers == nil {
		out.Customers = []JoinCustomer{}
	}
	if errMsg != "" {
		out.Error = errMsg
	}
	return shaped{body: &out, found: len(out.Customers) > 0, errMsg: out.Error}
}

// shapeGlobalSearch keeps the first MaxGlobalResults customers with distinct
// phones (compared by digits), each with at most MaxGlobalOrders orders.
// Customers without a phone are kept, deduplicated by id.
func shapeGlobalSearch(_ *Labels, _ Request, resp *GlobalSearchResponse, errMsg string) shaped {
	var out GlobalSearchResponse
	if resp != nil {
		out = *resp
	}
	customers := make([]GlobalCustomer, 0, min(len(out.Customers), MaxGlobalResults))
	seen := make(map[string]struct{}, cap(customers))
	for _, c := range out.Customers {
		if len(customers) == MaxGlobalResults {
			break
		}
		key := "id:" + c.ID
		if d := digitsOf(c.Phone); d != "" {
			key = d
		}
		if key != "id:" {
			if _, dup := seen[key]; dup {
				continue
			}
			seen[key] = struct{}{}
		}
		switch {
		case c.Orders == nil:
			c.Orders = []OrderLink{}
		case len(c.Orders) > MaxGlobalOrders:
			c.Orders = c.Orders[:MaxGlobalOrders:MaxGlobalOrders]
		}
		customers = append(customers, c)
	}
	out.Customers = customers
	out.Found = len(customers) > 0
	if errMsg != "" {
		out.Error = errMsg
	}
	return shaped{body: &out, found: out.Found, errMsg: out.Error}
}

// emptyRaw is sent as "raw" when a Backend has no source summary.
var emptyRaw = json.RawMessage(`{}`)

// productPage is search_Products in WAzion's normal (side panel) format.
type productPage struct {
	HTTPStatus   int             `json:"http_status"`
	Count        int             `json:"count"`
	Products     []normalProduct `json:"products"`
	TargetLocale string          `json:"target_locale"`
	Raw          any             `json:"raw"`
	Error        string          `json:"error,omitempty"`
}

type normalProduct struct {
	Title       string          `json:"title"`
	TitleCopy   string          `json:"title_copy"`
	Handle      string          `json:"handle"`
	Description string          `json:"description"`
	SKU         string          `json:"sku"`
	Image       string          `json:"image"`
	URL         string          `json:"url"`
	Price       float64         `json:"price"`
	Currency    string          `json:"currency"`
	InStock     *bool           `json:"in_stock,omitempty"`
	Variants    []normalVariant `json:"variants"`
}

type normalVariant struct {
	ID             string  `json:"id"`
	Title          string  `json:"title"`
	TitleCopy      string  `json:"title_copy"`
	HasCustomTitle bool    `json:"has_custom_title"`
	SKU            string  `json:"sku"`
	Image          string  `json:"image"`
	URL            string  `json:"url"`
	Price          float64 `json:"price"`
}

// aiPage is search_Products in WAzion's AI format (format=ai).
type aiPage struct {
	Count    int         `json:"count"`
	Products []aiProduct `json:"products"`
	Locale   string      `json:"locale"`
	Error    string      `json:"error,omitempty"`
}

type aiProduct struct {
	Title       string      `json:"title"`
	Handle      string      `json:"handle"`
	Description string      `json:"description"`
	SKU         string      `json:"sku"`
	URL         string      `json:"url"`
	Price       float64     `json:"price"`
	Currency    string      `json:"currency"`
	InStock     *bool       `json:"in_stock,omitempty"`
	Variants    []aiVariant `json:"variants"`
}

type aiVariant struct {
	ID    string  `json:"id"`
	Title string  `json:"title"`
	SKU   string  `json:"sku"`
	URL   string  `json:"url"`
	Price float64 `json:"price"`
}

// shapeProducts renders a product search in the format req asks for.
func shapeProducts(_ *Labels, req Request, resp *ProductSearch, errMsg string) shaped {
	found := resp != nil && len(resp.Products) > 0
	return shaped{body: renderProducts(resp, req, errMsg), found: found, errMsg: errMsg}
}

// renderProducts renders a product search in the format req asks for. In
// the normal format title is the store's and title_copy the customer's
// language; the AI format has one title, the customer's (WAzion's table:
// "Traducido").
func renderProducts(ps *ProductSearch, req Request, errMsg string) any {
	var src ProductSearch
	if ps != nil {
		src = *ps
	}
	locale := firstNonEmpty(src.Locale, req.TargetLocale)
	if req.Format == "ai" {
		page := aiPage{Count: len(src.Products), Products: make([]aiProduct, len(src.Products)), Locale: locale, Error: errMsg}
		for i := range src.Products {
			page.Products[i] = aiProductOf(&src.Products[i])
		}
		return &page
	}
	page := productPage{
		HTTPStatus:   200,
		Count:        len(src.Products),
		Products:     make([]normalProduct, len(src.Products)),
		TargetLocale: locale,
		Raw:          src.Raw,
		Error:        errMsg,
	}
	if page.Raw == nil {
		page.Raw = emptyRaw
	}
	for i := range src.Products {
		page.Products[i] = normalProductOf(&src.Products[i])
	}
	return &page
}

func normalProductOf(p *Product) normalProduct {
	out := normalProduct{
		Title:       p.Title,
		TitleCopy:   firstNonEmpty(p.TitleCopy, p.Title),
		Handle:      p.Handle,
		Description: CutDescription(p.Description),
		SKU:         productSKU(p),
		Image:       p.Image,
		URL:         p.URL,
		Price:       p.Price,
		Currency:    p.Currency,
		InStock:     p.InStock,
		Variants:    make([]normalVariant, len(p.Variants)),
	}
	for i, v := range p.Variants {
		out.Variants[i] = normalVariant{
			ID:             v.ID,
			Title:          v.Title,
			TitleCopy:      firstNonEmpty(v.TitleCopy, v.Title),
			HasCustomTitle: v.HasCustomTitle,
			SKU:            v.SKU,
			Image:          firstNonEmpty(v.Image, p.Image),
			URL:            variantURL(p, &v),
			Price:          v.Price,
		}
	}
	return out
}

func aiProductOf(p *Product) aiProduct {
	out := aiProduct{
		Title:       firstNonEmpty(p.TitleCopy, p.Title),
		Handle:      p.Handle,
		Description: p.Description,
		SKU:         productSKU(p),
		URL:         p.URL,
		Price:       p.Price,
		Currency:    p.Currency,
		InStock:     p.InStock,
		Variants:    make([]aiVariant, len(p.Variants)),
	}
	for i, v := range p.Variants {
		out.Variants[i] = aiVariant{
			ID:    v.ID,
			Title: firstNonEmpty(v.TitleCopy, v.Title),
			SKU:   v.SKU,
			URL:   variantURL(p, &v),
			Price: v.Price,
		}
	}
	return out
}

// productSKU is the product's SKU or, as WAzion documents it, the first
// variant's.
func productSKU(p *Product) string {
	if p.SKU != "" || len(p.Variants) == 0 {
		return p.SKU
	}
	return p.Variants[0].SKU
}

// variantURL is the variant's own URL or the product URL with ?variant=ID.
func variantURL(p *Product, v *Variant) string {
	if v.URL != "" || p.URL == "" || v.ID == "" {
		return v.URL
	}
	sep := "?"
	if strings.Contains(p.URL, "?") {
		sep = "&"
	}
	return p.URL + sep + "variant=" + v.ID
}

// CutDescription shortens s to at most MaxDescriptionRunes runes for the
// normal format: a longer text keeps its first MaxDescriptionRunes-1 runes,
// loses trailing spaces, and ends with Ellipsis. Cuts fall on rune
// boundaries, so multi-byte text stays valid UTF-8.
func CutDescription(s string) string {
	if utf8.RuneCountInString(s) <= MaxDescriptionRunes {
		return s
	}
	n := 0
	for i := range s {
		if n == MaxDescriptionRunes-1 {
			return strings.TrimRightFunc(s[:i], unicode.IsSpace) + Ellipsis
		}
		n++
	}
	return s
}
