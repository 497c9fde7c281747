package config

import (
	"strings"
	"testing"
)

const minimalStore = `stores:
  - name: shop
    api_key: wk_test_abcdef
    tokens: ["tok-1234567890"]
`

// TestParseErrorsNameThePathAndTheFix: a typo or a wrong value is reported
// by its path, its line and what would be right, not in the YAML
// library's terms.
func TestParseErrorsNameThePathAndTheFix(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
		notWant    []string
	}{
		{"unknown store field", minimalStore + "    regoin: DO\n",
			[]string{"line 5: stores[0].regoin: unknown field (did you mean region?)"}, []string{"config.Store"}},
		{"unknown top-level field", "lisen: :8080\n" + minimalStore,
			[]string{"line 1: lisen: unknown field (did you mean listen?)"}, nil},
		{"unknown field far from any", minimalStore + "    colour: blue\n",
			[]string{"stores[0].colour: unknown field (known fields: ", "region", "tokens"}, nil},
		{"bad duration", "cache:\n  customers: 5 minutes\n" + minimalStore,
			[]string{`line 2: cache.customers: "5 minutes" is not a duration such as 5m or 90s`}, []string{"time.Duration", "!!str"}},
		{"bare number as duration", "server:\n  margin: 750\n" + minimalStore,
			[]string{`server.margin: "750" is not a duration such as 5m or 90s`}, nil},
		{"bad int", minimalStore + "    rate_limit: lots\n",
			[]string{`line 5: stores[0].rate_limit: "lots" is not a whole number`}, nil},
		{"bad float", minimalStore + "    background_share: half\n",
			[]string{`stores[0].background_share: "half" is not a number`}, nil},
		{"list where a mapping goes", "cache: [1, 2]\n" + minimalStore,
			[]string{"line 1: cache: must be a mapping of fields"}, nil},
		{"nested unknown", minimalStore + "    orders: {count: 10, with_item: 5}\n",
			[]string{"stores[0].orders.with_item: unknown field (did you mean with_items?)"}, nil},
		{"bad internal_notes", minimalStore + "    internal_notes: everywhere\n",
			[]string{`stores[0].internal_notes: "everywhere" is not panel, none or panel_and_ai`}, nil},
		{"unknown placeholder", minimalStore + "    urls:\n      customer: https://x.example/c/{idd}\n",
			[]string{"stores[0].urls.customer: unknown placeholder {idd}; urls.customer may use {store_url}, {id}"}, nil},
		{"placeholder of another template", minimalStore + "    urls:\n      order: https://x.example/o/{slug}\n",
			[]string{"stores[0].urls.order: unknown placeholder {slug}", "{number}"}, nil},
		{"unquoted env reference in a flow list", "stores:\n  - name: shop\n    api_key: wk_test_abcdef\n    tokens: [${SHOP_TOKEN}]\n",
			[]string{"line 4: YAML syntax: did not find expected ',' or ']'", `tokens: ["${TOKEN}"]`}, nil},
		{"scanner error line", "cache:\n  orders: 30s\n   customers: 5m\n" + minimalStore,
			[]string{"line 3: YAML syntax: mapping values are not allowed"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), env(map[string]string{"SHOP_TOKEN": "tok-1234567890"}))
			if err == nil {
				t.Fatalf("no error for\n%s", tt.yaml)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
			for _, nw := range tt.notWant {
				if strings.Contains(err.Error(), nw) {
					t.Errorf("error %q speaks of %q", err, nw)
				}
			}
		})
	}
}

func TestParseAcceptsEveryKnownPlaceholder(t *testing.T) {
	c, err := Parse([]byte(minimalStore+`    urls:
      customer: "{store_url}/c/{id}"
      order: "{store_url}/o/{id}/{number}"
      product: "{store_url}/p/{slug}-{id}"
      variant: "{product_url}?v={variant_id}"
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Stores[0].URLs.Variant != "{product_url}?v={variant_id}" {
		t.Errorf("variant = %q", c.Stores[0].URLs.Variant)
	}
}

func TestFromEnvRefusesUnknownPlaceholder(t *testing.T) {
	_, err := FromEnv(env(map[string]string{
		"WHATALO_API_KEY": "wk_test_x", "WAZION_TOKEN": "tok-1234567890",
		"ORDER_URL_TEMPLATE": "https://x.example/{order}",
	}))
	if err == nil || !strings.Contains(err.Error(), "ORDER_URL_TEMPLATE: unknown placeholder {order}") {
		t.Fatalf("err = %v", err)
	}
}
