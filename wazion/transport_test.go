package wazion_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// TestTransportsAndRelatedPhones checks that every transport WAzion may use,
// with every encoding of relatedphones, gives the Backend the same Request.
func TestTransportsAndRelatedPhones(t *testing.T) {
	const (
		phone  = "+34612345678"
		r1     = "+34698765432"
		r2     = "+34600111222"
		order  = "1001"
		email  = "ana@example.com"
		target = "/wazion/" + wazion.EndpointCustomerInitialInfo
	)
	want := wazion.Request{
		Endpoint:      wazion.EndpointCustomerInitialInfo,
		Phone:         phone,
		RelatedPhones: []string{r1, r2},
		Order:         order,
		Email:         email,
	}
	// Each textual encoding of relatedphones as form fields. The comma
	// list carries spaces, a duplicate and empty items on purpose.
	formEncodings := map[string]kv{
		"json array string": {{"relatedphones", fmt.Sprintf(`["%s","%s"]`, r1, r2)}},
		"repeated keys":     {{"relatedphones", r1}, {"relatedphones", r2}},
		"brackets":          {{"relatedphones[]", r1}, {"relatedphones[]", r2}},
		"comma separated":   {{"relatedphones", " " + r1 + " , " + r2 + ",," + r1}},
		"indexed":           {{"relatedphones[0]", r1}, {"relatedphones[1]", r2}},
	}
	jsonEncodings := map[string]string{
		"json array":        fmt.Sprintf(`[%q, %q, %q, ""]`, r1, r2, r1),
		"json array string": fmt.Sprintf(`%q`, fmt.Sprintf(`["%s","%s"]`, r1, r2)),
		"comma separated":   fmt.Sprintf(`"%s,%s"`, r1, r2),
	}
	base := kv{{"token", tokenA}, {"phone", phone}, {"order", order}, {"email", email}, {"test", "false"}}

	type tc struct {
		name string
		req  func(t *testing.T) *http.Request
	}
	var cases []tc
	for enc, fields := range formEncodings {
		all := append(append(kv{}, base...), fields...)
		cases = append(cases,
			tc{"GET query/" + enc, func(*testing.T) *http.Request {
				return get(target + "?" + all.values().Encode())
			}},
			tc{"POST urlencoded/" + enc, func(*testing.T) *http.Request {
				return postForm(target, all.values())
			}},
			tc{"POST multipart/" + enc, func(t *testing.T) *http.Request {
				return postMultipart(t, target, all)
			}},
		)
	}
	for enc, related := range jsonEncodings {
		body := fmt.Sprintf(`{"token":%q,"phone":%q,"order":%q,"email":%q,"test":false,"relatedphones":%s,"unknown":{"a":[1,2,{"b":null}]}}`,
			tokenA, phone, order, email, related)
		cases = append(cases, tc{"POST JSON/" + enc, func(*testing.T) *http.Request {
			return postJSON(target, body)
		}})
	}
	// WAzion's own example sends the phone unescaped in the query string,
	// where '+' means a space.
	cases = append(cases, tc{"GET raw WAzion example", func(*testing.T) *http.Request {
		return get(target + "?phone=" + phone + "&token=" + tokenA + "&order=" + order + "&email=" + email +
			`&relatedphones=["` + r1 + `","` + r2 + `"]&test=false`)
	}})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := &fakeBackend{name: "A"}
			app := oneStore(t, fake, wazion.Options{})
			a := do(t, app, c.req(t))
			if a.json["found"] != true {
				t.Fatalf("answer %s, want found", a.raw)
			}
			got := fake.last(t)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Request\n got %#v\nwant %#v", got, want)
			}
		})
	}
}

func TestNumbersAndCaseInJSON(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	app := oneStore(t, fake, wazion.Options{})
	do(t, app, postJSON(path(wazion.EndpointCustomerInitialInfo),
		`{"Token":"`+tokenA+`","phone":34612345678,"order":1001,"relatedPhones":[34698765432, "+34600111222"],"test":0}`))
	got := fake.last(t)
	if got.Phone != "34612345678" || got.Order != "1001" {
		t.Errorf("numbers: phone %q order %q, want their text", got.Phone, got.Order)
	}
	if want := []string{"34698765432", "+34600111222"}; !reflect.DeepEqual(got.RelatedPhones, want) {
		t.Errorf("related %q, want %q", got.RelatedPhones, want)
	}
	if got.Test {
		t.Error("test=0 read as true")
	}
}

