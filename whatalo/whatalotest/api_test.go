package whatalotest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// reply is a decoded response of the fake.
type reply struct {
	status int
	header http.Header
	raw    []byte
}

func call(t *testing.T, f http.Handler, method, target, key, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if key != "" {
		r.Header.Set("X-API-Key", key)
	}
	w := httptest.NewRecorder()
	f.ServeHTTP(w, r)
	return reply{w.Code, w.Header(), w.Body.Bytes()}
}

func get(t *testing.T, f http.Handler, target string) reply {
	t.Helper()
	return call(t, f, http.MethodGet, target, DefaultAPIKey, "")
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.raw, v); err != nil {
		t.Fatalf("decode %s: %v", r.raw, err)
	}
}

func (r reply) customers(t *testing.T) ([]whatalo.Customer, whatalo.Pagination) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	var body struct {
		Data       []whatalo.Customer `json:"data"`
		Pagination whatalo.Pagination `json:"pagination"`
	}
	r.decode(t, &body)
	return body.Data, body.Pagination
}

func (r reply) orders(t *testing.T) ([]whatalo.Order, whatalo.Pagination) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	var body struct {
		Data       []whatalo.Order    `json:"data"`
		Pagination whatalo.Pagination `json:"pagination"`
	}
	r.decode(t, &body)
	return body.Data, body.Pagination
}

func (r reply) errorBody(t *testing.T) whatalo.ErrorDetail {
	t.Helper()
	var eb whatalo.ErrorBody
	r.decode(t, &eb)
	return eb.Error
}

func (r reply) fieldErrors(t *testing.T) []whatalo.FieldError {
	t.Helper()
	var fe []whatalo.FieldError
	if err := json.Unmarshal(r.errorBody(t).Details, &fe); err != nil {
		t.Fatalf("details of %s: %v", r.raw, err)
	}
	return fe
}

func names(cs []whatalo.Customer) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

func TestCustomersPagination(t *testing.T) {
	f := New(nil)
	all := len(DemoSeed().Customers)

	cs, pg := get(t, f, "/v1/customers").customers(t)
	if len(cs) != 25 || pg.Page != 1 || pg.PerPage != 25 || pg.Total != all || pg.TotalPages != (all+24)/25 {
		t.Fatalf("default page: %d customers, pagination %+v (store has %d)", len(cs), pg, all)
	}
	seen := map[string]bool{}
	for page := 1; page <= (all+9)/10; page++ {
		cs, pg := get(t, f, fmt.Sprintf("/v1/customers?per_page=10&page=%d", page)).customers(t)
		if pg.Page != page || pg.PerPage != 10 {
			t.Fatalf("page %d pagination %+v", page, pg)
		}
		for _, c := range cs {
			if seen[c.ID] {
				t.Fatalf("customer %s on two pages", c.ID)
			}
			seen[c.ID] = true
		}
	}
	if len(seen) != all {
		t.Fatalf("paging saw %d customers, want %d", len(seen), all)
	}
	if cs, pg := get(t, f, "/v1/customers?page=99").customers(t); len(cs) != 0 || pg.Total != all {
		t.Errorf("page past the end: %d customers, %+v", len(cs), pg)
	}
	if cs, _ := get(t, f, "/v1/customers?per_page=100").customers(t); len(cs) != all {
		t.Errorf("per_page=100 gave %d", len(cs))
	}

	for _, q := range []string{"per_page=0", "per_page=101", "per_page=abc", "page=0", "page=-1", "sort=email", "order=up"} {
		r := get(t, f, "/v1/customers?"+q)
		if r.status != http.StatusBadRequest || r.errorBody(t).Code != "VALIDATION_ERROR" {
			t.Errorf("%s: status %d %s, want 400 VALIDATION_ERROR", q, r.status, r.raw)
			continue
		}
		field := strings.SplitN(q, "=", 2)[0]
		if fe := r.fieldErrors(t); len(fe) != 1 || fe[0].Field != field || fe[0].Message == "" {
			t.Errorf("%s: details %+v, want one for %s", q, fe, field)
		}
	}
}

