package adapter

import (
	"net/url"
	"strings"
)

// URLTemplates are a store's links into the Whatalo dashboard and its
// storefront. Placeholders: {store_url} (the storefront URL, no trailing
// slash), {id}, {number}, {slug}, {variant_id} and, in Variant only,
// {product_url}. Values other than the two URLs are escaped for a URL path
// (a query value in Variant). An empty template gives no link, and so does a
// template whose placeholder has no value, rather than a broken link.
type URLTemplates struct {
	Customer string
	Order    string
	Product  string
	Variant  string
}

// DefaultURLTemplates returns Whatalo's dashboard links for customers and
// orders and the storefront's product pages.
func DefaultURLTemplates() URLTemplates {
	return URLTemplates{
		Customer: "https://app.whatalo.com/customers/{id}",
		Order:    "https://app.whatalo.com/orders/{id}",
		Product:  "{store_url}/products/{slug}",
		Variant:  "{product_url}?variant={variant_id}",
	}
}

// WithDefaults fills the empty templates of t from DefaultURLTemplates.
func (t URLTemplates) WithDefaults() URLTemplates {
	d := DefaultURLTemplates()
	if t.Customer == "" {
		t.Customer = d.Customer
	}
	if t.Order == "" {
		t.Order = d.Order
	}
	if t.Product == "" {
		t.Product = d.Product
	}
	if t.Variant == "" {
		t.Variant = d.Variant
	}
	return t
}

// CustomerURL is the link to the customer id of the store at storeURL.
func (t URLTemplates) CustomerURL(storeURL, id string) string {
	return expandURL(t.Customer, map[string]string{
		"{store_url}": storeBase(storeURL),
		"{id}":        url.PathEscape(id),
	})
}

// OrderURL is the link to an order, by its id and its number (1042).
func (t URLTemplates) OrderURL(storeURL, id, number string) string {
	return expandURL(t.Order, map[string]string{
		"{store_url}": storeBase(storeURL),
		"{id}":        url.PathEscape(id),
		"{number}":    url.PathEscape(number),
	})
}

// ProductURL is the storefront page of a product, by its slug and id.
func (t URLTemplates) ProductURL(storeURL, slug, id string) string {
	return expandURL(t.Product, map[string]string{
		"{store_url}": storeBase(storeURL),
		"{id}":        url.PathEscape(id),
		"{slug}":      url.PathEscape(slug),
	})
}

// VariantURL is the page of one variant: productURL (already localized)
// plus ?variant=ID, or &variant=ID when productURL has a query already. A
// fragment of productURL stays at the end.
func (t URLTemplates) VariantURL(productURL, variantID string) string {
	if t.Variant == "" || productURL == "" {
		return ""
	}
	base, fragment, hasFragment := strings.Cut(productURL, "#")
	tmpl := t.Variant
	if strings.Contains(base, "?") {
		tmpl = strings.ReplaceAll(tmpl, "{product_url}?", "{product_url}&")
	}
	out := expandURL(tmpl, map[string]string{
		"{product_url}": base,
		"{variant_id}":  url.QueryEscape(variantID),
	})
	if out != "" && hasFragment {
		out += "#" + fragment
	}
	return out
}

// storeBase trims the trailing slash so "{store_url}/products" has one.
func storeBase(storeURL string) string {
	return strings.TrimRight(strings.TrimSpace(storeURL), "/")
}

// expandURL replaces the placeholders of tmpl, and gives "" when tmpl is
// empty or uses a placeholder whose value is empty.
func expandURL(tmpl string, values map[string]string) string {
	if tmpl == "" {
		return ""
	}
	pairs := make([]string, 0, 2*len(values))
	for k, v := range values {
		if strings.Contains(tmpl, k) {
			if v == "" {
				return ""
			}
			pairs = append(pairs, k, v)
		}
	}
	return strings.NewReplacer(pairs...).Replace(tmpl)
}

// LocaleRule localizes product URLs for customers of some countries,
// judged by their phone number.
type LocaleRule struct {
	// Countries are ISO 3166 alpha-2 regions; "*" matches any, including
	// an unknown region.
	Countries []string
	// Locale is reported as the customer's locale ("en", "pt_BR").
	Locale string
	// Domain replaces the URL's host, and its scheme when it has one:
	// "https://shop.example.us" or "shop.example.us".
	Domain string
	// PathPrefix is put before the path: "/en".
	PathPrefix string
	// Query is added to the query, replacing parameters of the same name:
	// "locale=en_US".
	Query string
}

// Matches reports whether the rule applies to region.
func (r LocaleRule) Matches(region string) bool {
	for _, c := range r.Countries {
		c = strings.TrimSpace(c)
		if c == "*" || (region != "" && strings.EqualFold(c, region)) {
			return true
		}
	}
	return false
}

// LocalizeURL applies the first rule matching region to u and returns the
// new URL and the rule's locale. With no matching rule u comes back as it
// is with locale "". A u that is not a URL is returned unchanged, still
// with the matching rule's locale.
func LocalizeURL(u, region string, rules []LocaleRule) (string, string) {
	region = strings.TrimSpace(region)
	for _, r := range rules {
		if r.Matches(region) {
			return r.apply(u), r.Locale
		}
	}
	return u, ""
}

func (r LocaleRule) apply(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	if d := strings.TrimSpace(r.Domain); d != "" {
		if strings.Contains(d, "://") {
			du, err := url.Parse(d)
			if err == nil && du.Host != "" {
				u.Scheme, u.Host = du.Scheme, du.Host
			}
		} else {
			u.Host = strings.Trim(d, "/")
		}
	}
	if p := strings.Trim(strings.TrimSpace(r.PathPrefix), "/"); p != "" {
		p = "/" + p
		path := u.EscapedPath()
		if path != p && !strings.HasPrefix(path, p+"/") {
			if path == "" {
				path = "/"
			}
			joined := p + path
			if unescaped, err := url.PathUnescape(joined); err == nil {
				u.Path, u.RawPath = unescaped, joined
			}
		}
	}
	if q := strings.Trim(strings.TrimSpace(r.Query), "?&"); q != "" {
		u.RawQuery = mergeQuery(u.RawQuery, q)
	}
	return u.String()
}

// mergeQuery appends add to query, first dropping the parameters add sets,
// and keeps the rest of query as it was written (url.Values would reorder
// and re-escape it).
func mergeQuery(query, add string) string {
	names := map[string]bool{}
	for part := range strings.SplitSeq(add, "&") {
		names[queryName(part)] = true
	}
	var kept []string
	for part := range strings.SplitSeq(query, "&") {
		if part != "" && !names[queryName(part)] {
			kept = append(kept, part)
		}
	}
	return strings.Join(append(kept, add), "&")
}

func queryName(part string) string {
	name, _, _ := strings.Cut(part, "=")
	if n, err := url.QueryUnescape(name); err == nil {
		return n
	}
	return name
}
