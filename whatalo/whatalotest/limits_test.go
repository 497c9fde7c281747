package whatalotest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

func TestRateLimit(t *testing.T) {
	f := New(nil, WithRateLimit(5))
	for i := 1; i <= 5; i++ {
		r := get(t, f, "/v1/store")
		if r.status != http.StatusOK {
			t.Fatalf("request %d: %d", i, r.status)
		}
		if got := r.header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(5-i) {
			t.Errorf("request %d: remaining %s, want %d", i, got, 5-i)
		}
		if r.header.Get("X-RateLimit-Limit") != "5" {
			t.Errorf("limit header %q", r.header.Get("X-RateLimit-Limit"))
		}
		reset, err := strconv.ParseInt(r.header.Get("X-RateLimit-Reset"), 10, 64)
		if err != nil || reset < time.Now().Unix() || reset > time.Now().Add(61*time.Second).Unix() {
			t.Errorf("reset %q is not a unix time within the window", r.header.Get("X-RateLimit-Reset"))
		}
	}
	for i := 0; i < 3; i++ {
		r := get(t, f, "/v1/customers")
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("request %d over the limit: %d", 6+i, r.status)
		}
		e := r.errorBody(t)
		ra, err := strconv.Atoi(r.header.Get("Retry-After"))
		if e.Code != "RATE_LIMITED" || err != nil || ra < 1 || ra > 60 || !strings.Contains(e.Message, "Try again in "+strconv.Itoa(ra)+" seconds") {
			t.Errorf("429: %s, Retry-After %q", r.raw, r.header.Get("Retry-After"))
		}
		if r.header.Get("X-RateLimit-Remaining") != "0" {
			t.Errorf("429 remaining = %s", r.header.Get("X-RateLimit-Remaining"))
		}
	}
	// Another key has its own window.
	g := New(nil, WithRateLimit(5), WithAPIKeys(DefaultAPIKey, "wk_test_other"))
	for range 5 {
		get(t, g, "/v1/store")
	}
	if r := call(t, g, http.MethodGet, "/v1/store", "wk_test_other", ""); r.status != http.StatusOK {
		t.Errorf("second key limited by the first's requests: %d", r.status)
	}

	st := f.Stats()
	if st.Total != 8 || st.RateLimited != 3 || st.MaxPerMinute != 8 {
		t.Errorf("stats = %+v, want total 8, rate_limited 3, max_per_minute 8 (429s count)", st)
	}
	f.Reset()
	if st := f.Stats(); st.Total != 0 || st.MaxPerMinute != 0 || len(st.PerRoute) != 0 {
		t.Errorf("stats after reset = %+v", st)
	}
	if r := get(t, f, "/v1/store"); r.status != http.StatusOK {
		t.Errorf("after Reset: %d", r.status)
	}
}

// TestRateLimitWindowSlides runs in virtual time (synctest): the window
// frees its slots after exactly its length.
func TestRateLimitWindowSlides(t *testing.T) { synctest.Test(t, testRateLimitWindowSlides) }

func testRateLimitWindowSlides(t *testing.T) {
	const window = 150 * time.Millisecond
	f := New(nil, WithRateLimit(3), WithWindow(window))
	for range 3 {
		get(t, f, "/v1/store")
	}
	if r := get(t, f, "/v1/store"); r.status != http.StatusTooManyRequests {
		t.Fatalf("4th request: %d", r.status)
	}
	time.Sleep(window)
	if r := get(t, f, "/v1/store"); r.status != http.StatusOK || r.header.Get("X-RateLimit-Remaining") != "2" {
		t.Fatalf("after the window: %d remaining %s", r.status, r.header.Get("X-RateLimit-Remaining"))
	}
	// max_per_minute is the busiest window, not the total.
	if st := f.Stats(); st.Total != 5 || st.MaxPerMinute != 4 {
		t.Errorf("stats = %+v, want total 5, max_per_minute 4", st)
	}
}

