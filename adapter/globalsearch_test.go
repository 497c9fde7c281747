package adapter_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// TestGlobalSearchLeavesOutCustomersWithoutPhone: WAzion opens a chat with
// the phone globalSearch gives and keeps one customer per phone, so
// customers without one are left out and the next ones fill the 15;
// sidePanel_CustomerFindToJoin, which needs no phone, keeps them.
func TestGlobalSearchLeavesOutCustomersWithoutPhone(t *testing.T) {
	d := newDemo(t, nil)
	phoneless := map[string]bool{}
	for i := range 20 {
		c := whatalo.Customer{Name: fmt.Sprintf("Zeta Cliente %02d", i), Email: fmt.Sprintf("zeta%02d@example.com", i)}
		if i%5 == 0 {
			phoneless[c.Name] = true
		} else {
			c.Phone = fmt.Sprintf("809-555-%04d", 3000+i)
		}
		d.fake.UpsertCustomer(c)
	}
	out := d.get(t, wazion.EndpointGlobalSearch, url.Values{"query": {"Zeta Cliente"}})
	cs, _ := out["customers"].([]any)
	if len(cs) != 15 {
		t.Fatalf("globalSearch gave %d customers, want 15 (16 have a phone): %v", len(cs), out)
	}
	for _, c := range cs {
		m := c.(map[string]any)
		if m["phone"] == "" || phoneless[m["name"].(string)] {
			t.Errorf("globalSearch listed %v, which has no phone", m["name"])
		}
	}
	out = d.get(t, wazion.EndpointFindToJoin, url.Values{"query": {"Zeta Cliente"}, "phone": {"+18095559999"}})
	cs, _ = out["customers"].([]any)
	kept := 0
	for _, c := range cs {
		if phoneless[c.(map[string]any)["name"].(string)] {
			kept++
		}
	}
	if kept == 0 {
		t.Errorf("FindToJoin left out the customers without a phone: %v", out)
	}
}