func TestCustomersSort(t *testing.T) {
	f := New(nil)
	cs, _ := get(t, f, "/v1/customers?sort=name&order=asc&per_page=100").customers(t)
	n := names(cs)
	if !slices.IsSortedFunc(n, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }) {
		t.Errorf("sort=name asc not sorted: %v", n)
	}
	cs, _ = get(t, f, "/v1/customers?sort=orders_count&per_page=3").customers(t)
	if cs[0].Name != "María García" && cs[0].Name != "Carlos Gómez" || cs[0].OrdersCount < cs[1].OrdersCount {
		t.Errorf("sort=orders_count desc starts %v", names(cs))
	}
	cs, _ = get(t, f, "/v1/customers?sort=created_at&per_page=100").customers(t)
	for i := 1; i < len(cs); i++ {
		if cs[i].CreatedAt.After(cs[i-1].CreatedAt) {
			t.Fatalf("default sort is not created_at desc at %d", i)
		}
	}
	cs, _ = get(t, f, "/v1/customers?sort=total_spent&order=asc&per_page=100").customers(t)
	for i := 1; i < len(cs); i++ {
		if cs[i].TotalSpent.LessThan(cs[i-1].TotalSpent.Decimal) {
			t.Fatalf("total_spent asc not sorted at %d", i)
		}
	}
	cs, _ = get(t, f, "/v1/customers?sort=last_order_at&per_page=1").customers(t)
	if cs[0].Name != "Carlos Gómez" {
		t.Errorf("latest buyer = %s, want Carlos Gómez (#1005, 5 h ago)", cs[0].Name)
	}
}

func TestCustomersSearch(t *testing.T) {
	f := New(nil)
	f.UpsertCustomer(whatalo.Customer{ID: "111111111111", Name: "Formato Espaciado", Phone: "+1 809-555-4321"})
	tests := []struct {
		q    string
		want []string // names that must be found
		n    int      // exact count, or -1
	}{
		{"maría", []string{"María García"}, 1},
		{"MARIA.GARCIA@", []string{"María García"}, 1},
		{"8095551234", []string{"María García"}, 1},
		{"+1 (809) 555-1234", []string{"María García"}, 1},
		{"8095554321", []string{"Formato Espaciado"}, 1},
		{"809-555-4321", []string{"Formato Espaciado"}, 1},
		{"8095557777", []string{"Ana López"}, 1},
		{"+18095550000", []string{"Pedro Martínez", "Rosa Martínez"}, 2},
		{"carlos", nil, 24},
		{"martínez", []string{"Pedro Martínez", "Rosa Martínez"}, 2},
		{"nadie-se-llama-asi", nil, 0},
	}
	for _, tt := range tests {
		cs, pg := get(t, f, "/v1/customers?per_page=100&search="+url.QueryEscape(tt.q)).customers(t)
		got := names(cs)
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("search %q: %v lacks %s", tt.q, got, w)
			}
		}
		if tt.n >= 0 && (pg.Total != tt.n || len(cs) != tt.n) {
			t.Errorf("search %q: %d results (total %d), want %d: %v", tt.q, len(cs), pg.Total, tt.n, got)
		}
	}
	// Under four digits a query is a plain substring, not a phone match.
	if cs, _ := get(t, f, "/v1/customers?search=(809)").customers(t); len(cs) != 0 {
		t.Errorf("search (809) should only substring-match, got %v", names(cs))
	}
}