func TestFaultErrorTimesAndRoutes(t *testing.T) {
	f := New(nil)
	f.SetFaults(Faults{ErrorRate: 1, Times: 2, Routes: []string{"GET /v1/customers"}})
	if r := get(t, f, "/v1/store"); r.status != http.StatusOK {
		t.Errorf("fault applied to another route: %d", r.status)
	}
	for i := 0; i < 2; i++ {
		r := get(t, f, "/v1/customers")
		if r.status != http.StatusServiceUnavailable || r.errorBody(t).Code != "SERVICE_UNAVAILABLE" || r.header.Get("X-RateLimit-Limit") == "" {
			t.Errorf("faulty request %d: %d %s", i, r.status, r.raw)
		}
	}
	if r := get(t, f, "/v1/customers"); r.status != http.StatusOK {
		t.Errorf("after Times ran out: %d", r.status)
	}
	if f.CurrentFaults().active() {
		t.Error("faults not cleared after Times")
	}

	f.SetFaults(Faults{ErrorRate: 1, ErrorStatus: 500, Routes: []string{"/v1/orders/{id}"}})
	for range 3 {
		if r := get(t, f, "/v1/orders/819365047283"); r.status != http.StatusInternalServerError {
			t.Errorf("ErrorStatus 500 until reset: %d", r.status)
		}
	}
	f.Reset()
	if r := get(t, f, "/v1/orders/819365047283"); r.status != http.StatusOK {
		t.Errorf("after Reset: %d", r.status)
	}

	g := New(nil, WithRateLimit(1000))
	g.SetFaults(Faults{ErrorRate: 0.5})
	failed := 0
	for range 200 {
		if get(t, g, "/v1/store").status == http.StatusServiceUnavailable {
			failed++
		}
	}
	if failed < 60 || failed > 140 {
		t.Errorf("error_rate 0.5 failed %d of 200", failed)
	}
}

func TestFaultStormAndMalformed(t *testing.T) {
	f := New(nil)
	f.SetFaults(Faults{RateLimitStorm: true, RetryAfter: 3})
	r := get(t, f, "/v1/customers")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "3" || r.errorBody(t).Code != "RATE_LIMITED" ||
		r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("storm: %d %v %s", r.status, r.header, r.raw)
	}
	if f.Stats().RateLimited != 1 {
		t.Errorf("storm 429 not counted: %+v", f.Stats())
	}
	f.SetFaults(Faults{MalformedJSON: true, Times: 1})
	r = get(t, f, "/v1/customers")
	if r.status != http.StatusOK || json.Valid(r.raw) || len(r.raw) == 0 {
		t.Errorf("malformed: %d valid=%v", r.status, json.Valid(r.raw))
	}
	if r := get(t, f, "/v1/customers"); !json.Valid(r.raw) {
		t.Error("malformed after Times 1")
	}
}

func TestFaultsOverHTTP(t *testing.T) {
	s := NewServer(t, nil)
	client := s.Client()
	apiGet := func(ctx context.Context, path string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.APIURL+path, nil)
		req.Header.Set("X-API-Key", s.APIKey)
		return client.Do(req)
	}
	post := func(path, body string) *http.Response {
		resp, err := client.Post(s.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post("/_fake/faults", `{"truncated_body": true, "times": 1}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("set faults: %d", resp.StatusCode)
	}
	resp, err := apiGet(context.Background(), "/customers")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || int64(len(body)) >= resp.ContentLength {
		t.Errorf("truncated body: read %d of %d bytes, err %v", len(body), resp.ContentLength, err)
	}

	if resp := post("/_fake/faults", `{"hang": true}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("set hang: %d", resp.StatusCode)
	}
	// How long a hang lasts, and that Reset ends one, is checked in
	// virtual time by TestHangEnds.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err = apiGet(ctx, "/store")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: err %v, want the client's deadline", err)
	}

	post("/_fake/reset", "")
	if resp, err := apiGet(context.Background(), "/store"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("after reset: %v", err)
	} else {
		resp.Body.Close()
	}

	if resp := post("/_fake/faults", `{"error_rate": 2}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad faults accepted: %d", resp.StatusCode)
	}
	if resp := post("/_fake/faults", `{"latncy": "1s"}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("misspelt fault accepted: %d", resp.StatusCode)
	}
	resp, err = client.Get(s.URL + "/_fake/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Total != 1 || st.PerRoute["GET /v1/store"] != 1 {
		t.Errorf("stats after reset and one request = %+v", st)
	}
}

// TestHangEnds runs in virtual time (synctest) against the fake served in
// memory: a hung request ends at its client's deadline to the nanosecond,
// or when the fake is reset over its control route.
func TestHangEnds(t *testing.T) { synctest.Test(t, testHangEnds) }

