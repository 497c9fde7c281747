package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/wazion/console"
)

const (
	operatorPassword = "operator-password-123"
	tokenA           = "zqa1-aaaa-1111-2222"
	tokenB           = "zqb2-bbbb-3333-4444"
)

// fakeSource answers the console's questions with fixed data and records
// what it was asked.
type fakeSource struct {
	mu       sync.Mutex
	answers  map[string]string // endpoint -> JSON body
	asked    []string          // "store endpoint query"
	checks   int
	register int
}

func (f *fakeSource) Settings(store, publicURL, method, auth string) (console.Settings, error) {
	if !strings.HasPrefix(publicURL, "http") {
		return console.Settings{}, errors.New("public address: want an absolute URL")
	}
	s := console.Settings{PublicURL: publicURL, Method: method, Auth: auth, Warnings: []string{}}
	for _, ep := range wazion.Endpoints() {
		s.URLs = append(s.URLs, console.EndpointURL{Endpoint: ep, URL: publicURL + "/wazion/" + ep})
	}
	return s, nil
}

func (f *fakeSource) Check(context.Context, string) (console.CheckReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks++
	return console.CheckReport{OK: true, APIKey: "wk_l…", Checks: []console.CheckItem{{Name: "store", OK: true, Message: "Tienda"}}}, nil
}

func (f *fakeSource) Webhooks(_ context.Context, store, publicURL string) (console.WebhookState, error) {
	return console.WebhookState{URL: publicURL + "/webhooks/whatalo/" + store}, nil
}

func (f *fakeSource) RegisterWebhook(_ context.Context, store, publicURL string) (console.Registration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.register++
	return console.Registration{ID: "wh_1", URL: publicURL + "/webhooks/whatalo/" + store}, nil
}

func (f *fakeSource) Status(string) console.StoreStatus {
	return console.StoreStatus{Index: console.IndexStatus{State: "ready", Customers: 3}, Upstream: console.UpstreamStatus{Limit: 900}}
}

func (f *fakeSource) Answer(_ context.Context, store, endpoint string, params url.Values) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, store+" "+endpoint+" "+params.Encode())
	if b, ok := f.answers[endpoint]; ok {
		return []byte(b), nil
	}
	return []byte(`{"found":false}`), nil
}

func (f *fakeSource) askedList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

// testConsole is a console for stores "a" and "b" on a loopback port.
type testConsole struct {
	url      string
	src      *fakeSource
	recorder *console.Recorder
	app      *fiber.App
}

