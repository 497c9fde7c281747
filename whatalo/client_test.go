package whatalo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// newClient returns a client of srv with short backoffs, so retry tests stay
// fast, and a private limiter generous enough never to get in the way.
func newClient(t *testing.T, srv *whatalotest.Server, opts ...whatalo.Option) *whatalo.Client {
	t.Helper()
	base := []whatalo.Option{
		whatalo.WithBaseURL(srv.APIURL),
		whatalo.WithHTTPClient(srv.Client()),
		whatalo.WithRetryWait(10*time.Millisecond, 50*time.Millisecond),
		whatalo.WithLimiter(whatalo.NewLimiter(6000, 1)),
	}
	c, err := whatalo.NewClient(srv.APIKey, append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// recorder is a RoundTripper that keeps what the client sent and can edit
// what came back, for the few checks the fake cannot make itself.
type recorder struct {
	base http.RoundTripper
	edit func(*http.Response)

	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Clone(context.Background()))
	r.mu.Unlock()
	resp, err := r.base.RoundTrip(req)
	if err == nil && r.edit != nil {
		r.edit(resp)
	}
	return resp, err
}

func (r *recorder) last(t *testing.T) *http.Request {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("no request recorded")
	}
	return r.reqs[len(r.reqs)-1]
}

func withRecorder(rec *recorder) whatalo.Option {
	rec.base = whatalo.NewTransport()
	return whatalo.WithHTTPClient(&http.Client{Transport: rec})
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestHeadersOnEveryRequest(t *testing.T) {
	srv := whatalotest.NewServer(t, nil)
	rec := &recorder{}
	c := newClient(t, srv, withRecorder(rec))

	st, resp, err := c.Store.Get(context.Background())
	if err != nil {
		t.Fatalf("Store.Get: %v", err)
	}
	if st.ID == "" || st.Name == "" {
		t.Fatalf("store decoded empty: %+v", st)
	}
	req := rec.last(t)
	if got := req.Header.Get("X-API-Key"); got != srv.APIKey {
		t.Errorf("X-API-Key = %q, want the client's key", got)
	}
	if got, want := req.Header.Get("User-Agent"), "whatalo-wazion/"+whatalo.Version; got != want {
		t.Errorf("User-Agent = %q, want %q", got, want)
	}
	if resp.Rate.Limit <= 0 || resp.Rate.Remaining < 0 || resp.Rate.Remaining >= resp.Rate.Limit || resp.Rate.Reset.IsZero() {
		t.Errorf("Response.Rate not read from the headers: %+v", resp.Rate)
	}
	if rem, lim, ok := c.Limiter().Remaining(); !ok || rem != resp.Rate.Remaining || lim != resp.Rate.Limit {
		t.Errorf("Limiter.Remaining() = %d, %d, %v; want the response's %+v", rem, lim, ok, resp.Rate)
	}

	c2 := newClient(t, srv, withRecorder(rec), whatalo.WithUserAgent("shop-sync/2"))
	if _, _, err := c2.Store.Get(context.Background()); err != nil {
		t.Fatalf("Store.Get: %v", err)
	}
	if got := rec.last(t).Header.Get("User-Agent"); got != "shop-sync/2" {
		t.Errorf("WithUserAgent: User-Agent = %q", got)
	}
	if strings.Contains(c.String(), srv.APIKey) {
		t.Error("Client.String shows the API key")
	}
}

func TestNewClientRejectsBadConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		key  string
		opts []whatalo.Option
	}{
		"empty key":       {key: ""},
		"relative base":   {key: "wk_test_x", opts: []whatalo.Option{whatalo.WithBaseURL("/v1")}},
		"zero body limit": {key: "wk_test_x", opts: []whatalo.Option{whatalo.WithMaxBodySize(0)}},
		"nil limiter":     {key: "wk_test_x", opts: []whatalo.Option{whatalo.WithLimiter(nil)}},
	} {
		if _, err := whatalo.NewClient(tc.key, tc.opts...); err == nil {
			t.Errorf("%s: NewClient accepted it", name)
		}
	}
	c, err := whatalo.NewClient("wk_live_x")
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != whatalo.DefaultBaseURL || c.Limiter().PerMinute() != 900 {
		t.Errorf("defaults: base %q, budget %d", c.BaseURL(), c.Limiter().PerMinute())
	}
}

