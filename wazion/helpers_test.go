package wazion_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// fakeBackend records every call and answers with what its hooks return, or
// with one customer named after the backend so tests can tell stores apart.
type fakeBackend struct {
	name string

	mu   sync.Mutex
	reqs []wazion.Request

	customerInfo func(context.Context, wazion.Request) (*wazion.CustomerInfoResponse, error)
	initialInfo  func(context.Context, wazion.Request) (*wazion.InitialInfoResponse, error)
	findToJoin   func(context.Context, wazion.Request) (*wazion.FindToJoinResponse, error)
	products     func(context.Context, wazion.Request) (*wazion.ProductSearch, error)
	globalSearch func(context.Context, wazion.Request) (*wazion.GlobalSearchResponse, error)
}

func (f *fakeBackend) record(req wazion.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
}

func (f *fakeBackend) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func (f *fakeBackend) last(t *testing.T) wazion.Request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatalf("backend %q was not called", f.name)
	}
	return f.reqs[len(f.reqs)-1]
}

func (f *fakeBackend) CustomerInfo(ctx context.Context, req wazion.Request) (*wazion.CustomerInfoResponse, error) {
	f.record(req)
	if f.customerInfo != nil {
		return f.customerInfo(ctx, req)
	}
	return &wazion.CustomerInfoResponse{Found: true, Customers: []wazion.Customer{{Name: f.name, Phone: req.Phone}}}, nil
}

func (f *fakeBackend) CustomerInitialInfo(ctx context.Context, req wazion.Request) (*wazion.InitialInfoResponse, error) {
	f.record(req)
	if f.initialInfo != nil {
		return f.initialInfo(ctx, req)
	}
	return &wazion.InitialInfoResponse{Found: true, Info: "Cliente: " + f.name}, nil
}

func (f *fakeBackend) FindToJoin(ctx context.Context, req wazion.Request) (*wazion.FindToJoinResponse, error) {
	f.record(req)
	if f.findToJoin != nil {
		return f.findToJoin(ctx, req)
	}
	return &wazion.FindToJoinResponse{Customers: []wazion.JoinCustomer{{ID: "1", Name: f.name}}}, nil
}

func (f *fakeBackend) SearchProducts(ctx context.Context, req wazion.Request) (*wazion.ProductSearch, error) {
	f.record(req)
	if f.products != nil {
		return f.products(ctx, req)
	}
	return &wazion.ProductSearch{Products: []wazion.Product{{Title: f.name}}}, nil
}

func (f *fakeBackend) GlobalSearch(ctx context.Context, req wazion.Request) (*wazion.GlobalSearchResponse, error) {
	f.record(req)
	if f.globalSearch != nil {
		return f.globalSearch(ctx, req)
	}
	return &wazion.GlobalSearchResponse{Found: true, Customers: []wazion.GlobalCustomer{{ID: "1", Name: f.name, Phone: "+34600000001"}}}, nil
}

const (
	tokenA = "token-aaaaaaaaaaaaaaaa"
	tokenB = "token-bbbbbbbbbbbbbbbb"
)

// newApp serves the WAzion routes for the given tenants.
func newApp(t *testing.T, opts wazion.Options, tenants ...wazion.Tenant) *fiber.App {
	t.Helper()
	ts, err := wazion.NewTenants(tenants)
	if err != nil {
		t.Fatalf("NewTenants: %v", err)
	}
	srv := wazion.NewServer(ts, opts)
	app := fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true}))
	srv.Routes(app)
	return app
}

// oneStore is an app with a single store "A" answering with fake.
func oneStore(t *testing.T, fake *fakeBackend, opts wazion.Options) *fiber.App {
	t.Helper()
	return newApp(t, opts, wazion.Tenant{Name: "A", Tokens: []string{tokenA}, Backend: fake})
}

// answer is a WAzion response, already checked for the transport rules.
type answer struct {
	raw  []byte
	json map[string]any
	took time.Duration
}

func (a answer) str(key string) string {
	s, _ := a.json[key].(string)
	return s
}

func (a answer) list(key string) []any {
	l, _ := a.json[key].([]any)
	return l
}

// do sends req and checks what every answer on these routes must be: 200,
// JSON content type, a valid JSON object.
func do(t *testing.T, app *fiber.App, req *http.Request) answer {
	t.Helper()
	start := time.Now()
	resp, err := app.Test(req, 5000)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	took := time.Since(start)
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d, want 200; body %s", req.Method, req.URL, resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); ct != wazion.ContentTypeJSON {
		t.Fatalf("%s %s: Content-Type %q, want %q", req.Method, req.URL, ct, wazion.ContentTypeJSON)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %v; body %q", req.Method, req.URL, err, raw)
	}
	return answer{raw: raw, json: m, took: took}
}

func get(target string) *http.Request {
	return httptest.NewRequest(http.MethodGet, target, nil)
}

func postJSON(target, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func postForm(target string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// kv is an ordered list of form fields, so repeated keys keep their order.
type kv [][2]string

func (f kv) values() url.Values {
	v := url.Values{}
	for _, p := range f {
		v.Add(p[0], p[1])
	}
	return v
}

func postMultipart(t *testing.T, target string, fields kv) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	// A file part must be ignored, whatever its name.
	fw, err := w.CreateFormFile("phone", "phone.txt")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write([]byte("+10000000000"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, target, &buf)
	r.Header.Set("Content-Type", w.FormDataContentType())
	return r
}

// logBuffer collects JSON log lines safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func newLogger(l *logBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// observation is one ObserveRequest call.
type observation struct {
	endpoint, store, outcome string
	d                        time.Duration
}

type recordingObserver struct {
	mu  sync.Mutex
	obs []observation
}

func (o *recordingObserver) ObserveRequest(endpoint, store, outcome string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.obs = append(o.obs, observation{endpoint, store, outcome, d})
}

func (o *recordingObserver) last(t *testing.T) observation {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.obs) == 0 {
		t.Fatal("observer was not called")
	}
	return o.obs[len(o.obs)-1]
}

func path(endpoint string) string { return "/wazion/" + endpoint }

// serve runs app on a 127.0.0.1 port, for errors fasthttp raises while
// reading a request, which app.Test reports as a failure even though a
// response was written.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// fasthttp's worker pool looks at its stop channel only between sleeps
	// of MaxIdleWorkerDuration (10 s by default): a short one lets its
	// goroutine end with the test.
	app.Server().MaxIdleWorkerDuration = 10 * time.Millisecond
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = app.Listener(ln)
	}()
	t.Cleanup(func() {
		_ = app.Shutdown()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// doHTTP is do over a real connection.
func doHTTP(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != wazion.ContentTypeJSON {
		t.Fatalf("%s %s: status %d, Content-Type %q", req.Method, req.URL, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("body is not a JSON object: %q", raw)
	}
	return answer{raw: raw, json: m}
}

// clientReq is a POST for an http.Client.
func clientReq(t *testing.T, target, contentType, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", contentType)
	return r
}