func testHangEnds(t *testing.T) {
	s := NewMemoryServer(t, nil)
	client := s.Client()
	apiGet := func(ctx context.Context, path string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.APIURL+path, nil)
		req.Header.Set("X-API-Key", s.APIKey)
		return client.Do(req)
	}
	s.SetFaults(Faults{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	start := time.Now()
	_, err := apiGet(ctx, "/store")
	cancel()
	if el := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || el != 100*time.Millisecond {
		t.Errorf("hang: err %v after %s, want the deadline after 100ms", err, el)
	}

	// Reset ends a request that hangs.
	done := make(chan int, 1)
	go func() {
		resp, err := apiGet(context.Background(), "/store")
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	synctest.Wait() // the request is hung in the fake
	resp, err := client.Post(s.URL+"/_fake/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	synctest.Wait()
	select {
	case code := <-done:
		if code != http.StatusServiceUnavailable {
			t.Errorf("released hang answered %d", code)
		}
	default:
		t.Fatal("Reset did not end the hung request")
	}
}

func TestLatencyRespectsCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewMemoryServer(t, nil, WithLatency(5*time.Second))
		ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.APIURL+"/store", nil)
		req.Header.Set("X-API-Key", s.APIKey)
		start := time.Now()
		_, err := s.Client().Do(req)
		// In virtual time a handler that slept on would show as 5 s.
		if el := time.Since(start); err == nil || el != 80*time.Millisecond {
			t.Fatalf("latency ignored cancellation: err %v after %s, want an error at the 80ms deadline", err, el)
		}

		// Whatalo counts a request when it arrives: the abandoned one used a
		// slot of the key's minute.
		if st := s.Fake.Stats(); st.MaxPerMinute != 1 {
			t.Errorf("abandoned request: max_per_minute %d, want 1", st.MaxPerMinute)
		}

		f := New(nil)
		f.SetFaults(Faults{Latency: Duration(30 * time.Millisecond), Times: 1})
		start = time.Now()
		get(t, f, "/v1/store")
		if d := time.Since(start); d != 30*time.Millisecond {
			t.Errorf("latency fault took %s, want 30ms", d)
		}
	})
}

func TestDurationJSON(t *testing.T) {
	var ft Faults
	if err := json.Unmarshal([]byte(`{"latency":"250ms"}`), &ft); err != nil || time.Duration(ft.Latency) != 250*time.Millisecond {
		t.Errorf("string: %v %v", ft.Latency, err)
	}
	if err := json.Unmarshal([]byte(`{"latency":40}`), &ft); err != nil || time.Duration(ft.Latency) != 40*time.Millisecond {
		t.Errorf("number: %v %v", ft.Latency, err)
	}
	if err := json.Unmarshal([]byte(`{"latency":"soon"}`), &ft); err == nil {
		t.Error("bad duration accepted")
	}
	b, _ := json.Marshal(Faults{Latency: Duration(2 * time.Second)})
	if !strings.Contains(string(b), `"latency":"2s"`) {
		t.Errorf("marshal: %s", b)
	}
}

// receiver records one webhook delivery.
type receiver struct {
	mu     sync.Mutex
	header http.Header
	body   []byte
	status int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.header = r.Header.Clone()
	rc.body, _ = io.ReadAll(r.Body)
	w.WriteHeader(rc.status)
}

