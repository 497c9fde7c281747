package contract_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/wazion/contract"
)

// broken is a golden answer with one thing broken.
func broken(t *testing.T, files map[string][]byte, name string, breakIt func(doc map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(files[name], &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	breakIt(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func first(doc map[string]any, key string) map[string]any {
	return doc[key].([]any)[0].(map[string]any)
}

func lines(p []contract.Problem) []string {
	out := make([]string, len(p))
	for i, x := range p {
		out[i] = x.String()
	}
	return out
}

func TestBrokenAnswersAreRejected(t *testing.T) {
	files := goldenFiles(t)
	info := contract.Call{Endpoint: wazion.EndpointCustomerInfo}
	tests := []struct {
		name    string
		call    contract.Call
		body    []byte
		problem string // a Problem's String holds it
	}{
		{"not JSON", info, []byte("<html>Welcome to nginx</html>"),
			`not a JSON object (WAzion requires valid JSON): "<html>Welcome to nginx</html>"`},
		{"JSON null", info, []byte("null"), "not a JSON object"},
		{"empty body", info, nil, "not a JSON object (WAzion requires valid JSON): empty body"},
		{"unknown endpoint", contract.Call{Endpoint: "sidePanel_Nothing"}, []byte(`{}`), `"sidePanel_Nothing" is not one of WAzion's endpoints`},
		{"error not a string", info, []byte(`{"found":false,"customers":[],"error":500}`), "error: is a number, WAzion expects a string"},
		{"found missing", info, broken(t, files, "customerinfo_maria", func(d map[string]any) { delete(d, "found") }),
			"found: missing (WAzion expects a boolean)"},
		{"found without customers", info, []byte(`{"found":true,"customers":[]}`), "customers: found is true but no customer is listed"},
		{"email missing", info, broken(t, files, "customerinfo_maria", func(d map[string]any) { delete(first(d, "customers"), "email") }),
			"customers[0].email: missing (WAzion expects a string)"},
		{"ordersCount a string", info, broken(t, files, "customerinfo_maria", func(d map[string]any) { first(d, "customers")["ordersCount"] = "3" }),
			"customers[0].ordersCount: is a string, WAzion expects a number"},
		{"order date", info, broken(t, files, "customerinfo_maria", func(d map[string]any) {
			first(first(d, "customers"), "orders")["date"] = "yesterday"
		}), `customers[0].orders[0].date: "yesterday" is not an ISO 8601 date`},
		{"item status", info, broken(t, files, "customerinfo_maria", func(d map[string]any) {
			first(first(first(d, "customers"), "orders"), "items")["status"] = "gone"
		}), `customers[0].orders[0].items[0].status: "gone" is not active, partially_refunded or fully_refunded`},
		{"customer not an object", info, []byte(`{"found":true,"customers":["Ana"]}`), "customers[0]: is a string, WAzion expects an object"},
		{"label missing", info, broken(t, files, "customerinfo_maria", func(d map[string]any) {
			delete(d["labels"].(map[string]any), "order_number")
		}), "labels: 1 of WAzion's label keys missing or empty: order_number"},
		{"test sample not found", contract.Call{Endpoint: wazion.EndpointCustomerInfo, Test: true}, files["customerinfo_not_found"],
			"found: false for test=true: WAzion's connection test expects the sample customer"},
		{"info empty", contract.Call{Endpoint: wazion.EndpointCustomerInitialInfo}, []byte(`{"found":true,"info":" "}`),
			"info: empty although found is true: the AI gets no context"},
		{"info a number", contract.Call{Endpoint: wazion.EndpointCustomerInitialInfo}, []byte(`{"found":true,"info":1}`),
			"info: is a number, WAzion expects a string"},
		{"join lists the conversation", contract.Call{Endpoint: wazion.EndpointFindToJoin, Phones: []string{"+1 809 555 2022"}}, files["findtojoin_carlos"],
			"customers[0].phone: is the conversation's phone or a related one, which WAzion asked to leave out"},
		{"join id empty", contract.Call{Endpoint: wazion.EndpointFindToJoin}, broken(t, files, "findtojoin_carlos", func(d map[string]any) {
			first(d, "customers")["id"] = " "
		}), "customers[0].id: is empty"},
		{"join customers missing", contract.Call{Endpoint: wazion.EndpointFindToJoin}, []byte(`{}`), "customers: missing (WAzion expects a array)"},
		{"count off", contract.Call{Endpoint: wazion.EndpointSearchProducts}, broken(t, files, "products_normal", func(d map[string]any) { d["count"] = 2 }),
			"count: 2, but 1 products are listed"},
		{"description too long", contract.Call{Endpoint: wazion.EndpointSearchProducts}, broken(t, files, "products_normal", func(d map[string]any) {
			first(d, "products")["description"] = strings.Repeat("é", wazion.MaxDescriptionRunes+1)
		}), fmt.Sprintf("products[0].description: %d characters; WAzion's normal format allows %d", wazion.MaxDescriptionRunes+1, wazion.MaxDescriptionRunes)},
		{"image missing", contract.Call{Endpoint: wazion.EndpointSearchProducts}, broken(t, files, "products_normal", func(d map[string]any) {
			delete(first(d, "products"), "image")
		}), "products[0].image: missing (WAzion expects a string)"},
		{"http_status missing", contract.Call{Endpoint: wazion.EndpointSearchProducts}, files["products_ai"], "http_status: missing (WAzion expects a number)"},
		{"ai locale missing", contract.Call{Endpoint: wazion.EndpointSearchProducts, Format: "ai"}, files["products_normal"], "locale: missing (WAzion expects a string)"},
		{"variant sku missing", contract.Call{Endpoint: wazion.EndpointSearchProducts, Format: "ai"}, broken(t, files, "products_ai", func(d map[string]any) {
			delete(first(first(d, "products"), "variants"), "sku")
		}), "products[0].variants[0].sku: missing (WAzion expects a string)"},
		{"test sample without products", contract.Call{Endpoint: wazion.EndpointSearchProducts, Test: true}, files["products_short_query"],
			"products: empty for test=true: WAzion's connection test expects the sample product"},
		{"too many customers", contract.Call{Endpoint: wazion.EndpointGlobalSearch}, broken(t, files, "globalsearch_name", func(d map[string]any) {
			cs := d["customers"].([]any)
			d["customers"] = append(cs, map[string]any{"id": "1", "name": "X", "email": "", "phone": "+34600000000", "orders": []any{}})
		}), fmt.Sprintf("customers: %d listed; WAzion shows at most %d", wazion.MaxGlobalResults+1, wazion.MaxGlobalResults)},
		{"global order number missing", contract.Call{Endpoint: wazion.EndpointGlobalSearch}, []byte(`{"found":true,"customers":[{"id":1,"name":"A","email":"","phone":"+1","orders":[{"url":"u"}]}]}`),
			"customers[0].orders[0].number: missing (WAzion expects a string)"},
		{"wrong token answered", contract.Call{Endpoint: wazion.EndpointCustomerInfo, WrongToken: true}, files["customerinfo_maria"],
			"answered data to a wrong token: anyone who knows the URL can read the store's customers"},
		{"wrong token got the AI text", contract.Call{Endpoint: wazion.EndpointCustomerInitialInfo, WrongToken: true}, []byte(`{"found":false,"info":"Cliente: Ana"}`),
			"answered data to a wrong token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := contract.Check(tt.call, tt.body)
			if res.OK() {
				t.Fatalf("accepted %s", tt.body)
			}
			if got := lines(res.Problems); !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, tt.problem) }) {
				t.Errorf("problems %q, want one saying %q", got, tt.problem)
			}
		})
	}
}

