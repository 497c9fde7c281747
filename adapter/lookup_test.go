package adapter_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// names returns the customer names of a sidePanel_CustomerInfo answer.
func names(resp map[string]any) []string {
	var out []string
	cs, _ := resp["customers"].([]any)
	for _, c := range cs {
		out = append(out, c.(map[string]any)["name"].(string))
	}
	slices.Sort(out)
	return out
}

// TestPhoneMatching finds demo customers stored in many formats by the
// forms WhatsApp sends, across the store's countries.
func TestPhoneMatching(t *testing.T) {
	d := newDemo(t, nil)
	tests := []struct {
		country, phone string
		want           []string
	}{
		{"DO", "+18095551234", []string{"María García"}},
		{"DO", "8095551234", []string{"María García"}},                      // national, store region DO
		{"DO", "+1 (809) 555-1234", []string{"María García"}},               // punctuation
		{"DO", "+18095557777", []string{"Ana López"}},                       // stored as 809-555-7777
		{"DO", "+18095550000", []string{"Pedro Martínez", "Rosa Martínez"}}, // shared phone
		{"DO", "+18495553333", []string{"Carlos Almonte", "Carlos Féliz"}},  // shared phone
		{"CO", "+573001234567", []string{"Juan Pérez"}},                     // stored E.164
		{"CO", "0057 300 123 4567", []string{"Juan Pérez"}},                 // 00 prefix
		{"MX", "+5215512345678", []string{"Luis Hernández"}},                // WhatsApp's +521 form
		{"MX", "+525512345678", []string{"Luis Hernández"}},                 // as stored
		{"AR", "+5491123456789", []string{"Sofía Benítez"}},                 // WhatsApp's +549 form
		{"AR", "+541123456789", []string{"Sofía Benítez"}},                  // as stored
		{"ES", "+34612345678", []string{"Lucía Navarro"}},                   // Spain
		{"ES", "34612345678@s.whatsapp.net", []string{"Lucía Navarro"}},     // WhatsApp JID
		{"DO", "+18095559999", nil},                                         // unknown
		{"ES", "+34612345679", nil},                                         // one digit off
		{"DO", "+18095551", nil},                                            // too short: no match, error
	}
	for _, tt := range tests {
		t.Run(tt.country+" "+tt.phone, func(t *testing.T) {
			resp := d.get(t, wazion.EndpointCustomerInfo, url.Values{"phone": {tt.phone}})
			if got := names(resp); !slices.Equal(got, tt.want) {
				t.Errorf("phone %q found %v, want %v (error %v)", tt.phone, got, tt.want, resp["error"])
			}
			if (len(tt.want) > 0) != (resp["found"] == true) {
				t.Errorf("found = %v", resp["found"])
			}
		})
	}
}

// TestBadPhones: an unreadable phone is a clear error with found:false; an
// unreadable related phone does not spoil a good phone.
func TestBadPhones(t *testing.T) {
	d := newDemo(t, nil)
	resp := d.get(t, wazion.EndpointCustomerInfo, url.Values{"phone": {"hello"}})
	if resp["found"] != false || resp["error"] == nil || resp["error"] == "" {
		t.Errorf("bad phone answer: %v", resp)
	}
	resp = d.get(t, wazion.EndpointCustomerInfo, url.Values{"phone": {"+18095551234"}, "relatedphones": {"junk,+12"}})
	if resp["found"] != true || resp["error"] != nil {
		t.Errorf("good phone with bad related phones: found=%v error=%v", resp["found"], resp["error"])
	}
	if got := names(resp); !slices.Equal(got, []string{"María García"}) {
		t.Errorf("names = %v", got)
	}
}

// TestFindToJoinExcludesConversationPhones: the conversation's own phone and
// its related phones never appear as candidates.
func TestFindToJoinExcludesConversationPhones(t *testing.T) {
	d := newDemo(t, nil)
	all := d.get(t, wazion.EndpointFindToJoin, url.Values{"query": {"carlos"}})
	rest := d.get(t, wazion.EndpointFindToJoin, url.Values{
		"query": {"carlos"}, "phone": {"+18095552022"}, "relatedphones": {`["+18495553333"]`},
	})
	phones := func(resp map[string]any) []string {
		var out []string
		for _, c := range resp["customers"].([]any) {
			out = append(out, c.(map[string]any)["phone"].(string))
		}
		return out
	}
	a, r := phones(all), phones(rest)
	if !slices.Contains(a, "+18095552022") || !slices.Contains(a, "+18495553333") {
		t.Fatalf("unfiltered search lacks the phones to exclude: %v", a)
	}
	if len(r) == 0 || slices.Contains(r, "+18095552022") || slices.Contains(r, "+18495553333") {
		t.Errorf("excluded phones still present, or nothing left: %v", r)
	}
	for _, p := range a {
		if p != "+18095552022" && p != "+18495553333" && !slices.Contains(r, p) {
			t.Errorf("phone %s lost by the filter", p)
		}
	}
}

// TestGlobalSearchDedupesAndCaps: at most 15 customers, one per phone.
func TestGlobalSearchDedupesAndCaps(t *testing.T) {
	d := newDemo(t, nil)
	resp := d.get(t, wazion.EndpointGlobalSearch, url.Values{"query": {"carlos"}})
	cs := resp["customers"].([]any)
	if len(cs) == 0 || len(cs) > 15 {
		t.Fatalf("got %d customers, want 1..15", len(cs))
	}
	seen := map[string]bool{}
	for _, c := range cs {
		p := c.(map[string]any)["phone"].(string)
		if seen[p] {
			t.Errorf("phone %s twice", p)
		}
		seen[p] = true
		if os := c.(map[string]any)["orders"].([]any); len(os) > 3 {
			t.Errorf("%d orders, want at most 3", len(os))
		}
	}
}
