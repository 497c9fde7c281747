package wazion_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

func TestBadInput(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200)
	deepArray := `{"relatedphones":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`
	var many strings.Builder
	many.WriteString(`{"phone":"+34612345678","relatedphones":[`)
	for i := range 10000 {
		if i > 0 {
			many.WriteByte(',')
		}
		fmt.Fprintf(&many, `"+346%08d"`, i)
	}
	many.WriteString(`]}`)

	tests := []struct {
		name, contentType, body, wantErr string
	}{
		{"malformed JSON", "application/json", `{"phone":`, wazion.ErrInvalidJSON.Error()},
		{"JSON not an object", "application/json", `["phone"]`, wazion.ErrInvalidJSON.Error()},
		{"trailing data", "application/json", `{"phone":"1"} {"x":1}`, wazion.ErrInvalidJSON.Error()},
		{"too large", "application/json", `{"phone":"` + strings.Repeat("1", 70<<10) + `"}`, wazion.ErrBodyTooLarge.Error()},
		{"invalid UTF-8 JSON", "application/json", "{\"phone\":\"\xff\xfe\"}", wazion.ErrInvalidUTF8.Error()},
		{"invalid UTF-8 form", "application/x-www-form-urlencoded", "phone=%FF%FE", wazion.ErrInvalidUTF8.Error()},
		{"deep JSON", "application/json", deep, wazion.ErrJSONTooDeep.Error()},
		{"deep related array", "application/json", deepArray, wazion.ErrJSONTooDeep.Error()},
		{"10000 related phones", "application/json", many.String(), wazion.ErrBodyTooLarge.Error()},
		{"multipart without boundary", "multipart/form-data", "--x\r\n", wazion.ErrInvalidMultipart.Error()},
		{"broken multipart", "multipart/form-data; boundary=zz", "--zz\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n1", wazion.ErrInvalidMultipart.Error()},
		{"unknown encoding", "application/json", `{}`, wazion.ErrUnsupportedEncoding.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeBackend{name: "A"}
			obs := &recordingObserver{}
			app := oneStore(t, fake, wazion.Options{Observer: obs})
			for _, ep := range wazion.Endpoints() {
				mk := func(target string) *http.Request {
					r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(tt.body))
					r.Header.Set("Content-Type", tt.contentType)
					if tt.name == "unknown encoding" {
						r.Header.Set("Content-Encoding", "compress")
					}
					return r
				}
				// With the token in the query the error itself comes back.
				a := do(t, app, mk(path(ep)+"?token="+tokenA))
				if got := a.str("error"); got != tt.wantErr {
					t.Errorf("%s: error %q, want %q; body %s", ep, got, tt.wantErr, a.raw)
				}
				if o := obs.last(t); o.outcome != wazion.OutcomeBadRequest || o.store != "A" {
					t.Errorf("%s: observed %+v", ep, o)
				}
				// Without a token anywhere it is unauthorized.
				a = do(t, app, mk(path(ep)))
				if a.str("error") != "unauthorized" {
					t.Errorf("%s without token: %s", ep, a.raw)
				}
			}
			if fake.calls() != 0 {
				t.Errorf("backend called %d times on bad input", fake.calls())
			}
		})
	}
}

func TestManyRelatedPhonesAreCapped(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	app := oneStore(t, fake, wazion.Options{BodyLimit: 1 << 20})
	var many strings.Builder
	many.WriteString(`{"token":"` + tokenA + `","relatedphones":[`)
	for i := range 10000 {
		if i > 0 {
			many.WriteByte(',')
		}
		fmt.Fprintf(&many, `"+346%08d"`, i)
	}
	many.WriteString(`]}`)
	a := do(t, app, postJSON(path(wazion.EndpointCustomerInfo), many.String()))
	if a.str("error") != "" {
		t.Fatalf("capped list answered an error: %s", a.raw)
	}
	got := fake.last(t).RelatedPhones
	if len(got) != wazion.MaxRelatedPhones || got[0] != "+34600000000" || got[49] != "+34600000049" {
		t.Errorf("kept %d related phones (%v...), want the first %d", len(got), got[:min(3, len(got))], wazion.MaxRelatedPhones)
	}
}