func TestFiltersAreEncoded(t *testing.T) {
	srv := whatalotest.NewServer(t, nil)
	rec := &recorder{}
	c := newClient(t, srv, withRecorder(rec))
	ctx := context.Background()
	from := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	to := from.Add(48 * time.Hour)

	tests := []struct {
		name string
		call func() error
		want url.Values
	}{
		{
			name: "customers",
			call: func() error {
				_, _, err := c.Customers.List(ctx, &whatalo.CustomerListOptions{
					Page: 2, PerPage: 10, Sort: whatalo.CustomerSortTotalSpent, Order: whatalo.SortAsc, Search: "ana",
					TotalSpentGTE: whatalo.Ptr(whatalo.NewMoney("100.5")), TotalSpentLTE: whatalo.Ptr(whatalo.NewMoney("9000")),
					OrdersCountGTE: whatalo.Ptr(0), OrdersCountLTE: whatalo.Ptr(12),
					LastOrderAtGTE: from, LastOrderAtLTE: to, HasOrders: whatalo.Ptr(false),
				})
				return err
			},
			want: url.Values{
				"page": {"2"}, "per_page": {"10"}, "sort": {"total_spent"}, "order": {"asc"}, "search": {"ana"},
				"total_spent[gte]": {"100.5"}, "total_spent[lte]": {"9000"},
				"orders_count[gte]": {"0"}, "orders_count[lte]": {"12"},
				"last_order_at[gte]": {"2025-01-02T03:04:05Z"}, "last_order_at[lte]": {"2025-01-04T03:04:05Z"},
				"has_orders": {"false"},
			},
		},
		{
			name: "orders",
			call: func() error {
				_, _, err := c.Orders.List(ctx, &whatalo.OrderListOptions{
					PerPage: 5, Sort: whatalo.OrderSortUpdatedAt, Order: whatalo.SortDesc, Search: "1042",
					CustomerID: "365047281936", Status: []string{whatalo.OrderPending, whatalo.OrderConfirmed},
					PaymentStatus: whatalo.PaymentPaid, DateFrom: from, DateTo: to, UpdatedAtGTE: from, UpdatedAtLTE: to,
					TotalGTE: whatalo.Ptr(whatalo.NewMoney("10")), TotalLTE: whatalo.Ptr(whatalo.NewMoney("99.99")),
					City: "Santiago", Province: "Santiago", Country: "República Dominicana", CountryCode: "DO",
				})
				return err
			},
			want: url.Values{
				"per_page": {"5"}, "sort": {"updated_at"}, "order": {"desc"}, "search": {"1042"},
				"customer_id": {"365047281936"}, "status": {"pending,confirmed"}, "payment_status": {"paid"},
				"date_from": {"2025-01-02T03:04:05Z"}, "date_to": {"2025-01-04T03:04:05Z"},
				"updated_at[gte]": {"2025-01-02T03:04:05Z"}, "updated_at[lte]": {"2025-01-04T03:04:05Z"},
				"total[gte]": {"10"}, "total[lte]": {"99.99"},
				"city": {"Santiago"}, "province": {"Santiago"}, "country": {"República Dominicana"}, "country_code": {"DO"},
			},
		},
		{
			name: "products",
			call: func() error {
				_, _, err := c.Products.List(ctx, &whatalo.ProductListOptions{
					Page: 1, PerPage: 100, Sort: whatalo.ProductSortPrice, Order: whatalo.SortAsc, Search: "camisa",
					Status: "all", CategoryID: []string{"104728193650", "104728193651"}, IsFeatured: whatalo.Ptr(true),
					PriceGTE: whatalo.Ptr(whatalo.NewMoney("5")), PriceLTE: whatalo.Ptr(whatalo.NewMoney("2500")),
					StockStatus: "in_stock",
				})
				return err
			},
			want: url.Values{
				"page": {"1"}, "per_page": {"100"}, "sort": {"price"}, "order": {"asc"}, "search": {"camisa"},
				"status": {"all"}, "category_id": {"104728193650,104728193651"}, "is_featured": {"true"},
				"price[gte]": {"5"}, "price[lte]": {"2500"}, "stock_status": {"in_stock"},
			},
		},
		{
			name: "unset filters are left out",
			call: func() error {
				_, _, err := c.Customers.List(ctx, &whatalo.CustomerListOptions{})
				return err
			},
			want: url.Values{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatalf("the fake rejected the filters: %v", err)
			}
			got := rec.last(t).URL.Query()
			for k, v := range tt.want {
				if g := got[k]; len(g) != 1 || g[0] != v[0] {
					t.Errorf("%s = %q, want %q", k, g, v[0])
				}
			}
			for k := range got {
				if _, ok := tt.want[k]; !ok {
					t.Errorf("unexpected parameter %s=%q", k, got[k])
				}
			}
		})
	}
}

