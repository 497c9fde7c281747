package wazion_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// cachedAnswer is a typical side panel answer: one customer, five orders
// of two items.
func cachedAnswer() *wazion.CustomerInfoResponse {
	c := wazion.Customer{Name: "Ana García", Email: "ana@example.com", Phone: "+34612345678", ShopURL: "https://shop.test/c/1",
		OrdersCount: 5, TotalSpent: 450.5, State: "Pedidos recientes", AbandonedCarts: []wazion.AbandonedCart{}}
	for i := range 5 {
		c.Orders = append(c.Orders, wazion.Order{Name: fmt.Sprint("#100", i), Date: "2025-01-10T14:30:00Z", Amount: 90.1, NetAmount: 90.1,
			Currency: "EUR", ShopURL: "https://shop.test/o/1", Items: []wazion.Item{
				{Title: "Camiseta Premium Azul - Talla L", Quantity: 2, CurrentQuantity: 2, Amount: 59.98, OriginalAmount: 59.98, DiscountedAmount: 59.98, Status: wazion.ItemActive},
				{Title: "Zapatillas Running Pro", Quantity: 1, CurrentQuantity: 1, Amount: 30.12, OriginalAmount: 30.12, DiscountedAmount: 30.12, Status: wazion.ItemActive},
			}})
	}
	return &wazion.CustomerInfoResponse{Found: true, Customers: []wazion.Customer{c}}
}

// staticBackend answers sidePanel_CustomerInfo from memory, as a warm cache
// would, and nothing else.
type staticBackend struct {
	answer *wazion.CustomerInfoResponse
}

func (b staticBackend) CustomerInfo(context.Context, wazion.Request) (*wazion.CustomerInfoResponse, error) {
	return b.answer, nil
}

func (staticBackend) CustomerInitialInfo(context.Context, wazion.Request) (*wazion.InitialInfoResponse, error) {
	return nil, nil
}

func (staticBackend) FindToJoin(context.Context, wazion.Request) (*wazion.FindToJoinResponse, error) {
	return nil, nil
}

func (staticBackend) SearchProducts(context.Context, wazion.Request) (*wazion.ProductSearch, error) {
	return nil, nil
}

func (staticBackend) GlobalSearch(context.Context, wazion.Request) (*wazion.GlobalSearchResponse, error) {
	return nil, nil
}

func benchServe(b *testing.B, h fasthttp.RequestHandler) {
	benchServeToken(b, h, tokenA)
}

// benchServeToken sends the side panel's request with token.
func benchServeToken(b *testing.B, h fasthttp.RequestHandler, token string) {
	uri := "/wazion/sidePanel_CustomerInfo?phone=%2B34612345678&token=" + token + "&relatedphones=%5B%22%2B34698765432%22%5D"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.SetRequestURI(uri)
			h(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Fatal(ctx.Response.StatusCode())
			}
		}
	})
}

// BenchmarkCustomerInfoCached is the handler's own cost for a Backend
// answering from memory.
func BenchmarkCustomerInfoCached(b *testing.B) {
	benchServe(b, staticStore(b, 0))
}

// staticStore serves one store answered by staticBackend, keeping recent
// answers for answerTTL.
func staticStore(b *testing.B, answerTTL time.Duration) fasthttp.RequestHandler {
	return staticTenant(b, wazion.Tenant{Name: "A", Tokens: []string{tokenA}, Backend: staticBackend{cachedAnswer()}, AnswerTTL: answerTTL}, wazion.Options{})
}

// staticTenant serves t alone, with opts.
func staticTenant(tb testing.TB, t wazion.Tenant, opts wazion.Options) fasthttp.RequestHandler {
	ts, err := wazion.NewTenants([]wazion.Tenant{t})
	if err != nil {
		tb.Fatal(err)
	}
	srv := wazion.NewServer(ts, opts)
	app := fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true}))
	srv.Routes(app)
	return app.Handler()
}

// BenchmarkBareFiber serves the same bytes from a bare Fiber handler, the
// yardstick the product is measured against.
func BenchmarkBareFiber(b *testing.B) {
	benchServe(b, bareFiber())
}

// bareFiber is a bare Fiber handler sending cachedAnswer's bytes, as the
// service answers them, on the side panel's path.
func bareFiber() fasthttp.RequestHandler {
	answer := cachedAnswer()
	answer.Labels = wazion.LabelsFor("es")
	body, _ := json.Marshal(answer)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/wazion/sidePanel_CustomerInfo", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, wazion.ContentTypeJSON)
		return c.Send(body)
	})
	return app.Handler()
}

// BenchmarkCustomerInfoRecentAnswer is a request answered again from the
// store's recent answers (Tenant.AnswerTTL), without the Backend.
func BenchmarkCustomerInfoRecentAnswer(b *testing.B) {
	benchServe(b, staticStore(b, time.Hour))
}

// BenchmarkRejectBadToken is a request whose token matches no store: a
// flood of them must cost less than the answers it competes with
// (BenchmarkCustomerInfoRecentAnswer).
func BenchmarkRejectBadToken(b *testing.B) {
	benchServeToken(b, staticStore(b, time.Hour), tokenB)
}

// BenchmarkRejectTokenLimited is a request of a known token past its
// per-token bound (Tenant.RateLimit), answered without the Backend.
func BenchmarkRejectTokenLimited(b *testing.B) {
	benchServe(b, staticTenant(b, wazion.Tenant{Name: "A", Tokens: []string{tokenA}, Backend: staticBackend{cachedAnswer()},
		AnswerTTL: time.Hour, RateLimit: 1e-9, RateBurst: 1}, wazion.Options{}))
}

// BenchmarkLabelsText is the lookup of a label by its WAzion key, which
// the adapter makes for every state and AI text line.
func BenchmarkLabelsText(b *testing.B) {
	l := wazion.LabelsFor("es")
	keys := wazion.LabelKeys()
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		n += len(l.Text(keys[i%len(keys)]))
	}
	if n == 0 {
		b.Fatal("no text")
	}
}

// BenchmarkCustomerInfoRecentAnswerThousandStores is
// BenchmarkCustomerInfoRecentAnswer for the last of 1,000 stores: finding
// the token's store must not cost more with more stores.
func BenchmarkCustomerInfoRecentAnswerThousandStores(b *testing.B) {
	tenants := make([]wazion.Tenant, 0, 1000)
	for i := range 999 {
		tenants = append(tenants, wazion.Tenant{Name: fmt.Sprintf("S%d", i), Tokens: []string{fmt.Sprintf("token-of-store-%04d", i)},
			Backend: staticBackend{cachedAnswer()}, AnswerTTL: time.Hour})
	}
	tenants = append(tenants, wazion.Tenant{Name: "A", Tokens: []string{tokenA}, Backend: staticBackend{cachedAnswer()}, AnswerTTL: time.Hour})
	ts, err := wazion.NewTenants(tenants)
	if err != nil {
		b.Fatal(err)
	}
	srv := wazion.NewServer(ts, wazion.Options{})
	app := fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true}))
	srv.Routes(app)
	benchServe(b, app.Handler())
}