func TestBodyWinsOverQuery(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	app := oneStore(t, fake, wazion.Options{})
	target := path(wazion.EndpointCustomerInitialInfo) + "?phone=%2B111&order=7&relatedphones=%2B222&email=q%40x.com"
	for name, req := range map[string]*http.Request{
		"json": postJSON(target, `{"token":"`+tokenA+`","phone":"+333","relatedphones":["+444"],"email":""}`),
		"form": postForm(target, url.Values{"token": {tokenA}, "phone": {"+333"}, "relatedphones": {"+444"}, "email": {""}}),
	} {
		t.Run(name, func(t *testing.T) {
			do(t, app, req)
			got := fake.last(t)
			if got.Phone != "+333" || !reflect.DeepEqual(got.RelatedPhones, []string{"+444"}) {
				t.Errorf("body did not win: phone %q related %q", got.Phone, got.RelatedPhones)
			}
			if got.Order != "7" {
				t.Errorf("order %q: a query value missing from the body must stay", got.Order)
			}
			if got.Email != "q@x.com" {
				t.Errorf("email %q: an empty body value must not erase the query's", got.Email)
			}
		})
	}
}

func TestQueryFieldNames(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	app := oneStore(t, fake, wazion.Options{})
	tests := []struct {
		endpoint, query, want string
	}{
		{wazion.EndpointSearchProducts, "q=camisa&query=other", "camisa"},
		{wazion.EndpointSearchProducts, "query=camisa", "camisa"},
		{wazion.EndpointGlobalSearch, "query=juan&q=other", "juan"},
		{wazion.EndpointFindToJoin, "q=juan", "juan"},
	}
	for _, tt := range tests {
		do(t, app, get(path(tt.endpoint)+"?token="+tokenA+"&"+tt.query))
		if got := fake.last(t).Query; got != tt.want {
			t.Errorf("%s ?%s: Query %q, want %q", tt.endpoint, tt.query, got, tt.want)
		}
	}
}

func TestFormatAndLocale(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	app := oneStore(t, fake, wazion.Options{})
	do(t, app, get(path(wazion.EndpointSearchProducts)+"?token="+tokenA+"&q=camisa&format=AI&target_locale=de"))
	got := fake.last(t)
	if got.Format != "ai" || got.TargetLocale != "de" {
		t.Errorf("format %q locale %q, want ai, de", got.Format, got.TargetLocale)
	}
	do(t, app, get(path(wazion.EndpointSearchProducts)+"?token="+tokenA+"&q=camisa&format=html"))
	if got := fake.last(t).Format; got != "" {
		t.Errorf("unknown format became %q, want normal (\"\")", got)
	}
}

// TestRequestStringsAreCopies checks that a Request kept by the Backend
// does not change when Fiber reuses its buffers for the next request.
func TestRequestStringsAreCopies(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	app := oneStore(t, fake, wazion.Options{})
	do(t, app, get(path(wazion.EndpointCustomerInfo)+"?token="+tokenA+"&phone=%2B34611111111&relatedphones=%2B34622222222"))
	first := fake.last(t)
	for i := 0; i < 20; i++ {
		do(t, app, postJSON(path(wazion.EndpointCustomerInfo)+"?phone=%2B34699999999",
			`{"token":"`+tokenA+`","phone":"+34688888888","relatedphones":["+34677777777"]}`))
	}
	if first.Phone != "+34611111111" || first.RelatedPhones[0] != "+34622222222" {
		t.Errorf("kept Request changed under later requests: %#v", first)
	}
}

func TestGzipBody(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	app := oneStore(t, fake, wazion.Options{})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"token":"` + tokenA + `","phone":"+34612345678"}`))
	_ = zw.Close()
	req := httptest.NewRequest(http.MethodPost, path(wazion.EndpointCustomerInfo), &buf)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	do(t, app, req)
	if got := fake.last(t).Phone; got != "+34612345678" {
		t.Errorf("phone %q from gzip body", got)
	}

	// A small gzip body that inflates past the limit is refused.
	buf.Reset()
	zw = gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"token":"` + tokenA + `","x":"` + strings.Repeat("a", 1<<20) + `"}`))
	_ = zw.Close()
	req = httptest.NewRequest(http.MethodPost, path(wazion.EndpointCustomerInfo)+"?token="+tokenA, &buf)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	before := fake.calls()
	a := do(t, app, req)
	if a.str("error") != wazion.ErrBodyTooLarge.Error() || fake.calls() != before {
		t.Errorf("gzip bomb: answer %s, backend calls %d -> %d", a.raw, before, fake.calls())
	}
}