// TestFiberLevelErrors covers errors fasthttp raises before any handler
// runs: with the error handler of Server.FiberConfig they keep WAzion's
// contract.
func TestFiberLevelErrors(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	ts, err := wazion.NewTenants([]wazion.Tenant{{Name: "A", Tokens: []string{tokenA}, Backend: fake}})
	if err != nil {
		t.Fatal(err)
	}
	obs := &recordingObserver{}
	opts := wazion.Options{Observer: obs, BodyLimit: 2048}
	srv := wazion.NewServer(ts, opts)
	app := fiber.New(srv.FiberConfig(fiber.Config{BodyLimit: 4096, DisableStartupMessage: true}))
	srv.Routes(app)
	base := serve(t, app)
	body := `{"phone":"` + strings.Repeat("1", 8192) + `"}`

	// Over the handler's limit but within Fiber's.
	a := doHTTP(t, clientReq(t, base+path(wazion.EndpointCustomerInfo)+"?token="+tokenA, "application/json", body[:3000]+`"}`))
	if a.str("error") != wazion.ErrBodyTooLarge.Error() {
		t.Errorf("over the handler's limit: %s", a.raw)
	}

	// Over Fiber's limit: fasthttp refuses it before any handler.
	a = doHTTP(t, clientReq(t, base+path(wazion.EndpointCustomerInfo)+"?token="+tokenA, "application/json", body))
	if a.str("error") != wazion.ErrBodyTooLarge.Error() || a.json["labels"] == nil {
		t.Errorf("over Fiber's limit with token: %s", a.raw)
	}
	if o := obs.last(t); o.outcome != wazion.OutcomeBadRequest || o.store != "A" {
		t.Errorf("observed %+v", o)
	}
	r := clientReq(t, base+path(wazion.EndpointCustomerInfo), "application/json", body)
	r.Header.Set("Authorization", "Bearer "+tokenA)
	if a = doHTTP(t, r); a.str("error") != wazion.ErrBodyTooLarge.Error() {
		t.Errorf("over Fiber's limit with header token: %s", a.raw)
	}
	a = doHTTP(t, clientReq(t, base+path(wazion.EndpointCustomerInfo), "application/json", body))
	if a.str("error") != "unauthorized" {
		t.Errorf("over Fiber's limit without token: %s", a.raw)
	}
	// Fiber would pre-parse this multipart body and answer 400 itself.
	r = clientReq(t, base+path(wazion.EndpointGlobalSearch)+"?token="+tokenA, "multipart/form-data; boundary=zz",
		"--zz\r\nContent-Disposition: form-data; name=\"query\"\r\n\r\nab")
	if a = doHTTP(t, r); a.str("error") != wazion.ErrInvalidMultipart.Error() || a.json["found"] != false {
		t.Errorf("broken multipart: %s", a.raw)
	}

	// Other methods on the routes keep the contract too.
	r = httptest.NewRequest(http.MethodPut, path(wazion.EndpointGlobalSearch), nil)
	r.Header.Set("X-Wazion-Token", tokenA)
	a = do(t, app, r)
	if a.str("error") != "method not allowed" || a.json["found"] != false {
		t.Errorf("PUT: %s", a.raw)
	}
	// Paths outside WAzion's keep Fiber's normal errors.
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/nope", nil))
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %v %v", resp.StatusCode, err)
	}
	if fake.calls() != 0 {
		t.Errorf("backend called %d times", fake.calls())
	}
}

func TestBackendPanic(t *testing.T) {
	var logs logBuffer
	obs := &recordingObserver{}
	fake := &fakeBackend{
		name: "A",
		customerInfo: func(context.Context, wazion.Request) (*wazion.CustomerInfoResponse, error) {
			panic("boom: secret detail")
		},
	}
	app := oneStore(t, fake, wazion.Options{Logger: newLogger(&logs), Observer: obs})
	a := do(t, app, get(path(wazion.EndpointCustomerInfo)+"?token="+tokenA+"&phone=%2B34612345678"))
	if a.str("error") != "internal error" || a.json["found"] != false {
		t.Errorf("answer %s", a.raw)
	}
	for _, leak := range []string{"boom", "goroutine", ".go:"} {
		if bytes.Contains(a.raw, []byte(leak)) {
			t.Errorf("answer leaks %q: %s", leak, a.raw)
		}
	}
	if o := obs.last(t); o.outcome != wazion.OutcomePanic {
		t.Errorf("outcome %q, want panic", o.outcome)
	}
	out := logs.String()
	if !strings.Contains(out, "boom: secret detail") || !strings.Contains(out, "goroutine") {
		t.Errorf("panic and stack not logged: %s", out)
	}
}

// blockingBackend ignores its context until the test ends, like a Backend
// stuck on a hung connection.
func blockingBackend(t *testing.T) *fakeBackend {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	block := func() { <-release }
	return &fakeBackend{
		name:         "A",
		customerInfo: func(context.Context, wazion.Request) (*wazion.CustomerInfoResponse, error) { block(); return nil, nil },
		initialInfo:  func(context.Context, wazion.Request) (*wazion.InitialInfoResponse, error) { block(); return nil, nil },
		findToJoin:   func(context.Context, wazion.Request) (*wazion.FindToJoinResponse, error) { block(); return nil, nil },
		products:     func(context.Context, wazion.Request) (*wazion.ProductSearch, error) { block(); return nil, nil },
		globalSearch: func(context.Context, wazion.Request) (*wazion.GlobalSearchResponse, error) { block(); return nil, nil },
	}
}