func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func TestEmitSignsDeliveries(t *testing.T) {
	rc := &receiver{status: http.StatusNoContent}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	s := NewServer(t, nil)

	req := `{"url":"` + hook.URL + `","secret":"s3cret","event":"customer.updated","data":{"id":"365047281936","phone":"+18095551234"},"id":"dlv_1"}`
	resp, err := s.Client().Post(s.URL+"/_fake/emit", "application/json", strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Status    int
		Delivered bool
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if out.Status != http.StatusNoContent || !out.Delivered {
		t.Fatalf("emit answered %+v", out)
	}
	rc.mu.Lock()
	h, body := rc.header, string(rc.body)
	rc.mu.Unlock()
	ts := h.Get("X-Webhook-Timestamp")
	if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || time.Since(time.Unix(sec, 0)) > time.Minute {
		t.Errorf("timestamp %q", ts)
	}
	if got, want := h.Get("X-Webhook-Signature"), hmacHex("s3cret", ts+"."+body); got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
	if h.Get("X-Webhook-Id") != "dlv_1" || h.Get("X-Webhook-Event") != "customer.updated" || h.Get("X-Whatalo-Signature") != "" {
		t.Errorf("headers %v", h)
	}
	var b struct {
		DeliveryID string            `json:"delivery_id"`
		EventID    string            `json:"event_id"`
		Customer   map[string]string `json:"customer"`
		Store      map[string]string `json:"store"`
		OccurredAt time.Time         `json:"occurred_at"`
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil || b.DeliveryID != "dlv_1" || b.EventID != "365047281936" ||
		b.Customer["phone"] != "+18095551234" || b.Store["id"] != "str_demo01" || b.OccurredAt.IsZero() {
		t.Errorf("body %s (%v)", body, err)
	}

	// Legacy contract: HMAC of the raw body, no timestamp.
	rc.status = http.StatusOK
	code, err := s.Emit(context.Background(), Delivery{URL: hook.URL, Secret: "old", Event: "order.created",
		Data: json.RawMessage(`{"id":"819365047283","status":"pending"}`), Legacy: true})
	if err != nil || code != http.StatusOK {
		t.Fatalf("legacy emit: %d %v", code, err)
	}
	rc.mu.Lock()
	h, body = rc.header, string(rc.body)
	rc.mu.Unlock()
	if h.Get("X-Whatalo-Signature") != hmacHex("old", body) || h.Get("X-Webhook-Signature") != "" {
		t.Errorf("legacy signature headers %v", h)
	}
	var lb struct {
		Event string
		Data  map[string]string
	}
	if json.Unmarshal([]byte(body), &lb); lb.Event != "order.created" || lb.Data["id"] != "819365047283" {
		t.Errorf("legacy body %s", body)
	}

	// A given body and timestamp are sent as they are, e.g. to test replays.
	old := time.Now().Add(-time.Hour).Unix()
	if _, err := s.Emit(context.Background(), Delivery{URL: hook.URL, Secret: "k", Event: "checkout.abandoned",
		Body: json.RawMessage(`{"raw":true}`), Timestamp: old}); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if string(rc.body) != `{"raw":true}` || rc.header.Get("X-Webhook-Timestamp") != strconv.FormatInt(old, 10) ||
		rc.header.Get("X-Webhook-Signature") != hmacHex("k", strconv.FormatInt(old, 10)+"."+string(rc.body)) {
		t.Errorf("verbatim body %s, headers %v", rc.body, rc.header)
	}
}

func TestConcurrentReadsAndWrites(t *testing.T) {
	f := New(Generate(2000, 1), WithRateLimit(100000))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				switch (w + i) % 4 {
				case 0:
					f.UpsertCustomer(whatalo.Customer{Name: "Concurrente", Phone: "+1809000" + strconv.Itoa(w*100+i)})
				case 1:
					get(t, f, "/v1/customers?sort=updated_at&per_page=50")
				case 2:
					get(t, f, "/v1/orders?search=concurrente")
				case 3:
					call(t, f, http.MethodPost, "/v1/customers", DefaultAPIKey, `{"name":"Concurrente"}`)
				}
			}
		}()
	}
	wg.Wait()
	_, pg := get(t, f, "/v1/customers?search=concurrente&per_page=1").customers(t)
	if pg.Total != 200 {
		t.Errorf("created %d concurrent customers, want 200", pg.Total)
	}
}

func TestIndexSyncOverGeneratedStore(t *testing.T) {
	seed := Generate(5000, 2)
	f := New(seed)
	seen := map[string]bool{}
	var last time.Time
	for page := 1; ; page++ {
		cs, pg := get(t, f, "/v1/customers?sort=updated_at&order=asc&per_page=100&page="+strconv.Itoa(page)).customers(t)
		for _, c := range cs {
			if c.UpdatedAt.Before(last) {
				t.Fatalf("updated_at asc out of order at %s", c.ID)
			}
			last = c.UpdatedAt
			seen[c.ID] = true
		}
		if page >= pg.TotalPages {
			break
		}
	}
	if len(seen) != len(seed.Customers) {
		t.Errorf("paging saw %d of %d customers", len(seen), len(seed.Customers))
	}
	c := seed.Customers[1234]
	if c.Phone == "" {
		c = seed.Customers[1235]
	}
	digits := digitsOf(c.Phone)
	cs, _ := get(t, f, "/v1/customers?search="+digits[len(digits)-10:]).customers(t)
	found := false
	for _, x := range cs {
		found = found || x.ID == c.ID
	}
	if !found {
		t.Errorf("search by the last 10 digits of %q missed %s", c.Phone, c.ID)
	}
	if cs, _ := get(t, f, "/v1/orders?per_page=1&customer_id="+c.ID).orders(t); c.OrdersCount > 0 && (len(cs) != 1 || cs[0].CustomerID != c.ID) {
		t.Errorf("orders of %s: %+v", c.Name, cs)
	}
}