func TestTestFlag(t *testing.T) {
	for _, tt := range []struct {
		name string
		req  *http.Request
		test bool
	}{
		{"query true", get(path(wazion.EndpointCustomerInfo) + "?token=" + tokenA + "&test=true"), true},
		{"query TRUE", get(path(wazion.EndpointCustomerInfo) + "?token=" + tokenA + "&test=TRUE"), true},
		{"query 1", get(path(wazion.EndpointCustomerInfo) + "?token=" + tokenA + "&test=1"), true},
		{"json true", postJSON(path(wazion.EndpointCustomerInfo), `{"token":"`+tokenA+`","test":true}`), true},
		{"json 1", postJSON(path(wazion.EndpointCustomerInfo), `{"token":"`+tokenA+`","test":1}`), true},
		{"json string", postJSON(path(wazion.EndpointCustomerInfo), `{"token":"`+tokenA+`","test":"True"}`), true},
		{"form true", postForm(path(wazion.EndpointCustomerInfo), url.Values{"token": {tokenA}, "test": {"true"}}), true},
		{"query false", get(path(wazion.EndpointCustomerInfo) + "?token=" + tokenA + "&test=false"), false},
		{"query yes", get(path(wazion.EndpointCustomerInfo) + "?token=" + tokenA + "&test=yes"), false},
		{"json false", postJSON(path(wazion.EndpointCustomerInfo), `{"token":"`+tokenA+`","test":false}`), false},
		{"json 0", postJSON(path(wazion.EndpointCustomerInfo), `{"token":"`+tokenA+`","test":0}`), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeBackend{name: "A"}
			app := oneStore(t, fake, wazion.Options{})
			a := do(t, app, tt.req)
			isSample := strings.Contains(string(a.raw), "Cliente de Prueba")
			if isSample != tt.test {
				t.Errorf("sample answered: %v, want %v; body %s", isSample, tt.test, a.raw)
			}
			if called := fake.calls() > 0; called == tt.test {
				t.Errorf("backend called: %v with test=%v", called, tt.test)
			}
		})
	}
}

func TestTestNeedsToken(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	app := oneStore(t, fake, wazion.Options{})
	a := do(t, app, get(path(wazion.EndpointCustomerInfo)+"?token=wrong&test=true"))
	if string(a.raw) != `{"found":false,"error":"unauthorized"}` {
		t.Errorf("test=true with a bad token answered %s", a.raw)
	}
}

func TestTestPayloads(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	app := oneStore(t, fake, wazion.Options{})
	q := "?token=" + tokenA + "&test=true"

	a := do(t, app, get(path(wazion.EndpointCustomerInfo)+q))
	customers := a.list("customers")
	if a.json["found"] != true || len(customers) != 1 {
		t.Fatalf("customer info sample: %s", a.raw)
	}
	c := customers[0].(map[string]any)
	for _, k := range []string{"name", "email", "phone", "shopUrl", "ordersCount", "totalSpent", "totalRefunded", "totalDiscounts", "state", "orders", "abandonedCarts"} {
		if _, ok := c[k]; !ok {
			t.Errorf("customer info sample lacks %q", k)
		}
	}
	if c["name"] != "Cliente de Prueba" {
		t.Errorf("sample name %v", c["name"])
	}
	if labels, _ := a.json["labels"].(map[string]any); labels["label_languages"] != "es" {
		t.Errorf("sample labels %v", a.json["labels"])
	}
	order := c["orders"].([]any)[0].(map[string]any)
	if items, _ := order["items"].([]any); len(items) == 0 {
		t.Errorf("sample order has no items: %v", order)
	}

	a = do(t, app, get(path(wazion.EndpointCustomerInitialInfo)+q))
	if a.json["found"] != true || !strings.Contains(a.str("info"), "Cliente de Prueba") {
		t.Errorf("initial info sample: %s", a.raw)
	}
	a = do(t, app, get(path(wazion.EndpointFindToJoin)+q))
	if len(a.list("customers")) != 2 {
		t.Errorf("find-to-join sample: %s", a.raw)
	}
	a = do(t, app, get(path(wazion.EndpointGlobalSearch)+q))
	if a.json["found"] != true || len(a.list("customers")) != 1 {
		t.Errorf("global search sample: %s", a.raw)
	}
	a = do(t, app, get(path(wazion.EndpointSearchProducts)+q))
	if a.json["http_status"] != float64(200) || a.json["count"] != float64(1) || a.json["raw"] == nil {
		t.Errorf("product sample, normal format: %s", a.raw)
	}
	a = do(t, app, get(path(wazion.EndpointSearchProducts)+q+"&format=ai"))
	if _, ok := a.json["locale"]; !ok || a.json["http_status"] != nil || a.json["count"] != float64(1) {
		t.Errorf("product sample, AI format: %s", a.raw)
	}
	if fake.calls() != 0 {
		t.Errorf("test=true called the backend %d times", fake.calls())
	}
}

