package adapter_test

import (
	"net/url"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// TestSearchFallbackFindsEveryWhatsAppVariant: without the phone index
// (building, failed or disabled), a lookup falls back to Whatalo's search,
// which must find a customer stored in another WhatsApp form of the number
// than the one asked: Brazil's ninth digit, Mexico's mobile 1, Argentina's
// 9 and local 15.
func TestSearchFallbackFindsEveryWhatsAppVariant(t *testing.T) {
	tests := []struct {
		name, stored, region string
		asked                []string
	}{
		{"Brazil, stored without the ninth digit", "+55 (21) 8765-4321", "BR", []string{"+552187654321", "+5521987654321"}},
		{"Brazil, stored with it", "+55 21 98765-4322", "BR", []string{"+552187654322", "+5521987654322"}},
		{"Mexico, stored with the mobile 1", "+52 1 55 2233 4455", "MX", []string{"+525522334455", "+5215522334455"}},
		{"Mexico, stored without it", "55 2233 4456", "MX", []string{"+525522334456", "+5215522334456"}},
		{"Argentina, stored with the 9", "+54 9 11 3456-7891", "AR", []string{"+541134567891", "+5491134567891"}},
		{"Argentina, stored as a local 15 number", "011 15 3456-7890", "AR", []string{"+541134567890", "+5491134567890"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDemo(t, func(o *adapter.Options) {
				o.Region = tt.region
				o.Index.Disabled = true
			})
			c := d.fake.UpsertCustomer(whatalo.Customer{Name: "Cliente " + tt.region, Phone: tt.stored})
			// Another customer whose digits share the search text but who is
			// another number: the filter by key leaves them out.
			d.fake.UpsertCustomer(whatalo.Customer{Name: "Otro", Phone: "+1 809 " + tt.stored[len(tt.stored)-9:]})
			for _, phone := range tt.asked {
				out := d.get(t, wazion.EndpointCustomerInfo, url.Values{"phone": {phone}})
				cs, _ := out["customers"].([]any)
				var names []any
				for _, x := range cs {
					names = append(names, x.(map[string]any)["name"])
				}
				if out["found"] != true || len(names) != 1 || names[0] != c.Name {
					t.Errorf("stored %q, asked %s: found %v, error %v", tt.stored, phone, names, out["error"])
				}
			}
		})
	}
}