func newTestConsole(t *testing.T) *testConsole {
	t.Helper()
	src := &fakeSource{answers: map[string]string{}}
	rec := console.NewRecorder([]string{"a", "b"})
	con, err := console.New(console.Options{
		Stores:   []console.Store{{Name: "a", Tokens: []string{tokenA}}, {Name: "b", Tokens: []string{tokenB}}},
		Password: operatorPassword,
		Setup:    src, Checker: src, Webhooks: src, Status: src, Answerer: src,
		Recorder: rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	con.Register(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = app.Listener(ln)
	}()
	t.Cleanup(func() {
		_ = app.ShutdownWithTimeout(5 * time.Second)
		<-done
	})
	tc := &testConsole{url: "http://" + ln.Addr().String(), src: src, recorder: rec, app: app}
	// A shutdown before the server accepts would leave it running: wait
	// until it answers.
	tc.browser(t).open()
	return tc
}

// browser is one client with its own cookies and CSRF token.
type browser struct {
	t    *testing.T
	tc   *testConsole
	hc   *http.Client
	csrf string
}

func (tc *testConsole) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, tc: tc, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

type reply struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (b *browser) do(method, path string, body any, header ...string) reply {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			b.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, b.tc.url+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, body: raw}
	_ = json.Unmarshal(raw, &r.json)
	return r
}

// get and post send the browser's CSRF token, as the page does.
func (b *browser) get(path string) reply { b.t.Helper(); return b.do(http.MethodGet, path, nil) }
func (b *browser) post(path string, body any) reply {
	b.t.Helper()
	if body == nil {
		body = map[string]string{}
	}
	return b.do(http.MethodPost, path, body, console.HeaderCSRF, b.csrf)
}

// open loads the session as the page does on start, taking the sign-in
// CSRF token.
func (b *browser) open() {
	b.t.Helper()
	r := b.get("/console/api/session")
	if r.status != http.StatusOK {
		b.t.Fatalf("session: %d %s", r.status, r.body)
	}
	b.csrf, _ = r.json["csrf"].(string)
}

func (b *browser) signIn(store, password string) reply {
	b.t.Helper()
	if b.csrf == "" {
		b.open()
	}
	r := b.post("/console/api/signin", map[string]string{"store": store, "password": password})
	if r.status == http.StatusOK {
		b.csrf, _ = r.json["csrf"].(string)
	}
	return r
}

func storesOf(r reply) []string {
	var out []string
	list, _ := r.json["stores"].([]any)
	for _, s := range list {
		out = append(out, s.(string))
	}
	return out
}

func TestOperatorSeesEveryStore(t *testing.T) {
	tc := newTestConsole(t)
	b := tc.browser(t)
	r := b.signIn("", operatorPassword)
	if r.status != http.StatusOK || r.json["operator"] != true {
		t.Fatalf("operator sign-in: %d %s", r.status, r.body)
	}
	if got := strings.Join(storesOf(r), ","); got != "a,b" {
		t.Errorf("stores = %s, want a,b", got)
	}
	for _, s := range []string{"a", "b"} {
		if r := b.get("/console/api/stores/" + s + "/status"); r.status != http.StatusOK {
			t.Errorf("status of %s: %d %s", s, r.status, r.body)
		}
	}
	if r := b.get("/console/api/stores/c/status"); r.status != http.StatusNotFound {
		t.Errorf("unknown store: %d, want 404", r.status)
	}
}

func TestStoreOwnerSeesOnlyTheirStore(t *testing.T) {
	tc := newTestConsole(t)
	b := tc.browser(t)
	r := b.signIn("a", tokenA)
	if r.status != http.StatusOK || r.json["operator"] == true {
		t.Fatalf("owner sign-in: %d %s", r.status, r.body)
	}
	if got := strings.Join(storesOf(r), ","); got != "a" {
		t.Errorf("stores = %s, want a alone", got)
	}
	if r := b.get("/console/api/stores/a/status"); r.status != http.StatusOK {
		t.Errorf("own store: %d %s", r.status, r.body)
	}
	for _, p := range []string{"/status", "/setup", "/check", "/webhooks", "/preview?q=%2B18095551234", "/products?q=camiseta"} {
		if r := b.get("/console/api/stores/b" + p); r.status != http.StatusNotFound {
			t.Errorf("GET another store's %s: %d %s, want 404", p, r.status, r.body)
		}
	}
	for _, p := range []string{"/tokens", "/check", "/webhooks"} {
		if r := b.post("/console/api/stores/b"+p, nil); r.status != http.StatusNotFound || bytes.Contains(r.body, []byte(tokenB)) {
			t.Errorf("POST another store's %s: %d %s, want 404", p, r.status, r.body)
		}
	}
	for _, a := range tc.src.askedList() {
		if strings.HasPrefix(a, "b ") {
			t.Errorf("store b's endpoints were asked for a store-a owner: %s", a)
		}
	}
	if tc.src.register != 0 {
		t.Errorf("a webhook was registered for another store")
	}

	// Another store's token does not open store a, nor its own store
	// under a's name.
	other := tc.browser(t)
	if r := other.signIn("a", tokenB); r.status != http.StatusUnauthorized {
		t.Errorf("store a with b's token: %d %s, want 401", r.status, r.body)
	}
	if r := other.signIn("", tokenA); r.status != http.StatusUnauthorized {
		t.Errorf("a store token as the operator password: %d %s, want 401", r.status, r.body)
	}
}

func TestWrongPasswordIsRefusedAndRateLimited(t *testing.T) {
	tc := newTestConsole(t)
	b := tc.browser(t)
	var last reply
	for i := range 5 {
		last = b.signIn("", "not-the-password")
		if last.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d %s, want 401", i+1, last.status, last.body)
		}
	}
	if msg, _ := last.json["error"].(string); msg != "wrong password" {
		t.Errorf("error = %q", msg)
	}
	if r := b.signIn("", "not-the-password"); r.status != http.StatusTooManyRequests {
		t.Errorf("sixth wrong password: %d %s, want 429", r.status, r.body)
	}
	// While the limit holds, the right password does not get through
	// either: guessing cannot continue.
	if r := b.signIn("", operatorPassword); r.status != http.StatusTooManyRequests {
		t.Errorf("right password under the limit: %d %s, want 429", r.status, r.body)
	}
	if r := b.get("/console/api/stores/a/status"); r.status != http.StatusUnauthorized {
		t.Errorf("status without a session: %d, want 401", r.status)
	}
}

