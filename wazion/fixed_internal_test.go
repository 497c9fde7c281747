package wazion

import (
	"context"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// emptyBackend finds nothing.
type emptyBackend struct{}

func (emptyBackend) CustomerInfo(context.Context, Request) (*CustomerInfoResponse, error) {
	return nil, nil
}

func (emptyBackend) CustomerInitialInfo(context.Context, Request) (*InitialInfoResponse, error) {
	return nil, nil
}

func (emptyBackend) FindToJoin(context.Context, Request) (*FindToJoinResponse, error) {
	return nil, nil
}

func (emptyBackend) SearchProducts(context.Context, Request) (*ProductSearch, error) {
	return nil, nil
}

func (emptyBackend) GlobalSearch(context.Context, Request) (*GlobalSearchResponse, error) {
	return nil, nil
}

// TestFixedAnswersAreTheBuiltOnes: every answer sent from the bytes built
// at start is byte for byte the answer shaped and encoded per request, for
// each endpoint, store language and format; and the built bytes are used.
func TestFixedAnswersAreTheBuiltOnes(t *testing.T) {
	newHandler := func(fixed bool) (fasthttp.RequestHandler, *Server) {
		ts, err := NewTenants([]Tenant{
			{Name: "es", Tokens: []string{"token-es-000000000000"}, Language: "es", Backend: emptyBackend{}, RateLimit: 1e-9, RateBurst: 1},
			{Name: "en", Tokens: []string{"token-en-000000000000"}, Language: "en", Backend: emptyBackend{}, RateLimit: 1e-9, RateBurst: 1},
			{Name: "es2", Tokens: []string{"token-es2-00000000000"}, Language: "es", Backend: emptyBackend{}, RateLimit: 1e-9, RateBurst: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		srv := NewServer(ts, Options{})
		if !fixed {
			srv.set.Store(&tenantSet{tenants: ts, fixed: &fixedAnswers{}})
		}
		app := fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true}))
		srv.Routes(app)
		return app.Handler(), srv
	}
	with, srv := newHandler(true)
	without, _ := newHandler(false)
	if a, b := srv.set.Load().fixed.byStore[srv.Tenants().stores[0]], srv.set.Load().fixed.byStore[srv.Tenants().stores[2]]; len(a) == 0 || len(b) != len(a) {
		t.Fatalf("stores of one language hold %d and %d built answers, want the same set", len(a), len(b))
	}
	serve := func(h fasthttp.RequestHandler, method, uri, contentType, body string) string {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(uri)
		if contentType != "" {
			ctx.Request.Header.SetContentType(contentType)
			ctx.Request.SetBodyString(body)
		}
		h(&ctx)
		if ctx.Response.StatusCode() != fiber.StatusOK {
			t.Fatalf("%s %s: status %d", method, uri, ctx.Response.StatusCode())
		}
		return string(ctx.Response.Body())
	}
	for _, token := range []string{"token-es-000000000000", "token-en-000000000000"} {
		for _, ep := range Endpoints() {
			base := "/wazion/" + ep + "?token=" + token + "&phone=%2B34612345678"
			cases := []struct{ name, method, uri, contentType, body string }{
				{"first allowed", "GET", base + "&q=x&query=x", "", ""},
				{"rate limited", "GET", base + "&q=camiseta&query=maria", "", ""},
				{"rate limited ai", "GET", base + "&q=camiseta&query=maria&format=AI", "", ""},
				{"rate limited locale", "GET", base + "&q=camiseta&query=maria&target_locale=en", "", ""},
				{"short query", "GET", base + "&q=x&query=x", "", ""},
				{"short query ai", "GET", base + "&q=x&query=x&format=ai", "", ""},
				{"invalid JSON", "POST", base, "application/json", `{"phone":`},
				{"invalid JSON ai", "POST", base + "&format=ai", "application/json", `{"phone":`},
				{"bad encoding", "POST", base, "application/json", `{"phone":"\xff"}`},
			}
			for _, c := range cases {
				got := serve(with, c.method, c.uri, c.contentType, c.body)
				want := serve(without, c.method, c.uri, c.contentType, c.body)
				if got != want {
					t.Errorf("%s %s (%s):\n got %s\nwant %s", ep, c.name, token[:8], got, want)
				}
				if c.name != "first allowed" && !strings.HasPrefix(c.name, "short query") && !strings.Contains(got, `"error":`) {
					t.Errorf("%s %s: not an error answer: %s", ep, c.name, got)
				}
			}
		}
	}
	for _, r := range srv.routes {
		for _, variant := range r.variants {
			for _, msg := range fixedMessages() {
				req := Request{Endpoint: r.name, Format: variant}
				if srv.set.Load().fixed.lookup(srv.Tenants().stores[1], r, req, msg) == nil {
					t.Errorf("%s %q %q: no answer built at start", r.name, variant, msg)
				}
			}
		}
		if r.variantOf != nil && srv.set.Load().fixed.lookup(srv.Tenants().stores[1], r, Request{Endpoint: r.name, TargetLocale: "en"}, msgRateLimited) != nil {
			t.Errorf("%s: an answer built at start for a request with a target locale", r.name)
		}
	}
}