func TestFiltersReachTheFake(t *testing.T) {
	srv := whatalotest.NewServer(t, whatalotest.Generate(60, 7))
	c := newClient(t, srv)
	cs, _, err := c.Customers.List(context.Background(), &whatalo.CustomerListOptions{PerPage: 100, HasOrders: whatalo.Ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	for _, cu := range cs {
		if cu.OrdersCount != 0 {
			t.Fatalf("has_orders=false returned %s with %d orders", cu.ID, cu.OrdersCount)
		}
	}
	os, _, err := c.Orders.List(context.Background(), &whatalo.OrderListOptions{PerPage: 100, Status: []string{whatalo.OrderCancelled, whatalo.OrderReturned}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range os {
		if o.Status != whatalo.OrderCancelled && o.Status != whatalo.OrderReturned {
			t.Fatalf("status filter returned order %s in %s", o.ID, o.Status)
		}
	}
}

func TestAllWalksEveryPage(t *testing.T) {
	seed := whatalotest.Generate(250, 1)
	srv := whatalotest.NewServer(t, seed)
	c := newClient(t, srv)
	ctx := context.Background()

	seen := map[string]bool{}
	for cu, err := range c.Customers.All(ctx, &whatalo.CustomerListOptions{PerPage: 100, Sort: whatalo.CustomerSortCreatedAt, Order: whatalo.SortAsc}) {
		if err != nil {
			t.Fatalf("All: %v", err)
		}
		if seen[cu.ID] {
			t.Fatalf("customer %s yielded twice", cu.ID)
		}
		seen[cu.ID] = true
	}
	if len(seen) != len(seed.Customers) {
		t.Fatalf("All yielded %d customers, the store has %d", len(seen), len(seed.Customers))
	}
	if got := srv.Stats().PerRoute["GET /v1/customers"]; got != 3 {
		t.Fatalf("250 customers at 100 per page took %d list calls, want 3", got)
	}

	// Breaking out stops the paging.
	srv.Reset()
	n := 0
	for _, err := range c.Customers.All(ctx, &whatalo.CustomerListOptions{PerPage: 10}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 15 {
			break
		}
	}
	if got := srv.Stats().PerRoute["GET /v1/customers"]; got != 2 {
		t.Fatalf("breaking after 15 of 10-per-page made %d list calls, want 2", got)
	}

	orders, products := 0, 0
	for _, err := range c.Orders.All(ctx, &whatalo.OrderListOptions{PerPage: 50}) {
		if err != nil {
			t.Fatal(err)
		}
		orders++
	}
	for _, err := range c.Products.All(ctx, &whatalo.ProductListOptions{Status: "all", PerPage: 7}) {
		if err != nil {
			t.Fatal(err)
		}
		products++
	}
	if orders != len(seed.Orders) || products != len(seed.Products) {
		t.Fatalf("All orders %d/%d, products %d/%d", orders, len(seed.Orders), products, len(seed.Products))
	}
}

func TestAllYieldsThePageError(t *testing.T) {
	srv := whatalotest.NewServer(t, whatalotest.Generate(30, 2))
	c := newClient(t, srv)
	var errs []error
	n := 0
	for _, err := range c.Customers.All(context.Background(), &whatalo.CustomerListOptions{PerPage: 10}) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n++; n == 10 {
			srv.SetFaults(whatalotest.Faults{ErrorRate: 1, ErrorStatus: 404})
		}
	}
	if n != 10 || len(errs) != 1 || !errors.Is(errs[0], whatalo.ErrNotFound) {
		t.Fatalf("got %d customers and errors %v; want 10 then one 404", n, errs)
	}
}

func TestCustomersGetCreateUpdateCount(t *testing.T) {
	seed := whatalotest.Generate(20, 3)
	srv := whatalotest.NewServer(t, seed)
	c := newClient(t, srv)
	ctx := context.Background()

	n, _, err := c.Customers.Count(ctx)
	if err != nil || n != len(seed.Customers) {
		t.Fatalf("Count = %d, %v; want %d", n, err, len(seed.Customers))
	}

	created, _, err := c.Customers.Create(ctx, whatalo.CustomerInput{
		Name: whatalo.Ptr("Ana Pérez"), Phone: whatalo.Ptr("+18095557777"), Email: whatalo.Ptr("ana@example.com"),
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if created.ID == "" || created.Name != "Ana Pérez" || created.Phone != "+18095557777" {
		t.Fatalf("Create returned %+v", created)
	}

	got, _, err := c.Customers.Get(ctx, created.ID)
	if err != nil || got.Email != "ana@example.com" {
		t.Fatalf("Get = %+v, %v", got, err)
	}

	updated, _, err := c.Customers.Update(ctx, created.ID, whatalo.CustomerInput{Notes: whatalo.Ptr("prefers WhatsApp")})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if updated.Notes != "prefers WhatsApp" || updated.Name != "Ana Pérez" {
		t.Fatalf("Update changed the wrong fields: %+v", updated)
	}
	if stored, ok := srv.Customer(created.ID); !ok || stored.Notes != "prefers WhatsApp" {
		t.Fatalf("the fake did not store the update: %+v", stored)
	}

	n, _, err = c.Customers.Count(ctx)
	if err != nil || n != len(seed.Customers)+1 {
		t.Fatalf("Count after Create = %d, %v; want %d", n, err, len(seed.Customers)+1)
	}

	_, _, err = c.Customers.Create(ctx, whatalo.CustomerInput{Email: whatalo.Ptr("no-name@example.com")})
	var werr *whatalo.Error
	if !errors.As(err, &werr) || werr.StatusCode != http.StatusUnprocessableEntity || werr.Code != "VALIDATION_ERROR" || len(werr.FieldErrors()) == 0 {
		t.Fatalf("Create without name: got %v, want a 422 VALIDATION_ERROR with field errors", err)
	}
}

func TestOrdersProductsStoreWebhooks(t *testing.T) {
	seed := whatalotest.Generate(15, 4)
	srv := whatalotest.NewServer(t, seed)
	c := newClient(t, srv)
	ctx := context.Background()

	var withItems whatalo.Order
	for _, o := range seed.Orders {
		if len(o.Items) > 0 {
			withItems = o
			break
		}
	}
	if withItems.ID == "" {
		t.Fatal("the generated seed has no order with items")
	}
	o, _, err := c.Orders.Get(ctx, withItems.ID)
	if err != nil {
		t.Fatalf("Orders.Get: %v", err)
	}
	if o.OrderNumber != withItems.OrderNumber || len(o.Items) != len(withItems.Items) || !o.Total.Equal(withItems.Total.Decimal) {
		t.Fatalf("Orders.Get = #%d with %d items, total %s; want #%d, %d, %s",
			o.OrderNumber, len(o.Items), o.Total, withItems.OrderNumber, len(withItems.Items), withItems.Total)
	}
	items, _, err := c.Orders.Items(ctx, withItems.ID)
	if err != nil || len(items) != len(withItems.Items) || items[0].ID != withItems.Items[0].ID {
		t.Fatalf("Orders.Items = %d items, %v", len(items), err)
	}

	os, resp, err := c.Orders.List(ctx, &whatalo.OrderListOptions{CustomerID: withItems.CustomerID, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(os) == 0 || resp.Pagination.Total != len(os) || resp.NextPage() != 0 {
		t.Fatalf("orders of %s: %d, pagination %+v", withItems.CustomerID, len(os), resp.Pagination)
	}
	for _, x := range os {
		if x.CustomerID != withItems.CustomerID {
			t.Fatalf("customer_id filter returned an order of %s", x.CustomerID)
		}
	}

	p, _, err := c.Products.Get(ctx, seed.Products[0].ID)
	if err != nil || p.Name != seed.Products[0].Name {
		t.Fatalf("Products.Get = %+v, %v", p, err)
	}

	st, _, err := c.Store.Get(ctx)
	if err != nil || st.Currency != seed.Store.Currency || st.CountryCode != seed.Store.CountryCode {
		t.Fatalf("Store.Get = %+v, %v", st, err)
	}

	wh, _, err := c.Webhooks.Create(ctx, whatalo.WebhookInput{URL: "https://shop.example.com/hook", Events: []string{"customer.updated"}})
	if err != nil || wh.ID == "" || wh.Secret == "" {
		t.Fatalf("Webhooks.Create = %+v, %v; want an id and a generated secret", wh, err)
	}
	whs, _, err := c.Webhooks.List(ctx)
	if err != nil || len(whs) == 0 || whs[len(whs)-1].URL != "https://shop.example.com/hook" {
		t.Fatalf("Webhooks.List = %+v, %v", whs, err)
	}
}

func TestIDsArePathEscaped(t *testing.T) {
	srv := whatalotest.NewServer(t, nil)
	rec := &recorder{}
	c := newClient(t, srv, withRecorder(rec))
	_, _, err := c.Customers.Get(context.Background(), "a/b c?d")
	if !errors.Is(err, whatalo.ErrNotFound) {
		t.Fatalf("Get of an odd id: got %v, want 404", err)
	}
	if got := rec.last(t).URL.EscapedPath(); !strings.HasSuffix(got, "/customers/a%2Fb%20c%3Fd") {
		t.Fatalf("path %q: id not escaped", got)
	}
	if got := srv.Stats().PerRoute["GET /v1/customers/{id}"]; got != 1 {
		t.Fatalf("the escaped id reached route count %d, want GET /v1/customers/{id} once", got)
	}
	before := srv.Stats().Total
	if _, _, err := c.Orders.Get(context.Background(), ""); err == nil {
		t.Fatal("empty id accepted")
	}
	if srv.Stats().Total != before {
		t.Fatal("an empty id was sent")
	}
}

func TestErrorStatuses(t *testing.T) {
	const limited = "wk_test_limited"
	srv := whatalotest.NewServer(t, nil,
		whatalotest.WithAPIKeys("wk_test_demo", limited),
		whatalotest.WithKeyScopes(limited, "read:customers"))
	ctx := context.Background()

	bad, err := whatalo.NewClient("wk_test_wrong", whatalo.WithBaseURL(srv.APIURL))
	if err != nil {
		t.Fatal(err)
	}
	scoped, err := whatalo.NewClient(limited, whatalo.WithBaseURL(srv.APIURL))
	if err != nil {
		t.Fatal(err)
	}
	good := newClient(t, srv)

	tests := []struct {
		name     string
		call     func() (*whatalo.Response, error)
		status   int
		sentinel error
		route    string
		scope    string
	}{
		{"401", func() (*whatalo.Response, error) { _, r, err := bad.Store.Get(ctx); return r, err },
			401, whatalo.ErrUnauthorized, "GET /store", ""},
		{"403", func() (*whatalo.Response, error) { _, r, err := scoped.Orders.List(ctx, nil); return r, err },
			403, whatalo.ErrForbidden, "GET /orders", "read:orders"},
		{"404", func() (*whatalo.Response, error) { _, r, err := good.Customers.Get(ctx, "000000000000"); return r, err },
			404, whatalo.ErrNotFound, "GET /customers/{id}", ""},
		{"400", func() (*whatalo.Response, error) {
			_, r, err := good.Customers.List(ctx, &whatalo.CustomerListOptions{PerPage: 500})
			return r, err
		}, 400, nil, "GET /customers", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Stats().Total
			resp, err := tt.call()
			var werr *whatalo.Error
			if !errors.As(err, &werr) {
				t.Fatalf("got %v, want *whatalo.Error", err)
			}
			if werr.StatusCode != tt.status || werr.Route != tt.route || werr.Code == "" || werr.Message == "" {
				t.Fatalf("got %+v", werr)
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("Response not returned with the error: %+v", resp)
			}
			for _, s := range []error{whatalo.ErrUnauthorized, whatalo.ErrForbidden, whatalo.ErrNotFound, whatalo.ErrRateLimited} {
				if got := errors.Is(err, s); got != (s == tt.sentinel) {
					t.Errorf("errors.Is(err, %v) = %v", s, got)
				}
			}
			if got := werr.RequiredScope(); got != tt.scope {
				t.Errorf("RequiredScope() = %q, want %q", got, tt.scope)
			}
			want := fmt.Sprintf("whatalo: %s: %d %s: %s", tt.route, tt.status, werr.Code, werr.Message)
			if msg := err.Error(); msg != want || strings.Contains(msg, "wk_test_") {
				t.Errorf("Error() = %q, want %q", msg, want)
			}
			if got := srv.Stats().Total - before; got != 1 {
				t.Errorf("a %d was sent %d times; 4xx must not be retried", tt.status, got)
			}
		})
	}
}

func TestRateLimited429PausesTheKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := whatalotest.NewMemoryServer(t, nil)
		obs := &observer{}
		c := newClient(t, srv, whatalo.WithObserver(obs))
		srv.SetFaults(whatalotest.Faults{RateLimitStorm: true, RetryAfter: 1, Times: 1})

		start := time.Now()
		_, _, err := c.Customers.List(ctx5s(t), nil)
		var werr *whatalo.Error
		if !errors.As(err, &werr) || werr.StatusCode != 429 || !errors.Is(err, whatalo.ErrRateLimited) {
			t.Fatalf("storm: got %v, want a 429 *Error", err)
		}
		if werr.RetryAfter != time.Second {
			t.Errorf("RetryAfter = %s, want 1s", werr.RetryAfter)
		}
		if st := srv.Stats(); st.Total != 1 || st.RateLimited != 1 {
			t.Fatalf("a 429 was retried: stats %+v", st)
		}
		if c.Limiter().State().PausedUntil.IsZero() {
			t.Fatal("429 did not pause the limiter")
		}

		// A caller that cannot wait out the pause fails at once, unsent.
		t0 := time.Now()
		_, _, err = c.Customers.List(ctxTimeout(t, 200*time.Millisecond), nil)
		var le *whatalo.LimiterError
		if !errors.As(err, &le) || !errors.Is(err, whatalo.ErrRateLimited) || le.PausedUntil.IsZero() {
			t.Fatalf("call during the pause: got %v, want a *LimiterError", err)
		}
		if el := time.Since(t0); el != 0 {
			t.Fatalf("the refusal took %s", el)
		}
		if got := srv.Stats().Total; got != 1 {
			t.Fatalf("the refused call reached the server (%d requests)", got)
		}
		if obs.count("reject") != 1 {
			t.Errorf("observer saw %d limiter rejections, want 1", obs.count("reject"))
		}

		// One that can, waits and succeeds.
		if _, _, err := c.Customers.List(ctx5s(t), nil); err != nil {
			t.Fatalf("call after the pause: %v", err)
		}
		if el := time.Since(start); el < 900*time.Millisecond {
			t.Fatalf("the call after a Retry-After of 1s went out after %s", el)
		}
	})
}

func ctx5s(t *testing.T) context.Context { return ctxTimeout(t, 5*time.Second) }

func TestRemainingZeroPausesTheKey(t *testing.T) {
	srv := whatalotest.NewServer(t, nil, whatalotest.WithRateLimit(3))
	c := newClient(t, srv)
	for i := range 3 {
		if _, _, err := c.Store.Get(ctx5s(t)); err != nil {
			t.Fatalf("call %d within the fake's limit: %v", i, err)
		}
	}
	_, _, err := c.Store.Get(ctxTimeout(t, 200*time.Millisecond))
	if !errors.Is(err, whatalo.ErrRateLimited) {
		t.Fatalf("call after Remaining 0: got %v, want a local refusal", err)
	}
	if st := srv.Stats(); st.Total != 3 || st.RateLimited != 0 {
		t.Fatalf("the client ignored Remaining 0: stats %+v", st)
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	srv := whatalotest.NewServer(t, nil)
	c := newClient(t, srv)

	srv.SetFaults(whatalotest.Faults{ErrorRate: 1, ErrorStatus: 503, Times: 2})
	if _, _, err := c.Customers.List(ctx5s(t), nil); err != nil {
		t.Fatalf("503 twice then success: %v", err)
	}
	if got := srv.Stats().Total; got != 3 {
		t.Fatalf("server saw %d requests, want 3", got)
	}

	// Retries give up after RetryMax with the last answer as an *Error.
	srv.Reset()
	srv.SetFaults(whatalotest.Faults{ErrorRate: 1, ErrorStatus: 500})
	c1 := newClient(t, srv, whatalo.WithRetryMax(1))
	_, _, err := c1.Customers.List(ctx5s(t), nil)
	var werr *whatalo.Error
	if !errors.As(err, &werr) || werr.StatusCode != 500 {
		t.Fatalf("persistent 500: got %v", err)
	}
	if got := srv.Stats().Total; got != 2 {
		t.Fatalf("RetryMax 1 made %d attempts, want 2", got)
	}
}

func TestPostRetriesOnlyWhereSafe(t *testing.T) {
	srv := whatalotest.NewServer(t, nil)
	c := newClient(t, srv)
	in := whatalo.CustomerInput{Name: whatalo.Ptr("Luis")}

	srv.SetFaults(whatalotest.Faults{ErrorRate: 1, ErrorStatus: 500, Times: 1})
	_, _, err := c.Customers.Create(ctx5s(t), in)
	var werr *whatalo.Error
	if !errors.As(err, &werr) || werr.StatusCode != 500 || srv.Stats().Total != 1 {
		t.Fatalf("POST on 500: got %v after %d requests; want the 500, unretried", err, srv.Stats().Total)
	}

	srv.Reset()
	srv.SetFaults(whatalotest.Faults{ErrorRate: 1, ErrorStatus: 503, Times: 1})
	if _, _, err := c.Customers.Create(ctx5s(t), in); err != nil || srv.Stats().Total != 2 {
		t.Fatalf("POST on 503: %v after %d requests; want a retry", err, srv.Stats().Total)
	}
}

func TestDeadlineCutsRetriesShort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := whatalotest.NewMemoryServer(t, nil)
		srv.SetFaults(whatalotest.Faults{ErrorRate: 1, ErrorStatus: 503})
		c := newClient(t, srv, whatalo.WithRetryWait(100*time.Millisecond, time.Second), whatalo.WithRetryMax(10))

		start := time.Now()
		_, _, err := c.Customers.List(ctxTimeout(t, 300*time.Millisecond), nil)
		el := time.Since(start)
		// No scheduler stalls in virtual time: the policy must hand back the
		// last 503 before the deadline, not run into it.
		var werr *whatalo.Error
		if !errors.As(err, &werr) || werr.StatusCode != 503 {
			t.Fatalf("got %v, want the last 503", err)
		}
		if el >= 300*time.Millisecond {
			t.Fatalf("returned after %s, past the 300 ms deadline", el)
		}
		if got := srv.Stats().Total; got < 2 || got > 3 {
			t.Fatalf("%d attempts; want a retry or two inside 300 ms, not RetryMax", got)
		}
	})
}

func TestNetworkErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: every dial is refused

	obs := &observer{}
	c, err := whatalo.NewClient("wk_test_secret123",
		whatalo.WithBaseURL("http://"+addr+"/v1"),
		whatalo.WithRetryWait(5*time.Millisecond, 10*time.Millisecond),
		whatalo.WithRetryMax(2),
		whatalo.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Customers.List(ctx5s(t), &whatalo.CustomerListOptions{Search: "+18095551234"})
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	var ne *net.OpError
	if !errors.As(err, &ne) {
		t.Fatalf("want the *net.OpError kept in the chain, got %T %v", err, err)
	}
	if msg := err.Error(); strings.Contains(msg, "18095551234") || strings.Contains(msg, "secret123") || !strings.HasPrefix(msg, "whatalo: GET /customers: ") {
		t.Fatalf("error %q leaks the query or the key, or lacks the route", msg)
	}
	if got := obs.statuses("GET /customers"); len(got) != 3 || got[0] != 0 {
		t.Fatalf("observed %v; want three attempts with status 0", got)
	}

	// POST retries dial errors too: nothing was sent.
	_, _, err = c.Customers.Create(ctx5s(t), whatalo.CustomerInput{Name: whatalo.Ptr("x")})
	if err == nil || len(obs.statuses("POST /customers")) != 3 {
		t.Fatalf("POST to a closed port: %v after %d attempts, want 3", err, len(obs.statuses("POST /customers")))
	}
}

func TestHangingServerRespectsTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := whatalotest.NewMemoryServer(t, nil)
		srv.SetFaults(whatalotest.Faults{Hang: true})
		c := newClient(t, srv)
		start := time.Now()
		_, _, err := c.Customers.Get(ctxTimeout(t, 200*time.Millisecond), "1")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hang: got %v, want context.DeadlineExceeded", err)
		}
		if el := time.Since(start); el != 200*time.Millisecond {
			t.Fatalf("hang returned after %s", el)
		}
		srv.Reset() // release the hung handler
	})
}