func TestDeadline(t *testing.T) {
	const budget = 300 * time.Millisecond
	budgets := map[string]time.Duration{}
	for _, ep := range wazion.Endpoints() {
		budgets[ep] = budget
	}
	for _, tc := range []struct {
		margin, deadline time.Duration
	}{
		{150 * time.Millisecond, 150 * time.Millisecond},
		{0, budget / 2}, // the default 750ms margin would leave nothing: half the budget
		{100 * time.Millisecond, 200 * time.Millisecond},
	} {
		// In a synctest bubble the handler's deadline and the round trip are
		// measured on the bubble's clock: exactly, however busy the machine.
		t.Run(fmt.Sprint("margin ", tc.margin), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				obs := &recordingObserver{}
				fake := blockingBackend(t)
				app := oneStore(t, fake, wazion.Options{Budgets: budgets, Margin: tc.margin, Observer: obs})
				for _, ep := range wazion.Endpoints() {
					a := do(t, app, get(path(ep)+"?token="+tokenA+"&phone=%2B34612345678&query=juan&q=camisa"))
					o := obs.last(t)
					// The handler answers at its own deadline, inside the budget,
					// and so does the round trip through app.Test.
					if o.d < tc.deadline || o.d >= budget {
						t.Errorf("%s: handler answered after %s, want within [%s, %s)", ep, o.d, tc.deadline, budget)
					}
					if a.took >= budget {
						t.Errorf("%s: round trip took %s", ep, a.took)
					}
					if o.outcome != wazion.OutcomeTimeout {
						t.Errorf("%s: outcome %q, want timeout", ep, o.outcome)
					}
					if !strings.HasPrefix(a.str("error"), "timeout: ") {
						t.Errorf("%s: error %q, want a timeout", ep, a.str("error"))
					}
					checkEmptyShape(t, ep, a)
				}
			})
		})
	}
}

// TestDeadlinePartialAnswer checks that a Backend watching its context gets
// its partial data through when the deadline comes.
func TestDeadlinePartialAnswer(t *testing.T) {
	fake := &fakeBackend{name: "A", globalSearch: func(ctx context.Context, _ wazion.Request) (*wazion.GlobalSearchResponse, error) {
		<-ctx.Done()
		return &wazion.GlobalSearchResponse{Customers: []wazion.GlobalCustomer{{ID: "1", Name: "Ana", Phone: "+34600000001"}}}, ctx.Err()
	}}
	app := oneStore(t, fake, wazion.Options{Budgets: map[string]time.Duration{wazion.EndpointGlobalSearch: 200 * time.Millisecond}, Margin: 50 * time.Millisecond})
	a := do(t, app, get(path(wazion.EndpointGlobalSearch)+"?token="+tokenA+"&query=ana"))
	if len(a.list("customers")) != 1 || a.json["found"] != true || !strings.HasPrefix(a.str("error"), "timeout: partial answer") {
		t.Errorf("answer %s", a.raw)
	}
}

// checkEmptyShape checks an answer without data still has its endpoint's
// shape.
func checkEmptyShape(t *testing.T, ep string, a answer) {
	t.Helper()
	hasList := func(key string) {
		if l, ok := a.json[key].([]any); !ok || len(l) != 0 {
			t.Errorf("%s: %q is %v, want []", ep, key, a.json[key])
		}
	}
	switch ep {
	case wazion.EndpointCustomerInfo:
		hasList("customers")
		if a.json["found"] != false || a.json["labels"] == nil {
			t.Errorf("%s: %s", ep, a.raw)
		}
	case wazion.EndpointCustomerInitialInfo:
		if a.json["found"] != false || a.json["info"] != "" {
			t.Errorf("%s: %s", ep, a.raw)
		}
	case wazion.EndpointFindToJoin:
		hasList("customers")
	case wazion.EndpointSearchProducts:
		hasList("products")
		if a.json["count"] != float64(0) || a.json["http_status"] != float64(200) {
			t.Errorf("%s: %s", ep, a.raw)
		}
	case wazion.EndpointGlobalSearch:
		hasList("customers")
		if a.json["found"] != false {
			t.Errorf("%s: %s", ep, a.raw)
		}
	}
}

func TestBackendErrors(t *testing.T) {
	partial := &wazion.CustomerInfoResponse{Found: true, Customers: []wazion.Customer{{Name: "Ana", Phone: "+34612345678"}}}
	tests := []struct {
		name        string
		err         error
		wantErr     string
		wantOutcome string
	}{
		{"plain error stays private", errors.New("fetch orders: key wk_live_secret rejected"), "upstream error", wazion.OutcomeError},
		{"public message", wazion.PublicError("orders unavailable", errors.New("whatalo 503")), "orders unavailable", wazion.OutcomeError},
		{"deadline", fmt.Errorf("fetch orders: %w", context.DeadlineExceeded), "timeout: partial answer after 9.25s", wazion.OutcomeTimeout},
		{"public deadline", wazion.PublicError("timeout: orders incomplete", context.DeadlineExceeded), "timeout: orders incomplete", wazion.OutcomeTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			obs := &recordingObserver{}
			fake := &fakeBackend{name: "A", customerInfo: func(context.Context, wazion.Request) (*wazion.CustomerInfoResponse, error) {
				return partial, tt.err
			}}
			app := oneStore(t, fake, wazion.Options{Observer: obs, Logger: newLogger(&logs)})
			a := do(t, app, get(path(wazion.EndpointCustomerInfo)+"?token="+tokenA))
			if a.str("error") != tt.wantErr {
				t.Errorf("error %q, want %q", a.str("error"), tt.wantErr)
			}
			if len(a.list("customers")) != 1 || a.json["found"] != true || a.json["labels"] == nil {
				t.Errorf("partial data lost: %s", a.raw)
			}
			if o := obs.last(t); o.outcome != tt.wantOutcome {
				t.Errorf("outcome %q, want %q", o.outcome, tt.wantOutcome)
			}
			if !strings.Contains(logs.String(), tt.err.Error()) {
				t.Errorf("cause not logged: %s", logs.String())
			}
		})
	}
}