func TestCustomersFilters(t *testing.T) {
	f := New(nil)
	s := DemoSeed()
	count := func(pred func(whatalo.Customer) bool) int {
		n := 0
		for _, c := range s.Customers {
			if pred(c) {
				n++
			}
		}
		return n
	}
	now := time.Now().UTC()
	tests := []struct {
		q    string
		want int
	}{
		{"has_orders=true", count(func(c whatalo.Customer) bool { return c.OrdersCount > 0 })},
		{"has_orders=false", count(func(c whatalo.Customer) bool { return c.OrdersCount == 0 })},
		{"orders_count[gte]=3", 2},
		{"orders_count[gte]=1&orders_count[lte]=1", count(func(c whatalo.Customer) bool { return c.OrdersCount == 1 })},
		{"total_spent[gte]=5000", count(func(c whatalo.Customer) bool {
			return c.TotalSpent.GreaterThanOrEqual(whatalo.NewMoney("5000").Decimal)
		})},
		{"total_spent[lte]=0", count(func(c whatalo.Customer) bool { return c.TotalSpent.IsZero() })},
		{"last_order_at[gte]=" + url.QueryEscape(now.Add(-72*time.Hour).Format(time.RFC3339)), 3}, // María, Luis, Carlos Gómez
		{"last_order_at[lte]=" + now.AddDate(0, 0, -100).Format(time.DateOnly), 0},
	}
	for _, tt := range tests {
		_, pg := get(t, f, "/v1/customers?"+tt.q).customers(t)
		if pg.Total != tt.want {
			t.Errorf("%s: total %d, want %d", tt.q, pg.Total, tt.want)
		}
	}
	for _, q := range []string{"has_orders=yes", "total_spent[gte]=mucho", "last_order_at[gte]=ayer"} {
		if r := get(t, f, "/v1/customers?"+q); r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", q, r.status)
		}
	}
	// Customers have no updated_at filter: it is ignored, not applied.
	_, pg := get(t, f, "/v1/customers?updated_at[gte]=2999-01-01T00:00:00Z").customers(t)
	if pg.Total != len(s.Customers) {
		t.Errorf("undocumented updated_at[gte] filtered customers: total %d", pg.Total)
	}
}

func TestCustomerReadAndWrite(t *testing.T) {
	f := New(nil)
	var one struct{ Data whatalo.Customer }
	r := get(t, f, "/v1/customers/365047281936")
	r.decode(t, &one)
	if r.status != http.StatusOK || one.Data.Name != "María García" || one.Data.OrdersCount != 3 {
		t.Fatalf("GET María: %d %s", r.status, r.raw)
	}
	if r := get(t, f, "/v1/customers/000000000000"); r.status != http.StatusNotFound || r.errorBody(t).Code != "NOT_FOUND" {
		t.Errorf("unknown customer: %d %s", r.status, r.raw)
	}
	var cnt struct{ Data struct{ Count int } }
	get(t, f, "/v1/customers/count").decode(t, &cnt)
	if cnt.Data.Count != len(DemoSeed().Customers) {
		t.Errorf("count = %d", cnt.Data.Count)
	}

	for _, body := range []string{`{"email":"x@example.com"}`, `{"name":"  "}`, `{"name":"A","email":"no-es-correo"}`, `[1]`} {
		r := call(t, f, http.MethodPost, "/v1/customers", DefaultAPIKey, body)
		if r.status != http.StatusUnprocessableEntity || r.errorBody(t).Code != "VALIDATION_ERROR" || len(r.fieldErrors(t)) == 0 {
			t.Errorf("POST %s: %d %s, want 422 VALIDATION_ERROR with details", body, r.status, r.raw)
		}
	}
	r = call(t, f, http.MethodPost, "/v1/customers", DefaultAPIKey, `{"name":"Nueva Clienta","phone":"+18295550101"}`)
	var created struct{ Data whatalo.Customer }
	r.decode(t, &created)
	if r.status != http.StatusCreated || created.Data.ID == "" || created.Data.DisplayContact != "+18295550101" || created.Data.HasEmail {
		t.Fatalf("POST: %d %s", r.status, r.raw)
	}
	if c, ok := f.Customer(created.Data.ID); !ok || c.Name != "Nueva Clienta" {
		t.Errorf("created customer not stored: %+v", c)
	}

	before, _ := f.Customer("365047281937")
	r = call(t, f, http.MethodPatch, "/v1/customers/365047281937", DefaultAPIKey, `{"phone":"+18095559876"}`)
	var patched struct{ Data whatalo.Customer }
	r.decode(t, &patched)
	if r.status != http.StatusOK || patched.Data.Phone != "+18095559876" || patched.Data.Name != "Juan Pérez" ||
		!patched.Data.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("PATCH: %d %s", r.status, r.raw)
	}
	if cs, _ := get(t, f, "/v1/customers?search=8095559876").customers(t); len(cs) != 1 || cs[0].ID != "365047281937" {
		t.Errorf("search after PATCH: %v", names(cs))
	}
	if r := call(t, f, http.MethodPatch, "/v1/customers/365047281937", DefaultAPIKey, `{"name":""}`); r.status != http.StatusUnprocessableEntity {
		t.Errorf("PATCH empty name: %d", r.status)
	}
	if r := call(t, f, http.MethodPatch, "/v1/customers/404", DefaultAPIKey, `{"notes":"x"}`); r.status != http.StatusNotFound {
		t.Errorf("PATCH unknown: %d", r.status)
	}
	cs, _ := get(t, f, "/v1/customers?sort=updated_at&per_page=1").customers(t)
	if cs[0].ID != "365047281937" {
		t.Errorf("most recently updated = %s, want the patched customer", cs[0].Name)
	}
}

