package adapter_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest/demostore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenNow is the clock of the golden tests: the demo store's relative
// dates resolve against it, so answers do not change from day to day.
var goldenNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

const testToken = "test-token-0123456789"

// demo is the demo store behind the WAzion routes, as the service serves it.
type demo struct {
	app  *fiber.App
	fake *whatalotest.Server
	b    *adapter.Backend
}

func newDemo(t *testing.T, edit func(*adapter.Options)) *demo {
	t.Helper()
	return newDemoWith(t, edit, wazion.Options{})
}

// newDemoWith is newDemo with WAzion handler options (budgets, margin).
func newDemoWith(t *testing.T, edit func(*adapter.Options), wopts wazion.Options) *demo {
	t.Helper()
	return buildDemo(t, demoSetup{perMinute: 100000, edit: edit, wopts: wopts})
}

// demoSetup says how buildDemo builds a demo.
type demoSetup struct {
	perMinute int // the key's limit at the fake and the service's limiter
	share     float64
	edit      func(*adapter.Options)
	wopts     wazion.Options
	// inMemory serves the fake without a socket, for a testing/synctest
	// bubble: there the clock is the bubble's, and a deadline is measured
	// exactly whatever the machine's load.
	inMemory bool
	// seed replaces the demo store when set.
	seed *whatalotest.Seed
}

func buildDemo(t *testing.T, ds demoSetup) *demo {
	t.Helper()
	seed := ds.seed
	if seed == nil {
		var err error
		if seed, err = whatalotest.LoadSeed(demoStoreJSON(), goldenNow); err != nil {
			t.Fatal(err)
		}
	}
	share := ds.share
	if share == 0 {
		share = 0.5
	}
	var fake *whatalotest.Server
	if ds.inMemory {
		// In a bubble the clock starts in 2000, and X-RateLimit-Reset reads
		// as a Unix time only past 2001.
		time.Sleep(time.Until(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)))
		fake = whatalotest.NewMemoryServer(t, seed, whatalotest.WithRateLimit(ds.perMinute))
	} else {
		fake = whatalotest.NewServer(t, seed, whatalotest.WithRateLimit(ds.perMinute))
	}
	client, err := whatalo.NewClient(fake.APIKey, whatalo.WithBaseURL(fake.APIURL), whatalo.WithHTTPClient(fake.Client()),
		whatalo.WithLimiter(whatalo.NewLimiter(ds.perMinute, share)))
	if err != nil {
		t.Fatal(err)
	}
	aopts := adapter.Options{Name: "demo", Region: "DO", Now: func() time.Time { return goldenNow }}
	if ds.edit != nil {
		ds.edit(&aopts)
	}
	b := adapter.New(client, aopts)
	t.Cleanup(b.Close)
	tenants, err := wazion.NewTenants([]wazion.Tenant{{Name: "demo", Tokens: []string{testToken}, Language: aopts.Language, Backend: b}})
	if err != nil {
		t.Fatal(err)
	}
	srv := wazion.NewServer(tenants, ds.wopts)
	app := fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true}))
	srv.Routes(app)
	return &demo{app: app, fake: fake, b: b}
}

// get calls an endpoint with query parameters and returns the decoded JSON.
func (d *demo) get(t *testing.T, endpoint string, params url.Values) map[string]any {
	t.Helper()
	params.Set("token", testToken)
	req := httptest.NewRequest(http.MethodGet, "/wazion/"+endpoint+"?"+params.Encode(), nil)
	return d.do(t, req)
}

func (d *demo) do(t *testing.T, req *http.Request) map[string]any {
	t.Helper()
	resp, err := d.app.Test(req, 15000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d, body %s", req.URL, resp.StatusCode, body)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s: invalid JSON %q: %v", req.URL, body, err)
	}
	return out
}

// demoStoreJSON is the embedded demo store.
func demoStoreJSON() []byte { return demostore.JSON() }

func checkGolden(t *testing.T, name string, got map[string]any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("..", "testdata", "golden", name+".json")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./adapter -run Golden -update to create it)", err)
	}
	if !bytes.Equal(want, b) {
		t.Errorf("%s differs from %s (go test ./adapter -run Golden -update rewrites it):\n%s", name, path, b)
	}
}

