package adapter

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/phone"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// maxProducts bounds a product search.
const maxProducts = 20

// productPage is a cached product search.
type productPage struct {
	Products []whatalo.Product
	Total    int
}

// SearchProducts answers search_Products: active products matching q, with
// plain-text descriptions and URLs localised by the customer's phone
// country.
func (b *Backend) SearchProducts(ctx context.Context, req wazion.Request) (*wazion.ProductSearch, error) {
	ctx = b.begin(ctx)
	q := strings.TrimSpace(req.Query)
	out := &wazion.ProductSearch{Products: []wazion.Product{}, Locale: b.locale(req)}
	if utf8.RuneCountInString(q) < 2 {
		return out, nil
	}
	page, res, err := cache.Fetch(ctx, b.cache, cache.KindProducts, strings.ToLower(q), func(ctx context.Context) (*productPage, error) {
		ps, resp, err := b.client.Products.List(ctx, &whatalo.ProductListOptions{Search: q, Status: "active", PerPage: maxProducts})
		if err != nil {
			return nil, fmt.Errorf("search products %q: %w", q, err)
		}
		p := &productPage{Products: ps, Total: len(ps)}
		if resp != nil {
			p.Total = resp.Pagination.Total
		}
		return p, nil
	})
	annotateCache(ctx, res)
	if err != nil {
		return out, public(err)
	}
	storeURL, currency := b.storefront(ctx)
	region := ""
	if req.Phone != "" {
		if e164, err := b.phones.Normalize(req.Phone, b.region(ctx)); err == nil {
			region = phone.Region(e164)
		}
	}
	locale := ""
	if page != nil {
		for _, p := range page.Products {
			wp, l := b.mapProduct(&p, storeURL, currency, region)
			if l != "" {
				locale = l
			}
			out.Products = append(out.Products, wp)
		}
		out.Raw = map[string]any{"source": "whatalo", "query": q, "total": page.Total, "returned": len(page.Products)}
	}
	if locale != "" {
		out.Locale = locale
	}
	return out, nil
}

// locale is the locale reported when no URL rule sets one: WAzion's
// target_locale, else the label language.
func (b *Backend) locale(req wazion.Request) string {
	if req.TargetLocale != "" {
		return req.TargetLocale
	}
	return b.opts.Language
}

// storefront returns the store's public URL and currency; a store info
// failure leaves them empty rather than failing the search.
func (b *Backend) storefront(ctx context.Context) (url, currency string) {
	s, err := b.storeInfo(ctx)
	if err != nil || s == nil {
		return "", ""
	}
	url = s.StorefrontURL
	if s.HasCustomDomain && s.DomainVerified && s.CustomDomain != "" {
		url = "https://" + strings.TrimPrefix(strings.TrimPrefix(s.CustomDomain, "https://"), "http://")
	}
	return strings.TrimRight(url, "/"), s.Currency
}

// mapProduct maps one product; the second result is the locale of the URL
// rule applied, if any.
func (b *Backend) mapProduct(p *whatalo.Product, storeURL, currency, region string) (wazion.Product, string) {
	url, locale := LocalizeURL(b.opts.URLs.ProductURL(storeURL, p.Slug, p.ID), region, b.opts.Locales)
	wp := wazion.Product{
		Title:       p.Name,
		TitleCopy:   p.Name,
		Handle:      p.Slug,
		Description: StripHTML(p.Description),
		SKU:         p.SKU,
		Image:       p.MainImage,
		URL:         url,
		Price:       b.money(p.Price),
		Currency:    currency,
		Variants:    make([]wazion.Variant, 0, len(p.Variants)),
	}
	if p.TrackInventory {
		in := p.StockQuantity > 0 || p.ContinueSelling
		wp.InStock = &in
	}
	for _, v := range p.Variants {
		title := v.Title()
		wv := wazion.Variant{
			ID:             v.ID,
			Title:          title,
			TitleCopy:      title,
			HasCustomTitle: customVariantTitle(p.Name, title),
			SKU:            v.SKU,
			Image:          v.Image,
			URL:            b.opts.URLs.VariantURL(url, v.ID),
			Price:          wp.Price,
		}
		if wv.Image == "" {
			wv.Image = p.MainImage
		}
		if v.Price != nil {
			wv.Price = b.money(*v.Price)
		}
		wp.Variants = append(wp.Variants, wv)
	}
	if wp.SKU == "" && len(p.Variants) > 0 {
		wp.SKU = p.Variants[0].SKU
	}
	return wp, locale
}