func TestNilAnswersAndNullArrays(t *testing.T) {
	shared := &wazion.CustomerInfoResponse{Customers: []wazion.Customer{{
		Name:   "Ana",
		Orders: []wazion.Order{{Name: "#1"}},
	}}}
	fake := &fakeBackend{
		name:         "A",
		customerInfo: func(context.Context, wazion.Request) (*wazion.CustomerInfoResponse, error) { return shared, nil },
		initialInfo:  func(context.Context, wazion.Request) (*wazion.InitialInfoResponse, error) { return nil, nil },
		findToJoin:   func(context.Context, wazion.Request) (*wazion.FindToJoinResponse, error) { return nil, nil },
		products:     func(context.Context, wazion.Request) (*wazion.ProductSearch, error) { return nil, nil },
		globalSearch: func(context.Context, wazion.Request) (*wazion.GlobalSearchResponse, error) { return nil, nil },
	}
	obs := &recordingObserver{}
	app := oneStore(t, fake, wazion.Options{Observer: obs})
	a := do(t, app, get(path(wazion.EndpointCustomerInfo)+"?token="+tokenA))
	if a.json["found"] != true {
		t.Errorf("found %v with one customer", a.json["found"])
	}
	for _, want := range []string{`"orders":[{`, `"items":[]`, `"abandonedCarts":[]`} {
		if !strings.Contains(string(a.raw), want) {
			t.Errorf("answer lacks %s: %s", want, a.raw)
		}
	}
	if shared.Customers[0].AbandonedCarts != nil || shared.Customers[0].Orders[0].Items != nil {
		t.Error("the handler modified the Backend's value")
	}
	for _, ep := range wazion.Endpoints()[1:] {
		a := do(t, app, get(path(ep)+"?token="+tokenA+"&query=juan&q=camisa"))
		checkEmptyShape(t, ep, a)
		if a.json["error"] != nil {
			t.Errorf("%s: nil answer became an error: %s", ep, a.raw)
		}
		if o := obs.last(t); o.outcome != wazion.OutcomeNotFound {
			t.Errorf("%s: outcome %q", ep, o.outcome)
		}
	}
}

func TestUnencodableAnswer(t *testing.T) {
	fake := &fakeBackend{name: "A", customerInfo: func(context.Context, wazion.Request) (*wazion.CustomerInfoResponse, error) {
		return &wazion.CustomerInfoResponse{Customers: []wazion.Customer{{Name: "Ana", TotalSpent: math.NaN()}}}, nil
	}}
	fake.products = func(context.Context, wazion.Request) (*wazion.ProductSearch, error) {
		return &wazion.ProductSearch{Raw: panickyRaw{}}, nil
	}
	app := oneStore(t, fake, wazion.Options{})
	a := do(t, app, get(path(wazion.EndpointCustomerInfo)+"?token="+tokenA))
	if a.str("error") != "internal error" {
		t.Errorf("NaN amount: %s", a.raw)
	}
	a = do(t, app, get(path(wazion.EndpointSearchProducts)+"?token="+tokenA+"&q=camisa"))
	if a.str("error") != "internal error" {
		t.Errorf("panicking raw value: %s", a.raw)
	}
}

// panickyRaw is a Raw value whose encoding panics.
type panickyRaw struct{}

func (panickyRaw) MarshalJSON() ([]byte, error) { panic("raw bug") }