func TestStateChangesNeedTheCSRFToken(t *testing.T) {
	tc := newTestConsole(t)
	b := tc.browser(t)
	b.open()
	if r := b.do(http.MethodPost, "/console/api/signin", map[string]string{"password": operatorPassword}); r.status != http.StatusForbidden {
		t.Errorf("sign-in without CSRF: %d %s, want 403", r.status, r.body)
	}
	if r := b.do(http.MethodPost, "/console/api/signin", map[string]string{"password": operatorPassword}, console.HeaderCSRF, strings.Repeat("0", 64)); r.status != http.StatusForbidden {
		t.Errorf("sign-in with a wrong CSRF token: %d, want 403", r.status)
	}
	if r := b.signIn("", operatorPassword); r.status != http.StatusOK {
		t.Fatalf("sign-in: %d %s", r.status, r.body)
	}
	for _, p := range []string{"/console/api/stores/a/check", "/console/api/stores/a/tokens", "/console/api/stores/a/webhooks", "/console/api/signout"} {
		for _, csrf := range []string{"", "wrong", strings.Repeat("f", 64)} {
			r := b.do(http.MethodPost, p, map[string]string{}, console.HeaderCSRF, csrf)
			if r.status != http.StatusForbidden || bytes.Contains(r.body, []byte(tokenA)) {
				t.Errorf("POST %s with CSRF %q: %d %s, want 403", p, csrf, r.status, r.body)
			}
		}
	}
	if tc.src.checks != 0 || tc.src.register != 0 {
		t.Errorf("refused POSTs ran: %d checks, %d registrations", tc.src.checks, tc.src.register)
	}
	if r := b.post("/console/api/stores/a/check", nil); r.status != http.StatusOK {
		t.Errorf("check with CSRF: %d %s", r.status, r.body)
	}
	if r := b.post("/console/api/signout", nil); r.status != http.StatusOK {
		t.Errorf("sign-out with CSRF: %d %s", r.status, r.body)
	}
	if r := b.get("/console/api/stores/a/status"); r.status != http.StatusUnauthorized {
		t.Errorf("after sign-out: %d, want 401", r.status)
	}
}

func TestSessionCookie(t *testing.T) {
	tc := newTestConsole(t)
	for _, tt := range []struct {
		name   string
		header []string
		secure bool
	}{
		{"plain", nil, false},
		{"behind TLS", []string{"X-Forwarded-Proto", "https"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := tc.browser(t)
			b.open()
			r := b.do(http.MethodPost, "/console/api/signin", map[string]string{"store": "a", "password": tokenA},
				append([]string{console.HeaderCSRF, b.csrf}, tt.header...)...)
			if r.status != http.StatusOK {
				t.Fatalf("sign-in: %d %s", r.status, r.body)
			}
			var cookie string
			for _, c := range r.header.Values("Set-Cookie") {
				if strings.HasPrefix(c, "wazion_console=") {
					cookie = c
				}
			}
			lc := strings.ToLower(cookie)
			for _, want := range []string{"httponly", "samesite=strict", "path=/console"} {
				if !strings.Contains(lc, want) {
					t.Errorf("cookie %q lacks %s", cookie, want)
				}
			}
			if got := strings.Contains(lc, "secure"); got != tt.secure {
				t.Errorf("cookie %q: Secure = %t, want %t", cookie, got, tt.secure)
			}
			if strings.Contains(cookie, tokenA) {
				t.Errorf("the cookie holds the token")
			}
		})
	}
}