func TestTokenSources(t *testing.T) {
	fakeA := &fakeBackend{name: "A"}
	fakeB := &fakeBackend{name: "B"}
	app := newApp(t, wazion.Options{},
		wazion.Tenant{Name: "A", Tokens: []string{tokenA}, Backend: fakeA},
		wazion.Tenant{Name: "B", Tokens: []string{"old-token", tokenB}, TokenHeader: "x-shop-key", Backend: fakeB},
	)
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	target := path(wazion.EndpointCustomerInfo) + "?phone=%2B34612345678"
	for _, store := range []struct {
		name, token string
	}{{"A", tokenA}, {"B", tokenB}} {
		tok := store.token
		tests := map[string]func() *http.Request{
			"query":       func() *http.Request { return get(target + "&token=" + tok) },
			"json body":   func() *http.Request { return postJSON(target, `{"token":"`+tok+`"}`) },
			"form body":   func() *http.Request { return postForm(target, url.Values{"token": {tok}}) },
			"bearer":      func() *http.Request { r := get(target); r.Header.Set("Authorization", "Bearer "+tok); return r },
			"x-wazion":    func() *http.Request { r := get(target); r.Header.Set("X-Wazion-Token", tok); return r },
			"custom hdr":  func() *http.Request { r := get(target); r.Header.Set("X-Shop-Key", tok); return r },
			"basic pass":  func() *http.Request { r := get(target); r.Header.Set("Authorization", basic("wazion", tok)); return r },
			"basic user":  func() *http.Request { r := get(target); r.Header.Set("Authorization", basic(tok, "")); return r },
			"bad + good":  func() *http.Request { r := get(target + "&token=nope"); r.Header.Set("X-Wazion-Token", tok); return r },
			"bearer case": func() *http.Request { r := get(target); r.Header.Set("Authorization", "bearer "+tok); return r },
		}
		for name, mk := range tests {
			t.Run(store.name+"/"+name, func(t *testing.T) {
				a := do(t, app, mk())
				customers := a.list("customers")
				if len(customers) != 1 {
					t.Fatalf("answer %s", a.raw)
				}
				if got := customers[0].(map[string]any)["name"]; got != store.name {
					t.Errorf("served by store %v, want %s", got, store.name)
				}
			})
		}
	}
	// The second token of a store works too.
	a := do(t, app, get(target+"&token=old-token"))
	if got := a.list("customers")[0].(map[string]any)["name"]; got != "B" {
		t.Errorf("old token served by %v", got)
	}
}

func TestUnauthorized(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	app := oneStore(t, fake, wazion.Options{})
	sameLen := strings.Repeat("x", len(tokenA))
	almost := tokenA[:len(tokenA)-1] + "b"
	for _, ep := range wazion.Endpoints() {
		for name, req := range map[string]*http.Request{
			"missing":          get(path(ep) + "?phone=1&query=abc&q=abc"),
			"same length":      get(path(ep) + "?token=" + sameLen + "&query=abc&q=abc"),
			"one char off":     get(path(ep) + "?token=" + almost + "&query=abc&q=abc"),
			"shorter":          get(path(ep) + "?token=" + tokenA[:5] + "&query=abc&q=abc"),
			"longer":           get(path(ep) + "?token=" + tokenA + "x&query=abc&q=abc"),
			"empty bearer":     func() *http.Request { r := get(path(ep)); r.Header.Set("Authorization", "Bearer "); return r }(),
			"bad basic base64": func() *http.Request { r := get(path(ep)); r.Header.Set("Authorization", "Basic %%%"); return r }(),
			"json test=true":   postJSON(path(ep), `{"token":"`+sameLen+`","test":true}`),
		} {
			t.Run(ep+"/"+name, func(t *testing.T) {
				a := do(t, app, req)
				want := `{"found":false,"error":"unauthorized"}`
				if ep == wazion.EndpointFindToJoin {
					want = `{"found":false,"error":"unauthorized","customers":[]}`
				}
				if got := string(a.raw); got != want {
					t.Errorf("body %s, want %s", got, want)
				}
			})
		}
	}
	if fake.calls() != 0 {
		t.Errorf("backend called %d times without a valid token", fake.calls())
	}
}