func TestGoldenResponses(t *testing.T) {
	d := newDemo(t, nil)
	en := newDemo(t, func(o *adapter.Options) {
		o.Language = "en"
		o.Locales = []adapter.LocaleRule{
			{Countries: []string{"ES"}, Locale: "es-ES", Domain: "https://tienda-demo.es"},
			{Countries: []string{"US"}, Locale: "en", PathPrefix: "/en"},
		}
	})
	v := func(kv ...string) url.Values {
		out := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	tests := []struct {
		name     string
		d        *demo
		endpoint string
		params   url.Values
	}{
		{"customerinfo_maria", d, wazion.EndpointCustomerInfo, v("phone", "+18095551234")},
		{"customerinfo_shared_phone_and_related", d, wazion.EndpointCustomerInfo, v("phone", "+18095550000", "relatedphones", `["+573001234567"]`)},
		{"customerinfo_whatsapp_variants", d, wazion.EndpointCustomerInfo, v("phone", "+5215512345678", "relatedphones", "+18095557777,+5491123456789")},
		{"customerinfo_not_found", d, wazion.EndpointCustomerInfo, v("phone", "+18095559999")},
		{"customerinfo_bad_phone", d, wazion.EndpointCustomerInfo, v("phone", "not-a-phone")},
		{"customerinfo_test", d, wazion.EndpointCustomerInfo, v("phone", "+18095551234", "test", "true")},
		{"customerinfo_maria_en", en, wazion.EndpointCustomerInfo, v("phone", "+18095551234")},
		{"initialinfo_maria_order", d, wazion.EndpointCustomerInitialInfo, v("phone", "+18095551234", "order", "#1001")},
		{"initialinfo_email_fallback", d, wazion.EndpointCustomerInitialInfo, v("phone", "+18095559999", "email", "MARIA.GARCIA@example.com")},
		{"initialinfo_not_found", d, wazion.EndpointCustomerInitialInfo, v("phone", "+18095559999")},
		{"initialinfo_maria_en", en, wazion.EndpointCustomerInitialInfo, v("phone", "+18095551234")},
		{"findtojoin_carlos", d, wazion.EndpointFindToJoin, v("query", "carlos", "phone", "+18095552001")},
		{"findtojoin_order_number", d, wazion.EndpointFindToJoin, v("query", "#1003", "phone", "+18095550000")},
		{"findtojoin_excludes_current", d, wazion.EndpointFindToJoin, v("query", "maría", "phone", "+18095551234")},
		{"products_normal", d, wazion.EndpointSearchProducts, v("q", "camiseta", "phone", "+18095551234")},
		{"products_ai", d, wazion.EndpointSearchProducts, v("q", "camiseta", "format", "ai")},
		{"products_localized_es", en, wazion.EndpointSearchProducts, v("q", "camiseta", "phone", "+34612345678")},
		{"products_short_query", d, wazion.EndpointSearchProducts, v("q", "c")},
		{"globalsearch_name", d, wazion.EndpointGlobalSearch, v("query", "carlos")},
		{"globalsearch_order_number", d, wazion.EndpointGlobalSearch, v("query", "1001")},
		{"globalsearch_phone", d, wazion.EndpointGlobalSearch, v("query", "809-555-0000")},
		{"globalsearch_email", d, wazion.EndpointGlobalSearch, v("query", "maria.garcia@example.com")},
		{"globalsearch_short", d, wazion.EndpointGlobalSearch, v("query", "a")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGolden(t, tt.name, tt.d.get(t, tt.endpoint, tt.params))
		})
	}
}

// TestTransportsAgree checks that every way WAzion may send a request gives
// the same answer as the plain GET.
func TestTransportsAgree(t *testing.T) {
	d := newDemo(t, nil)
	want := d.get(t, wazion.EndpointCustomerInfo, url.Values{"phone": {"+18095550000"}, "relatedphones": {"+18095557777"}})
	if want["found"] != true || len(want["customers"].([]any)) != 3 {
		t.Fatalf("baseline answer: %v", want)
	}
	path := "/wazion/" + wazion.EndpointCustomerInfo
	form := func(vals url.Values) *http.Request {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(vals.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	multipartReq := func() *http.Request {
		var buf bytes.Buffer
		w := newMultipart(&buf, map[string]string{"token": testToken, "phone": "+18095550000", "relatedphones[]": "+18095557777"})
		r := httptest.NewRequest(http.MethodPost, path, &buf)
		r.Header.Set("Content-Type", w)
		return r
	}
	jsonReq := func(body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	reqs := map[string]*http.Request{
		"json array":        jsonReq(`{"token":"` + testToken + `","phone":"+18095550000","relatedphones":["+18095557777"]}`),
		"json string array": jsonReq(`{"token":"` + testToken + `","phone":"+18095550000","relatedphones":"[\"+18095557777\"]"}`),
		"form json string":  form(url.Values{"token": {testToken}, "phone": {"+18095550000"}, "relatedphones": {`["+18095557777"]`}}),
		"form repeated":     form(url.Values{"token": {testToken}, "phone": {"+18095550000"}, "relatedphones": {"+18095557777", "+18095557777"}}),
		"form brackets":     form(url.Values{"token": {testToken}, "phone": {"+18095550000"}, "relatedphones[]": {"+18095557777"}}),
		"form comma list":   form(url.Values{"token": {testToken}, "phone": {"+18095550000"}, "relatedphones": {"+18095557777, "}}),
		"multipart":         multipartReq(),
		"query unescaped +": httptest.NewRequest(http.MethodGet, path+"?token="+testToken+"&phone=+18095550000&relatedphones=[%22+18095557777%22]", nil),
	}
	for name, req := range reqs {
		t.Run(name, func(t *testing.T) {
			got := d.do(t, req)
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			if !bytes.Equal(gb, wb) {
				t.Errorf("answer differs from GET:\n got %s\nwant %s", gb, wb)
			}
		})
	}
}