func TestOrders(t *testing.T) {
	f := New(nil)
	maria := "365047281936"

	r := get(t, f, "/v1/orders?per_page=100")
	if strings.Contains(string(r.raw), `"items"`) {
		t.Error("order list carries items")
	}
	os, pg := r.orders(t)
	if pg.Total != len(DemoSeed().Orders) || os[0].OrderNumber != 1005 || os[0].ItemCount != 4 {
		t.Errorf("list: total %d, first #%d", pg.Total, os[0].OrderNumber)
	}

	byNumbers := func(q string) []int {
		t.Helper()
		os, _ := get(t, f, "/v1/orders?per_page=100&"+q).orders(t)
		var out []int
		for _, o := range os {
			out = append(out, o.OrderNumber)
		}
		return out
	}
	now := time.Now().UTC()
	tests := []struct {
		q    string
		want []int
	}{
		{"customer_id=" + maria, []int{1003, 1002, 1001}},
		{"customer_id=" + maria + "&sort=order_number&order=asc", []int{1001, 1002, 1003}},
		{"search=%231001", []int{1001}},
		{"search=1001", []int{1001}},
		{"search=mar%C3%ADa+garc", []int{1003, 1002, 1001}},
		{"search=8095551234", []int{1003, 1002, 1001}},
		{"status=pending,in_progress", []int{1005, 1003}},
		{"status=returned", []int{995}},
		{"payment_status=refunded", []int{995}},
		{"payment_status=all&status=cancelled&sort=order_number&order=asc", []int{999, 1002}},
		{"city=SANTO+DOMINGO&customer_id=" + maria, []int{1003, 1002, 1001}},
		{"country_code=mx", []int{1004}},
		{"country=Espa%C3%B1a", []int{997}},
		{"total[gte]=10000", []int{1004}},
		{"total[gte]=3000&total[lte]=3100", []int{1001}},
		{"date_from=" + url.QueryEscape(now.Add(-3*24*time.Hour).Format(time.RFC3339)), []int{1005, 1004, 1003}},
		{"date_to=" + url.QueryEscape(now.AddDate(0, 0, -100).Format(time.RFC3339)), []int{993}},
		{"updated_at[gte]=" + url.QueryEscape(now.Add(-3*time.Hour).Format(time.RFC3339)), []int{1005}},
		{"sort=total&status=confirmed,completed&total[gte]=5000", []int{1004, 993}},
	}
	for _, tt := range tests {
		if got := byNumbers(tt.q); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.q, got, tt.want)
		}
	}
	for _, q := range []string{"status=shipped", "payment_status=maybe", "sort=city", "date_from=yesterday", "total[lte]=x"} {
		if r := get(t, f, "/v1/orders?"+q); r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", q, r.status)
		}
	}

	var one struct{ Data whatalo.Order }
	get(t, f, "/v1/orders/819365047283").decode(t, &one)
	o := one.Data
	if o.OrderNumber != 1001 || len(o.Items) != 2 || o.ShippingAddress == nil || o.ShippingAddress.City != "Santo Domingo" ||
		!o.IsCompleted || !o.IsFullyPaid || o.IsCancellable || o.DiscountAmount.String() != "309.5" {
		t.Errorf("GET #1001 = %+v", o)
	}
	var items struct{ Data []whatalo.LineItem }
	get(t, f, "/v1/orders/819365047283/items").decode(t, &items)
	if len(items.Data) != 2 || items.Data[0].ProductName != "Camiseta Premium" || items.Data[0].VariantName != "M" {
		t.Errorf("items = %+v", items.Data)
	}
	if r := get(t, f, "/v1/orders/1/items"); r.status != http.StatusNotFound {
		t.Errorf("items of unknown order: %d", r.status)
	}
	var cnt struct{ Data struct{ Count int } }
	get(t, f, "/v1/orders/count?status=completed").decode(t, &cnt)
	if cnt.Data.Count != 7 {
		t.Errorf("completed count = %d, want 7", cnt.Data.Count)
	}
}