func TestDoubtfulAnswersWarn(t *testing.T) {
	files := goldenFiles(t)
	tests := []struct {
		name    string
		call    contract.Call
		body    []byte
		warning string
	}{
		{"repeated phone", contract.Call{Endpoint: wazion.EndpointGlobalSearch}, broken(t, files, "globalsearch_name", func(d map[string]any) {
			cs := d["customers"].([]any)
			cs[1].(map[string]any)["phone"] = cs[0].(map[string]any)["phone"]
		}), "customers[1].phone: repeated: WAzion drops duplicates by phone"},
		{"four orders", contract.Call{Endpoint: wazion.EndpointGlobalSearch}, broken(t, files, "globalsearch_name", func(d map[string]any) {
			o := map[string]any{"number": "#1"}
			first(d, "customers")["orders"] = []any{o, o, o, o}
		}), fmt.Sprintf("customers[0].orders: 4 listed; WAzion shows at most %d", wazion.MaxGlobalOrders)},
		{"state not a label", contract.Call{Endpoint: wazion.EndpointCustomerInfo}, broken(t, files, "customerinfo_maria", func(d map[string]any) {
			first(d, "customers")["state"] = "VIP"
		}), `customers[0].state: "VIP" is not one of the state_* labels`},
		{"variant url", contract.Call{Endpoint: wazion.EndpointSearchProducts}, broken(t, files, "products_normal", func(d map[string]any) {
			first(first(d, "products"), "variants")["url"] = "https://shop.test/p"
		}), "products[0].variants[0].url: has no variant= parameter"},
		{"refused silently", contract.Call{Endpoint: wazion.EndpointGlobalSearch, WrongToken: true}, []byte(`{"found":false}`),
			`refused without an "error" field saying why`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := contract.Check(tt.call, tt.body)
			if !res.OK() {
				t.Errorf("problems %q: a warning is no problem", lines(res.Problems))
			}
			if got := lines(res.Warnings); !slices.Contains(got, tt.warning) {
				t.Errorf("warnings %q, want %q", got, tt.warning)
			}
		})
	}
}

func TestSummaries(t *testing.T) {
	files := goldenFiles(t)
	for name, want := range map[string]string{
		"customerinfo_maria":                    "found: 1 customer, 3 orders",
		"customerinfo_shared_phone_and_related": "found: 3 customers, ",
		"customerinfo_not_found":                "not found",
		"initialinfo_maria_order":               "found: ",
		"findtojoin_order_number":               "1 candidate",
		"products_normal":                       "1 product",
		"products_ai":                           "1 product (AI format)",
		"globalsearch_name":                     "found: 15 customers",
		"globalsearch_short":                    "not found",
	} {
		res := contract.Check(goldenCall(t, name), files[name])
		if !strings.HasPrefix(res.Summary, want) {
			t.Errorf("%s: summary %q, want it to start with %q", name, res.Summary, want)
		}
	}
	if res := contract.Check(goldenCall(t, "globalsearch_short"), files["globalsearch_short"]); res.Error != "query must be at least 2 characters" {
		t.Errorf("error %q, want the answer's error field", res.Error)
	}
}