func TestUnusableBodies(t *testing.T) {
	tests := []struct {
		name   string
		faults whatalotest.Faults
		edit   func(*http.Response)
		opts   []whatalo.Option
		want   string
	}{
		{name: "malformed", faults: whatalotest.Faults{MalformedJSON: true}, want: "decode response: invalid JSON"},
		{name: "truncated", faults: whatalotest.Faults{TruncatedBody: true}, want: "read response: truncated body after"},
		{name: "html", edit: func(r *http.Response) {
			r.Body.Close()
			r.Header.Set("Content-Type", "text/html; charset=utf-8")
			r.Body = io.NopCloser(strings.NewReader("<html>maintenance</html>"))
			r.ContentLength = -1
		}, want: "decode response: response is not JSON (content-type text/html; charset=utf-8)"},
		{name: "oversized", opts: []whatalo.Option{whatalo.WithMaxBodySize(1 << 10)}, want: "response body exceeds 1 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := whatalotest.NewServer(t, whatalotest.Generate(40, 5))
			rec := &recorder{edit: tt.edit}
			c := newClient(t, srv, append([]whatalo.Option{withRecorder(rec)}, tt.opts...)...)
			srv.SetFaults(tt.faults)
			cs, _, err := c.Customers.List(ctx5s(t), &whatalo.CustomerListOptions{PerPage: 100})
			if !errors.Is(err, whatalo.ErrBadResponse) {
				t.Fatalf("got %d customers, err %v; want ErrBadResponse", len(cs), err)
			}
			if !strings.HasPrefix(err.Error(), "whatalo: GET /customers: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNonJSONErrorBody(t *testing.T) {
	srv := whatalotest.NewServer(t, nil)
	rec := &recorder{edit: func(r *http.Response) {
		r.Body.Close()
		r.StatusCode, r.Status = 502, "502 Bad Gateway"
		r.Header.Set("Content-Type", "text/html")
		r.Body = io.NopCloser(strings.NewReader("<html>bad gateway</html>"))
		r.ContentLength = -1
	}}
	c := newClient(t, srv, withRecorder(rec), whatalo.WithRetryMax(0))
	_, _, err := c.Store.Get(ctx5s(t))
	var werr *whatalo.Error
	if !errors.As(err, &werr) || werr.StatusCode != 502 || werr.Code != "" {
		t.Fatalf("got %v, want a 502 *Error without a code", err)
	}
	if want := "whatalo: GET /store: 502: Bad Gateway (error body is not JSON, content-type text/html)"; err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err, want)
	}
}

func TestLimiterHoldsTheBudgetAgainstTheFake(t *testing.T) {
	// 600/min: a burst of 60, then 9 per second. However hard 40 goroutines
	// push, the fake must see no more than that in the time the test takes.
	srv := whatalotest.NewServer(t, nil, whatalotest.WithRateLimit(100000))
	lim := whatalo.NewLimiter(600, 1)
	a := newClient(t, srv, whatalo.WithLimiter(lim))
	b := newClient(t, srv, whatalo.WithLimiter(lim)) // same key, same budget

	ctx := ctxTimeout(t, 1500*time.Millisecond)
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := range 40 {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				_, _, err := c.Store.Get(ctx)
				mu.Lock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, whatalo.ErrRateLimited):
					refused++
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	st := srv.Stats()
	bound := 60 + int(9*el.Seconds()) + 1
	if st.Total > int64(bound) || int64(ok) != st.Total {
		t.Fatalf("the fake saw %d requests (%d ok) in %s; the budget allows %d", st.Total, ok, el, bound)
	}
	if st.Total < 60 || refused == 0 {
		t.Fatalf("%d requests, %d refused: the burst was not used or nothing was refused", st.Total, refused)
	}
	if st.MaxPerMinute > 600 {
		t.Fatalf("MaxPerMinute %d over the budget", st.MaxPerMinute)
	}
}

func TestBackgroundShareAgainstTheFake(t *testing.T) {
	srv := whatalotest.NewServer(t, nil, whatalotest.WithRateLimit(100000))
	// 600/min with 10 % for background: 6 at once, then 0.9 per second.
	c := newClient(t, srv, whatalo.WithLimiter(whatalo.NewLimiter(600, 0.1)))
	bg := whatalo.WithPriority(ctxTimeout(t, 500*time.Millisecond), whatalo.Background)
	fg := ctxTimeout(t, 500*time.Millisecond)

	var wg sync.WaitGroup
	var mu sync.Mutex
	bgOK, bgShareRefused, fgOK := 0, 0, 0
	for range 20 {
		wg.Go(func() {
			_, _, err := c.Store.Get(bg)
			var le *whatalo.LimiterError
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				bgOK++
			} else if errors.As(err, &le) && le.Share {
				bgShareRefused++
			}
		})
		wg.Go(func() {
			if _, _, err := c.Store.Get(fg); err == nil {
				mu.Lock()
				fgOK++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if bgOK < 6 || bgOK > 7 || bgOK+bgShareRefused != 20 {
		t.Fatalf("background: %d ok, %d refused by the share; want 6 or 7 ok, the rest refused", bgOK, bgShareRefused)
	}
	if fgOK != 20 {
		t.Fatalf("interactive: %d of 20 ok; background must not crowd them out", fgOK)
	}
	if got := srv.Stats().Total; got != int64(bgOK+fgOK) {
		t.Fatalf("the fake saw %d requests, want %d", got, bgOK+fgOK)
	}
}

func TestObserverAndLogger(t *testing.T) {
	srv := whatalotest.NewServer(t, nil)
	obs := &observer{}
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&syncWriter{w: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, srv, whatalo.WithObserver(obs), whatalo.WithLogger(logger))

	srv.SetFaults(whatalotest.Faults{ErrorRate: 1, ErrorStatus: 503, Times: 1})
	if _, _, err := c.Customers.List(ctx5s(t), &whatalo.CustomerListOptions{Search: "+18095551234"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Customers.Get(ctx5s(t), "missing-id"); !errors.Is(err, whatalo.ErrNotFound) {
		t.Fatal(err)
	}
	if got := obs.statuses("GET /customers"); len(got) != 2 || got[0] != 503 || got[1] != 200 {
		t.Errorf("GET /customers observed %v, want [503 200]", got)
	}
	if got := obs.statuses("GET /customers/{id}"); len(got) != 1 || got[0] != 404 {
		t.Errorf("GET /customers/{id} observed %v, want [404]", got)
	}
	if obs.count("wait") != 3 || obs.count("rate") != 3 {
		t.Errorf("observer saw %d limiter waits and %d rate headers, want 3 each", obs.count("wait"), obs.count("rate"))
	}
	out := buf.String()
	if !strings.Contains(out, `"route":"GET /customers"`) {
		t.Errorf("the log does not name routes: %s", out)
	}
	for _, secret := range []string{srv.APIKey, "18095551234"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

type observation struct {
	kind   string
	route  string
	status int
}

type observer struct {
	mu  sync.Mutex
	obs []observation
}

func (o *observer) add(ob observation) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.obs = append(o.obs, ob)
}

func (o *observer) ObserveRequest(route string, status int, _ time.Duration) {
	o.add(observation{kind: "request", route: route, status: status})
}
func (o *observer) ObserveLimiterWait(whatalo.Priority, time.Duration) {
	o.add(observation{kind: "wait"})
}
func (o *observer) ObserveLimiterReject(whatalo.Priority) { o.add(observation{kind: "reject"}) }
func (o *observer) ObserveRateLimit(int, int, time.Time)  { o.add(observation{kind: "rate"}) }

func (o *observer) count(kind string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, ob := range o.obs {
		if ob.kind == kind {
			n++
		}
	}
	return n
}

func (o *observer) statuses(route string) []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	var s []int
	for _, ob := range o.obs {
		if ob.kind == "request" && ob.route == route {
			s = append(s, ob.status)
		}
	}
	return s
}