func TestOrderPatchUpdatesCustomer(t *testing.T) {
	f := New(nil)
	before, _ := f.Customer("365047281936")
	r := call(t, f, http.MethodPatch, "/v1/orders/819365047285", DefaultAPIKey, `{"status":"cancelled"}`)
	var o struct{ Data whatalo.Order }
	r.decode(t, &o)
	if r.status != http.StatusOK || o.Data.Status != "cancelled" || o.Data.IsPending || o.Data.IsCancellable {
		t.Fatalf("PATCH #1003: %d %s", r.status, r.raw)
	}
	after, _ := f.Customer("365047281936")
	if after.TotalSpent.String() != "3035.5" || !after.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("María after cancelling #1003: total_spent %s (was %s)", after.TotalSpent, before.TotalSpent)
	}
	if r := call(t, f, http.MethodPatch, "/v1/orders/819365047283", DefaultAPIKey, `{"status":"pending"}`); r.status != http.StatusUnprocessableEntity {
		t.Errorf("completed -> pending: %d, want 422", r.status)
	}
	if r := call(t, f, http.MethodPatch, "/v1/orders/819365047286", DefaultAPIKey, `{"payment_status":"refunded"}`); r.status != http.StatusOK {
		t.Errorf("payment_status change: %d %s", r.status, r.raw)
	}
	// A seed shared by two fakes is not changed by either.
	seed := DemoSeed()
	a, b := New(seed), New(seed)
	call(t, a, http.MethodPatch, "/v1/orders/819365047285", DefaultAPIKey, `{"status":"confirmed"}`)
	if o, _ := b.Order("819365047285"); o.Status != "pending" {
		t.Errorf("PATCH on one fake changed another's order to %s", o.Status)
	}
}

func TestTestHelpers(t *testing.T) {
	f := New(nil)
	c := f.UpsertCustomer(whatalo.Customer{Name: "Helper", Phone: "+18095550999"})
	o := f.AddOrder(whatalo.Order{CustomerID: c.ID, Items: []whatalo.LineItem{{ProductName: "X", Quantity: 2, UnitPrice: whatalo.NewMoney("100")}},
		ShippingCost: whatalo.NewMoney("50")})
	if o.ID == "" || o.OrderNumber != 1006 || o.Total.String() != "250" || o.CustomerName != "Helper" || o.Currency != "DOP" || !o.IsPending {
		t.Errorf("AddOrder = %+v", o)
	}
	got, ok := f.Customer(c.ID)
	if !ok || got.OrdersCount != 1 || got.TotalSpent.String() != "250" || got.LastOrderID != o.ID {
		t.Errorf("customer after AddOrder = %+v", got)
	}
	os, _ := get(t, f, "/v1/orders?customer_id="+c.ID).orders(t)
	if len(os) != 1 || os[0].ID != o.ID {
		t.Errorf("orders of new customer = %+v", os)
	}
	f.DeleteCustomer(c.ID)
	if _, ok := f.Customer(c.ID); ok {
		t.Error("customer still there after DeleteCustomer")
	}
	if r := get(t, f, "/v1/customers/"+c.ID); r.status != http.StatusNotFound {
		t.Errorf("GET deleted customer: %d", r.status)
	}
	if cs, _ := get(t, f, "/v1/customers?search=Helper").customers(t); len(cs) != 0 {
		t.Errorf("deleted customer still listed")
	}
}

