package adapter

import "testing"

func TestURLTemplatesDefaults(t *testing.T) {
	u := DefaultURLTemplates()
	const store = "https://tienda.example.do/"
	tests := []struct{ name, got, want string }{
		{"customer", u.CustomerURL(store, "365047281936"), "https://app.whatalo.com/customers/365047281936"},
		{"order", u.OrderURL(store, "819365047283", "1042"), "https://app.whatalo.com/orders/819365047283"},
		{"product", u.ProductURL(store, "camiseta-premium", "472819365047"), "https://tienda.example.do/products/camiseta-premium"},
		{"product, store without slash", u.ProductURL("https://tienda.example.do", "gorra", "1"), "https://tienda.example.do/products/gorra"},
		{"variant", u.VariantURL("https://tienda.example.do/products/gorra", "v1"), "https://tienda.example.do/products/gorra?variant=v1"},
		{"variant after a query", u.VariantURL("https://tienda.example.do/products/gorra?locale=en_US", "v1"), "https://tienda.example.do/products/gorra?locale=en_US&variant=v1"},
		{"variant keeps the fragment last", u.VariantURL("https://tienda.example.do/products/gorra?a=1#fotos", "v1"), "https://tienda.example.do/products/gorra?a=1&variant=v1#fotos"},
		{"escaped id", u.CustomerURL(store, "a/b c?d"), "https://app.whatalo.com/customers/a%2Fb%20c%3Fd"},
		{"escaped slug", u.ProductURL(store, "camión azul", "1"), "https://tienda.example.do/products/cami%C3%B3n%20azul"},
		{"escaped variant id", u.VariantURL("https://x.example/p", "a&b=c"), "https://x.example/p?variant=a%26b%3Dc"},
		{"missing slug gives no link", u.ProductURL(store, "", "1"), ""},
		{"missing store url gives no link", u.ProductURL("", "gorra", "1"), ""},
		{"missing id gives no link", u.CustomerURL(store, ""), ""},
		{"missing product url gives no variant link", u.VariantURL("", "v1"), ""},
		{"missing variant id gives no link", u.VariantURL("https://x.example/p", ""), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestURLTemplatesCustom(t *testing.T) {
	u := URLTemplates{
		Customer: "{store_url}/admin/clientes/{id}",
		Order:    "{store_url}/admin/pedidos/{number}?id={id}",
		Product:  "https://cdn.example/{id}/{slug}",
		Variant:  "{product_url}?v={variant_id}&utm=wazion",
	}
	const store = "https://tienda.example.co"
	tests := []struct{ name, got, want string }{
		{"customer", u.CustomerURL(store, "42"), "https://tienda.example.co/admin/clientes/42"},
		{"order by number", u.OrderURL(store, "819", "1042"), "https://tienda.example.co/admin/pedidos/1042?id=819"},
		{"order without number", u.OrderURL(store, "819", ""), ""},
		{"product ignores store url", u.ProductURL("", "gorra", "7"), "https://cdn.example/7/gorra"},
		{"variant", u.VariantURL("https://cdn.example/7/gorra", "v2"), "https://cdn.example/7/gorra?v=v2&utm=wazion"},
		{"variant after a query", u.VariantURL("https://cdn.example/7/gorra?x=1", "v2"), "https://cdn.example/7/gorra?x=1&v=v2&utm=wazion"},
		{"placeholder text in a value is not expanded", u.CustomerURL(store, "{store_url}"), "https://tienda.example.co/admin/clientes/%7Bstore_url%7D"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}

	var empty URLTemplates
	if got := empty.CustomerURL(store, "1") + empty.OrderURL(store, "1", "2") + empty.ProductURL(store, "s", "1") + empty.VariantURL("https://x.example/p", "v"); got != "" {
		t.Errorf("empty templates gave %q, want no links", got)
	}
	if got, want := empty.WithDefaults(), DefaultURLTemplates(); got != want {
		t.Errorf("WithDefaults() = %+v, want %+v", got, want)
	}
	if got := (URLTemplates{Customer: "x/{id}"}).WithDefaults(); got.Customer != "x/{id}" || got.Order != DefaultURLTemplates().Order {
		t.Errorf("WithDefaults() replaced a set template or missed an empty one: %+v", got)
	}
}

func TestLocalizeURL(t *testing.T) {
	rules := []LocaleRule{
		{Countries: []string{"US", "ca"}, Locale: "en", PathPrefix: "/en"},
		{Countries: []string{"BR"}, Locale: "pt_BR", Domain: "https://loja.example.com.br"},
		{Countries: []string{"PT"}, Locale: "pt", Domain: "loja.example.pt"},
		{Countries: []string{"DE", "AT"}, Locale: "de", Query: "locale=de_DE"},
		{Countries: []string{"FR"}, Locale: "fr", Domain: "https://fr.example.com", PathPrefix: "fr/", Query: "?lang=fr&currency=EUR"},
		{Countries: []string{"DE"}, Locale: "never", PathPrefix: "/never"}, // shadowed by the DE rule above
	}
	const product = "https://tienda.example.com/products/gorra"
	tests := []struct {
		name, url, region string
		rules             []LocaleRule
		want, locale      string
	}{
		{"path prefix", product, "US", rules, "https://tienda.example.com/en/products/gorra", "en"},
		{"country case-insensitive", product, "CA", rules, "https://tienda.example.com/en/products/gorra", "en"},
		{"prefix not doubled", "https://tienda.example.com/en/products/gorra", "US", rules, "https://tienda.example.com/en/products/gorra", "en"},
		{"prefix on bare host", "https://tienda.example.com", "US", rules, "https://tienda.example.com/en/", "en"},
		{"prefix keeps escaping", "https://tienda.example.com/products/cami%C3%B3n%20azul", "US", rules, "https://tienda.example.com/en/products/cami%C3%B3n%20azul", "en"},
		{"prefix keeps query", product + "?variant=v1", "US", rules, "https://tienda.example.com/en/products/gorra?variant=v1", "en"},
		{"domain with scheme", "http://tienda.example.com/products/gorra?variant=v1", "BR", rules, "https://loja.example.com.br/products/gorra?variant=v1", "pt_BR"},
		{"domain without scheme keeps scheme", product, "PT", rules, "https://loja.example.pt/products/gorra", "pt"},
		{"query appended", product, "DE", rules, "https://tienda.example.com/products/gorra?locale=de_DE", "de"},
		{"query after an existing query", product + "?variant=v1&a=b", "AT", rules, "https://tienda.example.com/products/gorra?variant=v1&a=b&locale=de_DE", "de"},
		{"query replaces same parameter", product + "?locale=es_DO&variant=v1", "DE", rules, "https://tienda.example.com/products/gorra?variant=v1&locale=de_DE", "de"},
		{"query keeps fragment", product + "#fotos", "DE", rules, "https://tienda.example.com/products/gorra?locale=de_DE#fotos", "de"},
		{"domain, prefix and query", product + "?variant=v1", "FR", rules, "https://fr.example.com/fr/products/gorra?variant=v1&lang=fr&currency=EUR", "fr"},
		{"no matching rule", product, "DO", rules, product, ""},
		{"empty region matches no country", product, "", rules, product, ""},
		{"no rules", product, "US", nil, product, ""},
		{"wildcard", product, "DO", append(rules[:1:1], LocaleRule{Countries: []string{"*"}, Locale: "es"}), product, "es"},
		{"wildcard matches unknown region", product, "", []LocaleRule{{Countries: []string{"*"}, Locale: "es", Query: "l=es"}}, product + "?l=es", "es"},
		{"first match wins", product, "US", []LocaleRule{{Countries: []string{"*"}, Locale: "any"}, rules[0]}, product, "any"},
		{"empty url keeps locale", "", "US", rules, "", "en"},
		{"not a URL is unchanged", "::not a url", "US", rules, "::not a url", "en"},
		{"relative URL is unchanged", "/products/gorra", "US", rules, "/products/gorra", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, locale := LocalizeURL(tt.url, tt.region, tt.rules)
			if got != tt.want || locale != tt.locale {
				t.Errorf("LocalizeURL(%q, %q) = %q, %q, want %q, %q", tt.url, tt.region, got, locale, tt.want, tt.locale)
			}
		})
	}
}

// The product URL is localized first and the variant added after, so a
// query rule and ?variant= share one query string.
func TestLocalizedVariantURL(t *testing.T) {
	u := DefaultURLTemplates()
	rules := []LocaleRule{{Countries: []string{"US"}, Locale: "en", Query: "locale=en_US"}}
	product, _ := LocalizeURL(u.ProductURL("https://tienda.example.com", "gorra", "1"), "US", rules)
	if got, want := u.VariantURL(product, "v9"), "https://tienda.example.com/products/gorra?locale=en_US&variant=v9"; got != want {
		t.Errorf("variant URL = %q, want %q", got, want)
	}
}