func TestGlobalSearchShaping(t *testing.T) {
	var customers []wazion.GlobalCustomer
	for i := range 25 {
		c := wazion.GlobalCustomer{
			ID:    fmt.Sprint(i),
			Name:  fmt.Sprint("Juan ", i),
			Phone: fmt.Sprintf("+34 600 000 %03d", i),
		}
		for j := range 5 {
			c.Orders = append(c.Orders, wazion.OrderLink{Number: fmt.Sprintf("#%d-%d", i, j)})
		}
		customers = append(customers, c)
		// The same phone written another way must not count twice.
		customers = append(customers, wazion.GlobalCustomer{ID: fmt.Sprint("dup", i), Phone: fmt.Sprintf("34600000%03d", i)})
	}
	fake := &fakeBackend{name: "A", globalSearch: func(context.Context, wazion.Request) (*wazion.GlobalSearchResponse, error) {
		return &wazion.GlobalSearchResponse{Customers: customers}, nil
	}}
	app := oneStore(t, fake, wazion.Options{})
	a := do(t, app, get(path(wazion.EndpointGlobalSearch)+"?token="+tokenA+"&query=juan"))
	got := a.list("customers")
	if len(got) != wazion.MaxGlobalResults || a.json["found"] != true {
		t.Fatalf("%d customers, want %d", len(got), wazion.MaxGlobalResults)
	}
	for i, c := range got {
		m := c.(map[string]any)
		if m["id"] != fmt.Sprint(i) {
			t.Errorf("customer %d is %v: duplicates by phone must go", i, m["id"])
		}
		if n := len(m["orders"].([]any)); n != wazion.MaxGlobalOrders {
			t.Errorf("customer %d has %d orders", i, n)
		}
	}
	if len(customers[0].Orders) != 5 {
		t.Error("the Backend's orders were cut in place")
	}

	calls := fake.calls()
	for _, q := range []string{"a", "", " j ", "é"} {
		a := do(t, app, get(path(wazion.EndpointGlobalSearch)+"?token="+tokenA+"&query="+url.QueryEscape(q)))
		if a.json["found"] != false || a.str("error") != "query must be at least 2 characters" {
			t.Errorf("query %q: %s", q, a.raw)
		}
	}
	a = do(t, app, get(path(wazion.EndpointGlobalSearch)+"?token="+tokenA+"&query=%C3%A9%C3%A9"))
	if a.json["found"] != true {
		t.Errorf("two-rune query refused: %s", a.raw)
	}
	if fake.calls() != calls+1 {
		t.Errorf("backend calls %d, want %d: short queries must not reach it", fake.calls(), calls+1)
	}
}

func TestProductFormats(t *testing.T) {
	long := strings.Repeat("ñandú 日本 ", 100) // 1,000 runes, multi-byte
	inStock := true
	search := &wazion.ProductSearch{
		Locale: "en",
		Raw:    map[string]any{"total": 1},
		Products: []wazion.Product{{
			Title:       "Camiseta",
			TitleCopy:   "T-Shirt",
			Handle:      "camiseta",
			Description: long,
			Image:       "https://shop.test/p.jpg",
			URL:         "https://shop.test/products/camiseta",
			Price:       19.9,
			Currency:    "EUR",
			InStock:     &inStock,
			Variants: []wazion.Variant{
				{ID: "11", Title: "M", SKU: "CAM-M", Price: 19.9},
				{ID: "12", Title: "L", TitleCopy: "Large", SKU: "CAM-L", Image: "https://shop.test/l.jpg", URL: "https://shop.test/x?variant=12", HasCustomTitle: true},
			},
		}},
	}
	fake := &fakeBackend{name: "A", products: func(context.Context, wazion.Request) (*wazion.ProductSearch, error) { return search, nil }}
	app := oneStore(t, fake, wazion.Options{})

	a := do(t, app, get(path(wazion.EndpointSearchProducts)+"?token="+tokenA+"&q=camiseta"))
	if a.json["http_status"] != float64(200) || a.json["count"] != float64(1) || a.json["target_locale"] != "en" {
		t.Fatalf("normal format: %s", a.raw)
	}
	if raw, _ := a.json["raw"].(map[string]any); raw["total"] != float64(1) {
		t.Errorf("raw %v", a.json["raw"])
	}
	p := a.list("products")[0].(map[string]any)
	desc := p["description"].(string)
	if n := utf8.RuneCountInString(desc); n != wazion.MaxDescriptionRunes || !utf8.ValidString(desc) || !strings.HasSuffix(desc, wazion.Ellipsis) {
		t.Errorf("normal description: %d runes, valid %v, ends %q", n, utf8.ValidString(desc), desc[len(desc)-6:])
	}
	if !strings.HasPrefix(long, strings.TrimSuffix(desc, wazion.Ellipsis)) {
		t.Error("cut description is not a prefix of the original")
	}
	if p["title"] != "Camiseta" || p["title_copy"] != "T-Shirt" || p["sku"] != "CAM-M" || p["price"] != 19.9 || p["currency"] != "EUR" || p["in_stock"] != true {
		t.Errorf("normal product: %v", p)
	}
	v := p["variants"].([]any)
	v0, v1 := v[0].(map[string]any), v[1].(map[string]any)
	if v0["title_copy"] != "M" || v0["image"] != "https://shop.test/p.jpg" || v0["url"] != "https://shop.test/products/camiseta?variant=11" || v0["has_custom_title"] != false {
		t.Errorf("variant fallbacks: %v", v0)
	}
	if v1["title_copy"] != "Large" || v1["image"] != "https://shop.test/l.jpg" || v1["url"] != "https://shop.test/x?variant=12" {
		t.Errorf("variant: %v", v1)
	}

	a = do(t, app, get(path(wazion.EndpointSearchProducts)+"?token="+tokenA+"&q=camiseta&format=ai"))
	if a.json["locale"] != "en" || a.json["count"] != float64(1) || a.json["http_status"] != nil || a.json["raw"] != nil {
		t.Fatalf("AI format: %s", a.raw)
	}
	p = a.list("products")[0].(map[string]any)
	if p["description"] != long || p["title"] != "T-Shirt" || p["image"] != nil || p["title_copy"] != nil {
		t.Errorf("AI product: title %v image %v full description %v", p["title"], p["image"], p["description"] == long)
	}
	if v := p["variants"].([]any)[1].(map[string]any); v["title"] != "Large" || v["has_custom_title"] != nil {
		t.Errorf("AI variant: %v", v)
	}

	calls := fake.calls()
	for _, format := range []string{"", "ai"} {
		a := do(t, app, get(path(wazion.EndpointSearchProducts)+"?token="+tokenA+"&q=c&target_locale=fr&format="+format))
		if a.json["count"] != float64(0) || len(a.list("products")) != 0 || a.json["error"] != nil {
			t.Errorf("short q, format %q: %s", format, a.raw)
		}
		if format == "ai" && a.json["locale"] != "fr" || format == "" && a.json["target_locale"] != "fr" {
			t.Errorf("short q, format %q: locale missing: %s", format, a.raw)
		}
	}
	if fake.calls() != calls {
		t.Error("a short q reached the backend")
	}
}