func TestTokensAreMaskedUntilRevealed(t *testing.T) {
	tc := newTestConsole(t)
	b := tc.browser(t)
	b.signIn("a", tokenA)
	r := b.get("/console/api/stores/a/setup?public_url=https%3A%2F%2Fcrm.example.com")
	if r.status != http.StatusOK {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	if bytes.Contains(r.body, []byte(tokenA)) || bytes.Contains(r.body, []byte(tokenA[:5])) {
		t.Errorf("setup shows more than 4 characters of the token: %s", r.body)
	}
	tokens, _ := r.json["tokens"].([]any)
	if len(tokens) != 1 || tokens[0] != tokenA[:4]+"…" {
		t.Errorf("masked tokens = %v, want [%s…]", tokens, tokenA[:4])
	}
	r = b.post("/console/api/stores/a/tokens", nil)
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(tokenA)) {
		t.Errorf("reveal: %d %s, want the token", r.status, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if r := b.get("/console/api/stores/a/setup?public_url=nope"); r.status != http.StatusBadRequest {
		t.Errorf("bad public address: %d, want 400", r.status)
	}
}

// TestAnswersAreEscaped: a customer named like markup comes back as JSON
// text that no browser reads as HTML, and the page puts every value in as
// text.
func TestAnswersAreEscaped(t *testing.T) {
	tc := newTestConsole(t)
	const evil = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	name, _ := json.Marshal(evil)
	tc.src.answers[wazion.EndpointCustomerInfo] = `{"found":true,"customers":[{"name":` + string(name) + `,"orders":[]}]}`
	tc.src.answers[wazion.EndpointCustomerInitialInfo] = `{"found":true,"info":` + string(name) + `}`
	b := tc.browser(t)
	b.signIn("", operatorPassword)
	r := b.get("/console/api/stores/a/preview?q=%2B18095551234")
	if r.status != http.StatusOK {
		t.Fatalf("preview: %d %s", r.status, r.body)
	}
	if bytes.Contains(r.body, []byte("<script")) || bytes.Contains(r.body, []byte("<img")) {
		t.Errorf("the preview answer carries raw markup: %s", r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("Content-Type %q, nosniff %q", ct, r.header.Get("X-Content-Type-Options"))
	}
	var p struct {
		CustomerInfo wazion.CustomerInfoResponse `json:"customer_info"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil || len(p.CustomerInfo.Customers) != 1 || p.CustomerInfo.Customers[0].Name != evil {
		t.Errorf("the name does not come back as the same text: %v %+v", err, p)
	}

	// The page: no inline script may run, and the script never parses data
	// as HTML.
	page := b.get("/console/")
	csp := page.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	js := b.get("/console/console.js")
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if bytes.Contains(js.body, []byte(sink)) {
			t.Errorf("console.js uses %s", sink)
		}
	}
	for _, external := range []string{`src="http`, `href="http`, `src="//`, `href="//`, "url(", "@import"} {
		for _, asset := range [][]byte{page.body, b.get("/console/console.css").body} {
			if bytes.Contains(asset, []byte(external)) {
				t.Errorf("an asset loads something from outside the console (%s)", external)
			}
		}
	}
}

func TestPreviewAsksTheEndpoints(t *testing.T) {
	tc := newTestConsole(t)
	tc.src.answers[wazion.EndpointGlobalSearch] = `{"found":true,"customers":[{"id":"1","name":"María García","phone":"+18095551234","orders":[]}]}`
	b := tc.browser(t)
	b.signIn("a", tokenA)
	if r := b.get("/console/api/stores/a/preview?q=%2B18095551234"); r.status != http.StatusOK || r.json["phone"] != "+18095551234" {
		t.Fatalf("preview by phone: %d %s", r.status, r.body)
	}
	if r := b.get("/console/api/stores/a/preview?q=%231003"); r.status != http.StatusOK || r.json["phone"] != "+18095551234" {
		t.Fatalf("preview by order number: %d %s", r.status, r.body)
	}
	if r := b.get("/console/api/stores/a/products?q=camiseta&phone=%2B34612345678"); r.status != http.StatusOK {
		t.Fatalf("products: %d %s", r.status, r.body)
	}
	want := []string{
		"a sidePanel_CustomerInfo phone=%2B18095551234",
		"a ai_CustomerInitialInfo phone=%2B18095551234",
		"a globalSearch query=%231003",
		"a sidePanel_CustomerInfo phone=%2B18095551234",
		"a ai_CustomerInitialInfo order=1003&phone=%2B18095551234",
		"a search_Products phone=%2B34612345678&q=camiseta",
		"a search_Products format=ai&phone=%2B34612345678&q=camiseta",
	}
	if got := tc.src.askedList(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("asked:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestStatusShowsTheRecordedErrors(t *testing.T) {
	tc := newTestConsole(t)
	now := time.Now()
	tc.recorder.ObserveAnswerError(wazion.AnswerError{Time: now, Store: "a", Endpoint: wazion.EndpointGlobalSearch, Outcome: wazion.OutcomeBadRequest, Error: "query must be at least 2 characters"})
	tc.recorder.ObserveAnswerError(wazion.AnswerError{Time: now, Store: "b", Endpoint: wazion.EndpointCustomerInfo, Error: "of store b"})
	tc.recorder.ObserveUpstream("a", now)
	b := tc.browser(t)
	b.signIn("a", tokenA)
	r := b.get("/console/api/stores/a/status")
	var s struct {
		Errors    []struct{ Endpoint, Error string }
		PerMinute []int `json:"per_minute"`
	}
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Errors) != 1 || s.Errors[0].Error != "query must be at least 2 characters" {
		t.Errorf("errors = %+v, want store a's one", s.Errors)
	}
	if len(s.PerMinute) != console.UpstreamMinutes || s.PerMinute[len(s.PerMinute)-1] != 1 {
		t.Errorf("per minute = %v", s.PerMinute)
	}
}

func TestRoutesStayUnderConsole(t *testing.T) {
	tc := newTestConsole(t)
	for _, routes := range tc.app.Stack() {
		for _, r := range routes {
			if !strings.HasPrefix(r.Path, console.Path) {
				t.Errorf("route %s %s is outside %s", r.Method, r.Path, console.Path)
			}
		}
	}
}