func TestProducts(t *testing.T) {
	f := New(nil)
	list := func(q string) []whatalo.Product {
		t.Helper()
		r := get(t, f, "/v1/products?per_page=100&"+q)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", q, r.status, r.raw)
		}
		var body struct{ Data []whatalo.Product }
		r.decode(t, &body)
		return body.Data
	}
	if n := len(list("")); n != 12 {
		t.Errorf("default (active) products: %d, want 12", n)
	}
	if n := len(list("status=all")); n != 13 {
		t.Errorf("status=all: %d, want 13", n)
	}
	if ps := list("status=inactive"); len(ps) != 1 || ps[0].IsActive {
		t.Errorf("status=inactive: %+v", ps)
	}
	for _, q := range []string{"search=camiseta", "search=cam-001", "search=CAMISETA-PREMIUM"} {
		ps := list(q)
		if len(ps) != 1 || ps[0].Slug != "camiseta-premium" || len(ps[0].Variants) != 2 {
			t.Errorf("%s: %d products", q, len(ps))
		}
	}
	if ps := list("price[gte]=5000"); len(ps) != 1 || ps[0].SKU != "REL-001" {
		t.Errorf("price[gte]=5000: %+v", ps)
	}
	if ps := list("stock_status=out_of_stock"); len(ps) != 1 || ps[0].SKU != "REL-001" {
		t.Errorf("out_of_stock: %d", len(ps))
	}
	if ps := list("sort=price&order=asc"); ps[0].SKU != "CHO-001" {
		t.Errorf("cheapest = %s", ps[0].SKU)
	}
	if ps := list("category_id=104728193652"); len(ps) != 2 {
		t.Errorf("gourmet: %d", len(ps))
	}
	var one struct{ Data whatalo.Product }
	get(t, f, "/v1/products/472819365047").decode(t, &one)
	if one.Data.Name != "Camiseta Premium" || !one.Data.HasDiscount || one.Data.DiscountPercentage != 16.67 {
		t.Errorf("GET product = %+v", one.Data)
	}
	if r := get(t, f, "/v1/products?status=draft"); r.status != http.StatusBadRequest {
		t.Errorf("status=draft: %d", r.status)
	}
}

func TestStoreWebhooksAndRoutes(t *testing.T) {
	f := New(nil)
	var st struct{ Data whatalo.Store }
	r := get(t, f, "/v1/store")
	r.decode(t, &st)
	if st.Data.ID != "str_demo01" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("store: %s (%s)", r.raw, r.header.Get("Content-Type"))
	}

	if r := call(t, f, http.MethodPost, "/v1/webhooks", DefaultAPIKey, `{"url":"http://insecure.example/h","events":["order.created"]}`); r.status != http.StatusUnprocessableEntity ||
		r.fieldErrors(t)[0].Field != "url" {
		t.Errorf("http webhook: %d %s", r.status, r.raw)
	}
	if r := call(t, f, http.MethodPost, "/v1/webhooks", DefaultAPIKey, `{"url":"https://x.example/h","events":["order.exploded"]}`); r.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown event: %d", r.status)
	}
	r = call(t, f, http.MethodPost, "/v1/webhooks", DefaultAPIKey, `{"url":"https://x.example/h","events":["customer.updated"]}`)
	var wh struct{ Data whatalo.Webhook }
	r.decode(t, &wh)
	if r.status != http.StatusCreated || !strings.HasPrefix(wh.Data.Secret, "whsec_") || len(wh.Data.Secret) < 20 || !wh.Data.IsActive {
		t.Fatalf("create webhook: %d %s", r.status, r.raw)
	}
	r = get(t, f, "/v1/webhooks")
	if strings.Contains(string(r.raw), "whsec_") || !strings.Contains(string(r.raw), wh.Data.ID) {
		t.Errorf("webhook list leaks the secret or misses the hook: %s", r.raw)
	}
	if ws := f.Webhooks(); len(ws) != 1 || ws[0].Secret != wh.Data.Secret {
		t.Errorf("Webhooks() = %+v", ws)
	}
	r = call(t, f, http.MethodPost, "/v1/webhooks", DefaultAPIKey, `{"url":"https://y.example/h","events":["order.created"],"secret":"mine"}`)
	r.decode(t, &wh)
	if wh.Data.Secret != "mine" {
		t.Errorf("given secret not kept: %s", r.raw)
	}

	for _, target := range []string{"/v1/nothing", "/v1/customers/1/orders", "/v1/"} {
		r := get(t, f, target)
		if r.status != http.StatusNotFound || r.errorBody(t).Code != "NOT_FOUND" || r.header.Get("X-RateLimit-Limit") == "" {
			t.Errorf("%s: %d %s", target, r.status, r.raw)
		}
	}
	if r := call(t, f, http.MethodDelete, "/v1/customers/365047281936", DefaultAPIKey, ""); r.status != http.StatusNotFound {
		t.Errorf("DELETE customer: %d, want 404 (no such route)", r.status)
	}
	st2 := f.Stats()
	if st2.PerRoute["GET /v1/*"] != 3 || st2.PerRoute["GET /v1/store"] != 1 || st2.PerRoute["POST /v1/webhooks"] != 4 || st2.PerRoute["DELETE /v1/*"] != 1 {
		t.Errorf("per-route stats = %v", st2.PerRoute)
	}
}