func TestCutDescription(t *testing.T) {
	tests := []struct {
		in       string
		wantCut  bool
		wantLast string
	}{
		{strings.Repeat("a", 500), false, "a"},
		{strings.Repeat("é", 501), true, wazion.Ellipsis},
		{strings.Repeat("a", 498) + "   bbb", true, wazion.Ellipsis},
		{strings.Repeat("🙂", 800), true, wazion.Ellipsis},
	}
	for _, tt := range tests {
		got := wazion.CutDescription(tt.in)
		if (got != tt.in) != tt.wantCut || !strings.HasSuffix(got, tt.wantLast) {
			t.Errorf("CutDescription(%d runes) = %d runes ending %q", utf8.RuneCountInString(tt.in), utf8.RuneCountInString(got), got[max(0, len(got)-4):])
		}
		if utf8.RuneCountInString(got) > wazion.MaxDescriptionRunes || !utf8.ValidString(got) {
			t.Errorf("CutDescription gave %d runes, valid %v", utf8.RuneCountInString(got), utf8.ValidString(got))
		}
	}
	if got := wazion.CutDescription(strings.Repeat("a", 498) + "   bbb"); strings.Contains(got, " "+wazion.Ellipsis) {
		t.Errorf("space kept before the ellipsis: %q", got[len(got)-8:])
	}
}

func TestLabelsInAnswers(t *testing.T) {
	for _, lang := range wazion.SupportedLanguages() {
		t.Run(lang, func(t *testing.T) {
			notFound := &fakeBackend{name: "A", customerInfo: func(context.Context, wazion.Request) (*wazion.CustomerInfoResponse, error) {
				return &wazion.CustomerInfoResponse{}, nil
			}}
			app := newApp(t, wazion.Options{}, wazion.Tenant{Name: "A", Tokens: []string{tokenA}, Language: lang, Backend: notFound})
			for _, q := range []string{"", "&test=true"} {
				a := do(t, app, get(path(wazion.EndpointCustomerInfo)+"?token="+tokenA+q))
				labels, _ := a.json["labels"].(map[string]any)
				if len(labels) != len(wazion.LabelKeys()) || labels["label_languages"] != lang {
					t.Fatalf("labels %v", labels)
				}
				want := wazion.LabelsFor(lang)
				for _, k := range wazion.LabelKeys() {
					if labels[k] != want.Text(k) {
						t.Errorf("label %s = %v, want %q", k, labels[k], want.Text(k))
					}
				}
			}
		})
	}
}

// TestAbandonedBackendKeepsItsRequest: a Backend still running after its
// request was answered holds that request's id and annotates nothing of
// the requests served meanwhile, whose records are reused.
func TestAbandonedBackendKeepsItsRequest(t *testing.T) {
	var logs logBuffer
	release, seen := make(chan struct{}), make(chan string, 1)
	fake := &fakeBackend{name: "A", customerInfo: func(ctx context.Context, req wazion.Request) (*wazion.CustomerInfoResponse, error) {
		if req.Phone != "+18095550000" {
			return &wazion.CustomerInfoResponse{}, nil
		}
		<-release // past the deadline: the request is answered without it
		wazion.Annotate(ctx, "late", "yes")
		seen <- wazion.RequestID(ctx)
		return &wazion.CustomerInfoResponse{}, nil
	}}
	app := oneStore(t, fake, wazion.Options{Logger: newLogger(&logs), Margin: 10 * time.Millisecond,
		Budgets: map[string]time.Duration{wazion.EndpointCustomerInfo: 50 * time.Millisecond}})
	slow := get(path(wazion.EndpointCustomerInfo) + "?token=" + tokenA + "&phone=%2B18095550000")
	slow.Header.Set("X-Request-Id", "slow-1")
	if a := do(t, app, slow); !strings.HasPrefix(a.str("error"), "timeout") {
		t.Fatalf("slow request answered %s", a.raw)
	}
	for i := range 20 {
		r := get(path(wazion.EndpointCustomerInfo) + "?token=" + tokenA + "&phone=%2B1809555" + fmt.Sprintf("%04d", i+1))
		r.Header.Set("X-Request-Id", fmt.Sprintf("other-%d", i))
		do(t, app, r)
		do(t, app, get(path(wazion.EndpointCustomerInfo)+"?token=wrong")) // refused, no Backend
	}
	close(release)
	if id := <-seen; id != "slow-1" {
		t.Errorf("the abandoned Backend sees request id %q, want slow-1", id)
	}
	for _, l := range logs.lines(t) {
		if notes, _ := l["notes"].(map[string]any); notes["late"] != nil {
			t.Errorf("a late annotation reached the line of %v", l["request_id"])
		}
	}
}

