package contract_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/wazion/contract"
)

// goldenEndpoints maps the first word of a golden file's name to the
// endpoint it answers.
var goldenEndpoints = map[string]string{
	"customerinfo": wazion.EndpointCustomerInfo,
	"initialinfo":  wazion.EndpointCustomerInitialInfo,
	"findtojoin":   wazion.EndpointFindToJoin,
	"products":     wazion.EndpointSearchProducts,
	"globalsearch": wazion.EndpointGlobalSearch,
}

// goldenPhones are the conversation phones the adapter's golden test sends
// to sidePanel_CustomerFindToJoin, which must leave them out.
var goldenPhones = map[string]string{
	"findtojoin_carlos":           "+18095552001",
	"findtojoin_order_number":     "+18095550000",
	"findtojoin_excludes_current": "+18095551234",
}

// goldenCall is the call a golden file answers, read from its name:
// customerinfo_test is a test=true answer, products_ai one in the AI format.
func goldenCall(t *testing.T, name string) contract.Call {
	t.Helper()
	word, _, _ := strings.Cut(name, "_")
	ep, ok := goldenEndpoints[word]
	if !ok {
		t.Fatalf("golden file %s names no endpoint", name)
	}
	call := contract.Call{Endpoint: ep, Test: strings.HasSuffix(name, "_test")}
	if strings.HasSuffix(name, "_ai") {
		call.Format = "ai"
	}
	if p := goldenPhones[name]; p != "" {
		call.Phones = []string{p}
	}
	return call
}

func goldenFiles(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "golden", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files (%v)", err)
	}
	files := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(filepath.Base(p), ".json")] = b
	}
	return files
}

func TestGoldenFilesKeepTheContract(t *testing.T) {
	seen := map[string]int{}
	for name, body := range goldenFiles(t) {
		t.Run(name, func(t *testing.T) {
			call := goldenCall(t, name)
			seen[call.Endpoint]++
			res := contract.Check(call, body)
			if !res.OK() || len(res.Warnings) > 0 {
				t.Errorf("problems %v, warnings %v", res.Problems, res.Warnings)
			}
			if res.Summary == "" {
				t.Error("no summary")
			}
		})
	}
	for _, ep := range wazion.Endpoints() {
		if seen[ep] == 0 {
			t.Errorf("no golden file of %s", ep)
		}
	}
}

// noBackend fails the test when a call reaches it: test=true answers come
// without one.
type noBackend struct{ t *testing.T }

func (b noBackend) fail() error {
	b.t.Error("a test=true call reached the Backend")
	return errors.New("no backend")
}

func (b noBackend) CustomerInfo(context.Context, wazion.Request) (*wazion.CustomerInfoResponse, error) {
	return nil, b.fail()
}

func (b noBackend) CustomerInitialInfo(context.Context, wazion.Request) (*wazion.InitialInfoResponse, error) {
	return nil, b.fail()
}

func (b noBackend) FindToJoin(context.Context, wazion.Request) (*wazion.FindToJoinResponse, error) {
	return nil, b.fail()
}

func (b noBackend) SearchProducts(context.Context, wazion.Request) (*wazion.ProductSearch, error) {
	return nil, b.fail()
}

func (b noBackend) GlobalSearch(context.Context, wazion.Request) (*wazion.GlobalSearchResponse, error) {
	return nil, b.fail()
}

// sampleServer serves one store per label language, token "token-<lang>".
func sampleServer(t *testing.T) *fiber.App {
	t.Helper()
	var tenants []wazion.Tenant
	for _, lang := range wazion.SupportedLanguages() {
		tenants = append(tenants, wazion.Tenant{Name: lang, Tokens: []string{"token-" + lang}, Language: lang, Backend: noBackend{t}})
	}
	ts, err := wazion.NewTenants(tenants)
	if err != nil {
		t.Fatal(err)
	}
	srv := wazion.NewServer(ts, wazion.Options{})
	app := fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true}))
	srv.Routes(app)
	return app
}

func call(t *testing.T, app *fiber.App, req *http.Request) []byte {
	t.Helper()
	resp, err := app.Test(req, 5000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != wazion.ContentTypeJSON {
		t.Fatalf("%s: HTTP %d, Content-Type %q", req.URL, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return body
}

func TestSamplesKeepTheContract(t *testing.T) {
	app := sampleServer(t)
	for _, lang := range wazion.SupportedLanguages() {
		for _, ep := range wazion.Endpoints() {
			formats := []string{""}
			if ep == wazion.EndpointSearchProducts {
				formats = append(formats, "ai")
			}
			for _, format := range formats {
				q := url.Values{"token": {"token-" + lang}, "test": {"true"}, "phone": {"+34612345678"}, "query": {"juan"}, "q": {"camiseta"}}
				if format != "" {
					q.Set("format", format)
				}
				get := httptest.NewRequest(http.MethodGet, "/wazion/"+ep+"?"+q.Encode(), nil)
				post := httptest.NewRequest(http.MethodPost, "/wazion/"+ep, strings.NewReader(q.Encode()))
				post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				for _, req := range []*http.Request{get, post} {
					t.Run(strings.Join([]string{lang, ep, format, req.Method}, "/"), func(t *testing.T) {
						body := call(t, app, req)
						res := contract.Check(contract.Call{Endpoint: ep, Format: format, Test: true, Phones: []string{"+34612345678"}}, body)
						if !res.OK() || len(res.Warnings) > 0 || res.Error != "" {
							t.Errorf("problems %v, warnings %v, error %q in %s", res.Problems, res.Warnings, res.Error, body)
						}
						if res.Summary == "" || strings.HasPrefix(res.Summary, "0 ") || res.Summary == "not found" {
							t.Errorf("summary %q: the sample holds no data", res.Summary)
						}
					})
				}
			}
		}
	}
}

func TestWrongTokenIsRefused(t *testing.T) {
	app := sampleServer(t)
	for _, ep := range wazion.Endpoints() {
		body := call(t, app, httptest.NewRequest(http.MethodGet, "/wazion/"+ep+"?token=nobody-at-all&test=true", nil))
		res := contract.Check(contract.Call{Endpoint: ep, Test: true, WrongToken: true}, body)
		if !res.OK() || len(res.Warnings) > 0 || res.Summary != `refused: error "unauthorized"` {
			t.Errorf("%s: %+v", ep, res)
		}
	}
}