func TestAuthAndScopes(t *testing.T) {
	f := New(nil, WithAPIKeys("wk_live_full"), WithKeyScopes("wk_test_orders", ScopeReadOrders))
	for _, key := range []string{"", "wk_test_wrong"} {
		r := call(t, f, http.MethodGet, "/v1/customers", key, "")
		if r.status != http.StatusUnauthorized || r.errorBody(t).Code != "UNAUTHORIZED" {
			t.Errorf("key %q: %d %s", key, r.status, r.raw)
		}
		if r.header.Get("X-RateLimit-Limit") == "" || r.header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("401 without rate-limit headers: %v", r.header)
		}
		if key != "" && strings.Contains(string(r.raw), key) {
			t.Error("401 echoes the key")
		}
	}
	if r := call(t, f, http.MethodGet, "/v1/customers", DefaultAPIKey, ""); r.status != http.StatusUnauthorized {
		t.Errorf("default key should not be accepted when WithAPIKeys is given: %d", r.status)
	}
	r := call(t, f, http.MethodGet, "/v1/customers", "wk_live_full", "")
	if r.status != http.StatusOK || r.header.Get("X-RateLimit-Limit") != "1000" {
		t.Errorf("live key: %d limit %s", r.status, r.header.Get("X-RateLimit-Limit"))
	}
	if r := call(t, f, http.MethodGet, "/v1/orders", "wk_test_orders", ""); r.status != http.StatusOK || r.header.Get("X-RateLimit-Limit") != "100" {
		t.Errorf("scoped key on its scope: %d", r.status)
	}
	for target, scope := range map[string]string{"/v1/customers/365047281936": "read:customers", "/v1/store": "read:store", "/v1/products": "read:products", "/v1/webhooks": "read:webhooks"} {
		r := call(t, f, http.MethodGet, target, "wk_test_orders", "")
		var eb struct {
			Error struct {
				Code    string
				Details struct {
					RequiredScope string `json:"required_scope"`
				}
			}
		}
		r.decode(t, &eb)
		if r.status != http.StatusForbidden || eb.Error.Code != "FORBIDDEN" || eb.Error.Details.RequiredScope != scope {
			t.Errorf("%s: %d %s, want 403 needing %s", target, r.status, r.raw, scope)
		}
	}
	if r := call(t, f, http.MethodPost, "/v1/customers", "wk_test_orders", `{"name":"X"}`); r.status != http.StatusForbidden {
		t.Errorf("write without write:customers: %d", r.status)
	}
}