func TestAccessLogAndAnnotations(t *testing.T) {
	var logs logBuffer
	fake := &fakeBackend{name: "A", customerInfo: func(ctx context.Context, req wazion.Request) (*wazion.CustomerInfoResponse, error) {
		wazion.Annotate(ctx, "cache", "miss")
		wazion.Annotate(ctx, "cache", "hit")
		wazion.Annotate(ctx, "upstream_calls", "0")
		if wazion.RequestID(ctx) != "req-42" {
			return nil, errors.New("request id not in context")
		}
		return &wazion.CustomerInfoResponse{Customers: []wazion.Customer{{Name: "Ana"}}}, nil
	}}
	app := oneStore(t, fake, wazion.Options{Logger: newLogger(&logs)})
	r := get(path(wazion.EndpointCustomerInfo) + "?token=" + tokenA + "&phone=%2B18095550134")
	r.Header.Set("X-Request-Id", "req-42")
	resp, err := app.Test(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("X-Request-Id"); got != "req-42" {
		t.Errorf("X-Request-Id echoed as %q", got)
	}
	lines := logs.lines(t)
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1: %s", len(lines), logs.String())
	}
	l := lines[0]
	for k, want := range map[string]any{
		"request_id": "req-42",
		"endpoint":   wazion.EndpointCustomerInfo,
		"store":      "A",
		"outcome":    wazion.OutcomeFound,
		"phone":      "+1809*****34",
		"method":     "GET",
	} {
		if l[k] != want {
			t.Errorf("log %s = %v, want %v", k, l[k], want)
		}
	}
	if _, ok := l["latency_ms"].(float64); !ok {
		t.Errorf("no latency_ms in %v", l)
	}
	notes, _ := l["notes"].(map[string]any)
	if notes["cache"] != "hit" || notes["upstream_calls"] != "0" {
		t.Errorf("notes %v", l["notes"])
	}
	if strings.Contains(logs.String(), tokenA) || strings.Contains(logs.String(), "8095550134") {
		t.Errorf("log leaks token or phone: %s", logs.String())
	}

	// Without X-Request-Id one is made up, and differs per request.
	ids := map[string]bool{}
	for range 3 {
		resp, err := app.Test(get(path(wazion.EndpointCustomerInfo) + "?token=" + tokenA))
		if err != nil {
			t.Fatal(err)
		}
		ids[resp.Header.Get("X-Request-Id")] = true
	}
	if len(ids) != 3 || ids[""] {
		t.Errorf("generated ids %v", ids)
	}
}

// TestRequestIDsOnConnections: made-up ids are 32 hex digits, differ for
// every request of a keep-alive connection and across connections, and
// share the Server's prefix.
func TestRequestIDsOnConnections(t *testing.T) {
	base := serve(t, oneStore(t, &fakeBackend{name: "A"}, wazion.Options{}))
	ids := map[string]bool{}
	prefixes := map[string]bool{}
	for range 3 {
		client := &http.Client{Transport: &http.Transport{}} // a connection of its own, kept alive
		for range 3 {
			resp, err := client.Get(base + path(wazion.EndpointCustomerInfo) + "?token=" + tokenA)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			id := resp.Header.Get("X-Request-Id")
			if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
				t.Fatalf("made-up id %q is not 32 hex digits", id)
			}
			ids[id] = true
			prefixes[id[:12]] = true
		}
		client.CloseIdleConnections()
	}
	if len(ids) != 9 {
		t.Errorf("9 requests on 3 connections got %d distinct ids: %v", len(ids), ids)
	}
	if len(prefixes) != 1 {
		t.Errorf("one Server's ids have %d prefixes: %v", len(prefixes), prefixes)
	}
}

func TestAnnotateOutsideRequest(t *testing.T) {
	wazion.Annotate(context.Background(), "k", "v") // must not panic
	if id := wazion.RequestID(context.Background()); id != "" {
		t.Errorf("RequestID outside a request = %q", id)
	}
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{
		"+18095550134":                   "+1809*****34",
		"+34 612 345 678":                "+3461*****78",
		"809-555-7777":                   "8095****77",
		"1234567":                        "1234*67",
		"+123456":                        "+******",
		"":                               "",
		"juan@example.com":               "***",
		"+" + strings.Repeat("5", 10000): "+5555********55 (10000 digits)",
	} {
		if got := wazion.MaskPhone(in); len(got) > 32 {
			t.Errorf("MaskPhone of %d characters is %d characters long, want at most 32", len(in), len(got))
		}
		if got := wazion.MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewTenantsErrors(t *testing.T) {
	b := &fakeBackend{}
	const secret = "s3cr3t-token"
	tests := map[string][]wazion.Tenant{
		"none":           nil,
		"no name":        {{Tokens: []string{secret}, Backend: b}},
		"dup name":       {{Name: "A", Tokens: []string{secret}, Backend: b}, {Name: "A", Tokens: []string{"other"}, Backend: b}},
		"no backend":     {{Name: "A", Tokens: []string{secret}}},
		"no tokens":      {{Name: "A", Backend: b}},
		"empty token":    {{Name: "A", Tokens: []string{secret, " "}, Backend: b}},
		"spaced token":   {{Name: "A", Tokens: []string{" " + secret}, Backend: b}},
		"shared token":   {{Name: "A", Tokens: []string{secret}, Backend: b}, {Name: "B", Tokens: []string{secret}, Backend: b}},
		"repeated token": {{Name: "A", Tokens: []string{secret, secret}, Backend: b}},
		"language":       {{Name: "A", Tokens: []string{secret}, Language: "klingon", Backend: b}},
		"header name":    {{Name: "A", Tokens: []string{secret}, TokenHeader: "X Bad", Backend: b}},
	}
	for name, tenants := range tests {
		_, err := wazion.NewTenants(tenants)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error shows the token: %v", name, err)
		}
	}
	ts, err := wazion.NewTenants([]wazion.Tenant{
		{Name: "A", Tokens: []string{"a"}, Language: "pt-BR", Backend: b},
		{Name: "B", Tokens: []string{"b"}, Backend: b},
	})
	if err != nil {
		t.Fatalf("valid tenants: %v", err)
	}
	if got := ts.Names(); len(got) != 2 || got[0] != "A" || got[1] != "B" {
		t.Errorf("Names() = %v", got)
	}
}

func TestJSONEncoderOption(t *testing.T) {
	var calls atomic.Int32
	fake := &fakeBackend{name: "A"}
	app := oneStore(t, fake, wazion.Options{JSONEncoder: func(v any) ([]byte, error) {
		calls.Add(1)
		return json.Marshal(v)
	}})
	a := do(t, app, get(path(wazion.EndpointCustomerInfo)+"?token="+tokenA))
	if a.json["found"] != true || calls.Load() != 1 {
		t.Errorf("encoder calls %d, answer %s", calls.Load(), a.raw)
	}

	for name, enc := range map[string]func(any) ([]byte, error){
		"error": func(any) ([]byte, error) { return nil, errors.New("no") },
		"panic": func(any) ([]byte, error) { panic("encoder bug") },
	} {
		failing := oneStore(t, fake, wazion.Options{JSONEncoder: enc})
		a = do(t, failing, get(path(wazion.EndpointCustomerInfo)+"?token="+tokenA))
		if a.str("error") != "internal error" {
			t.Errorf("encoder %s: %s", name, a.raw)
		}
	}
}

// TestMiddlewareErrors checks errors returned by middleware in front of the
// WAzion routes, e.g. a rate limiter or a recover middleware.
func TestMiddlewareErrors(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	ts, err := wazion.NewTenants([]wazion.Tenant{{Name: "A", Tokens: []string{tokenA}, Backend: fake}})
	if err != nil {
		t.Fatal(err)
	}
	obs := &recordingObserver{}
	opts := wazion.Options{Observer: obs}
	srv := wazion.NewServer(ts, opts)
	app := fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true}))
	app.Use(func(c *fiber.Ctx) error {
		switch c.Query("fail") {
		case "429":
			return fiber.ErrTooManyRequests
		case "plain":
			return errors.New("middleware broke")
		}
		return c.Next()
	})
	srv.Routes(app)
	for fail, want := range map[string]string{"429": "too many requests", "plain": "internal error"} {
		a := do(t, app, get(path(wazion.EndpointSearchProducts)+"?token="+tokenA+"&fail="+fail))
		if a.str("error") != want || a.json["products"] == nil {
			t.Errorf("fail=%s: %s", fail, a.raw)
		}
		if o := obs.last(t); o.outcome != wazion.OutcomeError {
			t.Errorf("fail=%s: outcome %q", fail, o.outcome)
		}
	}
	// The body was read, so a token there still counts.
	a := do(t, app, postJSON(path(wazion.EndpointGlobalSearch)+"?fail=429", `{"token":"`+tokenA+`"}`))
	if a.str("error") != "too many requests" {
		t.Errorf("token in body: %s", a.raw)
	}
	if fake.calls() != 0 {
		t.Errorf("backend called %d times", fake.calls())
	}
}

// TestMaskPhoneAllocatesOnce: the access line masks a phone on every
// request, in one allocation for the mask itself.
func TestMaskPhoneAllocatesOnce(t *testing.T) {
	for _, phone := range []string{"+18095550134", "8095550134", "+123456"} {
		if n := testing.AllocsPerRun(100, func() { _ = wazion.MaskPhone(phone) }); n > 1 {
			t.Errorf("MaskPhone(%q): %v allocations, want at most 1", phone, n)
		}
	}
}
