package adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// Demo store customers the tests look up.
const (
	ixMaria      = "365047281936" // +18095551234, maria.garcia@example.com, 3 orders
	ixMariaPhone = "+18095551234"
	ixMariaEmail = "maria.garcia@example.com"
	ixAnaPhone   = "809-555-7777" // national form in the store
	ixSecret     = "whsec_test_0123456789abcdef"
)

// ixObserver records what a Backend reports to its Observer.
type ixObserver struct {
	mu       sync.Mutex
	webhooks map[string]int // "event/result"
	syncs    int
	last     [2]int // customers, keys
}

func (o *ixObserver) ObserveWebhook(store, event, result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.webhooks == nil {
		o.webhooks = map[string]int{}
	}
	o.webhooks[event+"/"+result]++
}

func (o *ixObserver) ObserveIndex(store string, customers, keys int, lastSync time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.syncs++
	o.last = [2]int{customers, keys}
}

func (o *ixObserver) webhook(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.webhooks[key]
}

func (o *ixObserver) indexCalls() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.syncs
}

// ixClock is a settable Options.Now.
type ixClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *ixClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *ixClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// ixEnv is a Backend over the demo store in the fake, with a webhook
// receiver in front of it.
type ixEnv struct {
	fake  *whatalotest.Server
	b     *Backend
	obs   *ixObserver
	clock *ixClock
	hook  string // webhook receiver URL
}

func newIxEnv(t *testing.T, edit func(*Options)) *ixEnv {
	t.Helper()
	return newIxEnvOn(t, whatalotest.NewServer(t, nil, whatalotest.WithRateLimit(100000)), nil, edit)
}

// newIxEnvOn is newIxEnv over a given fake, with up (if not nil) observing
// the client: replicas of one store share the fake.
func newIxEnvOn(t *testing.T, fake *whatalotest.Server, up whatalo.Observer, edit func(*Options)) *ixEnv {
	t.Helper()
	client, err := whatalo.NewClient(fake.APIKey, whatalo.WithBaseURL(fake.APIURL),
		whatalo.WithLimiter(whatalo.NewLimiter(100000, 0.5)), whatalo.WithRetryMax(0), whatalo.WithObserver(up))
	if err != nil {
		t.Fatal(err)
	}
	e := &ixEnv{fake: fake, obs: &ixObserver{}, clock: &ixClock{}}
	opts := Options{
		Name: "demo", Region: "DO", WebhookSecret: ixSecret, Observer: e.obs, Now: e.clock.Now,
		// Long intervals: only the first build runs unless a test asks.
		Index: IndexOptions{RefreshInterval: time.Hour, RebuildInterval: 10 * time.Hour, PageSize: 5},
	}
	if edit != nil {
		edit(&opts)
	}
	e.b = New(client, opts)
	t.Cleanup(e.b.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 2*whatalo.MaxWebhookBody))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_, err = e.b.HandleWebhook(r.Context(), r.Header, body)
		switch {
		case errors.Is(err, whatalo.ErrWebhookSignature), errors.Is(err, whatalo.ErrWebhookStale):
			w.WriteHeader(http.StatusUnauthorized)
		case errors.Is(err, whatalo.ErrWebhookPayload):
			w.WriteHeader(http.StatusBadRequest)
		case err != nil:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	e.hook = srv.URL + "/webhooks/whatalo/demo"
	return e
}

// run starts Run and returns a function that stops it and waits for it.
func (e *ixEnv) run(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.b.Run(ctx)
		close(done)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// runReady starts Run and waits for the first build and the order feed.
func (e *ixEnv) runReady(t *testing.T) (stop func()) {
	t.Helper()
	stop = e.run(t)
	ixWait(t, "index ready", func() bool { return e.b.IndexStatus().State == IndexReady })
	// The order feed's first poll follows the index; until it, order lists
	// are cached under another kind, so wait for it too: a test starts
	// from the state a running service stays in.
	ixWait(t, "order feed live", func() bool {
		return !e.b.feedEnabled() || e.b.feed.live(e.b.now(), 3*e.b.feedInterval())
	})
	return stop
}

// customerRequests counts the customer list and get calls the fake served.
func (e *ixEnv) customerRequests() int64 {
	s := e.fake.Stats()
	return s.PerRoute["GET /v1/customers"] + s.PerRoute["GET /v1/customers/{id}"]
}

func (e *ixEnv) info(t *testing.T, phone string) *wazion.CustomerInfoResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := e.b.CustomerInfo(ctx, wazion.Request{Phone: phone})
	if err != nil {
		t.Fatalf("CustomerInfo(%s): %v", phone, err)
	}
	return resp
}

func ixWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func names(cs []whatalo.Customer) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

func TestIndexOptionsDefaults(t *testing.T) {
	o := IndexOptions{}.withDefaults()
	if o.RefreshInterval != time.Minute || o.RebuildInterval != 6*time.Hour || o.PageSize != 100 || o.MaxAge != 3*time.Minute {
		t.Errorf("defaults = %+v", o)
	}
	o = IndexOptions{RefreshInterval: time.Second, PageSize: 500}.withDefaults()
	if o.MaxAge != 3*time.Second || o.PageSize != 100 {
		t.Errorf("derived = %+v", o)
	}
}

func TestIndexBuildMakesLookupsUpstreamFree(t *testing.T) {
	e := newIxEnv(t, nil)
	stop := e.runReady(t)
	stop() // no background calls from here on
	st := e.b.IndexStatus()
	if want := len(whatalotest.DemoSeed().Customers); st.Customers != want {
		t.Fatalf("indexed %d customers, want %d", st.Customers, want)
	}
	if st.Keys <= st.Customers/2 || st.LastSync.IsZero() || st.LastError != "" {
		t.Errorf("status = %+v", st)
	}
	if e.obs.indexCalls() == 0 {
		t.Error("Observer.ObserveIndex not called after the build")
	}

	ctx := context.Background()
	before := e.fake.Stats().Total
	cases := []struct {
		phone string
		want  []string
	}{
		{ixMariaPhone, []string{"María García"}},
		{"whatsapp:+1 (809) 555-7777", []string{"Ana López"}}, // stored as 809-555-7777
		{"+5215512345678", []string{"Luis Hernández"}},        // WhatsApp's Mexican form of +525512345678
		{"+18095550000", []string{"Rosa Martínez", "Pedro Martínez"}},
		{"+18095559999", nil}, // unknown: "not found" from the index too
	}
	for _, c := range cases {
		got, err := e.b.customersByPhones(ctx, []string{c.phone})
		if err != nil {
			t.Fatalf("%s: %v", c.phone, err)
		}
		if fmt.Sprint(names(got)) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.phone, names(got), c.want)
		}
	}
	got, err := e.b.customersByEmail(ctx, "  MARIA.Garcia@example.com ")
	if err != nil || len(got) != 1 || got[0].ID != ixMaria {
		t.Errorf("email lookup = %v, %v", names(got), err)
	}
	if got, _ := e.b.customersByEmail(ctx, "nobody@example.com"); len(got) != 0 {
		t.Errorf("unknown email found %v", names(got))
	}
	resp := e.info(t, "+18095559999")
	if resp.Found {
		t.Errorf("unknown phone found: %+v", resp.Customers)
	}
	if after := e.fake.Stats().Total; after != before {
		t.Errorf("lookups made %d upstream calls with the index ready", after-before)
	}
}

// The index must give the answers search gives, in the same order.
func TestIndexAgreesWithSearch(t *testing.T) {
	indexed := newIxEnv(t, nil)
	indexed.runReady(t)
	searched := newIxEnv(t, func(o *Options) { o.Index.Disabled = true })
	for _, phone := range []string{ixMariaPhone, ixAnaPhone, "+573001234567", "+18095550000", "+541123456789", "+5491123456789", "+34612345678", "+18095552001"} {
		a, err := indexed.b.customersByPhones(context.Background(), []string{phone})
		if err != nil {
			t.Fatal(err)
		}
		b, err := searched.b.customersByPhones(context.Background(), []string{phone})
		if err != nil {
			t.Fatal(err)
		}
		if len(a) == 0 || fmt.Sprint(names(a)) != fmt.Sprint(names(b)) {
			t.Errorf("%s: index %v, search %v", phone, names(a), names(b))
		}
	}
	if s := searched.b.IndexStatus().State; s != IndexDisabled {
		t.Errorf("disabled index state = %q", s)
	}
}

func TestLookupBeforeReadyFallsBackToSearch(t *testing.T) {
	e := newIxEnv(t, nil) // Run not started: the index never builds
	if s := e.b.IndexStatus().State; s != IndexBuilding {
		t.Fatalf("state = %q, want building", s)
	}
	before := e.customerRequests()
	resp := e.info(t, ixMariaPhone)
	if !resp.Found || resp.Customers[0].Name != "María García" {
		t.Fatalf("answer = %+v", resp)
	}
	if e.customerRequests() == before {
		t.Error("no customer search before the index was ready")
	}
}

func TestIndexIncrementalRefresh(t *testing.T) {
	e := newIxEnv(t, func(o *Options) {
		o.Index.RefreshInterval = 20 * time.Millisecond
		o.Index.MaxAge = time.Hour // lookups never fall back: changes can only come from syncs
	})
	e.runReady(t)
	c, _ := e.fake.Customer(ixMaria)
	c.Name, c.Phone = "María Renamed", "+18095556666"
	e.fake.UpsertCustomer(c)
	newc := e.fake.UpsertCustomer(whatalo.Customer{Name: "Nueva Clienta", Phone: "829-555-0101", Email: "Nueva@Example.com"})

	ctx := context.Background()
	ixWait(t, "renamed customer under the new phone", func() bool {
		got, _ := e.b.customersByPhones(ctx, []string{"+18095556666"})
		return len(got) == 1 && got[0].Name == "María Renamed"
	})
	if got, _ := e.b.customersByPhones(ctx, []string{ixMariaPhone}); len(got) != 0 {
		t.Errorf("old phone still finds %v", names(got))
	}
	ixWait(t, "new customer", func() bool {
		got, _ := e.b.customersByEmail(ctx, "nueva@example.com")
		return len(got) == 1 && got[0].ID == newc.ID
	})
	if st := e.b.IndexStatus(); st.State != IndexReady || st.LastError != "" {
		t.Errorf("status = %+v", st)
	}
}

func TestIndexRebuildDropsDeletedCustomers(t *testing.T) {
	ctx := context.Background()
	// Refreshes alone cannot see a deletion.
	e := newIxEnv(t, func(o *Options) {
		o.Index.RefreshInterval = 10 * time.Millisecond
		o.Index.MaxAge = time.Hour
	})
	e.runReady(t)
	e.fake.DeleteCustomer(ixMaria)
	calls := e.obs.indexCalls()
	ixWait(t, "three refreshes", func() bool { return e.obs.indexCalls() >= calls+3 })
	if got, _ := e.b.customersByPhones(ctx, []string{ixMariaPhone}); len(got) != 1 {
		t.Fatalf("before a rebuild: found %v, want the deleted customer still indexed", names(got))
	}

	// A rebuild does.
	e = newIxEnv(t, func(o *Options) {
		o.Index.RefreshInterval = 10 * time.Millisecond
		o.Index.RebuildInterval = 30 * time.Millisecond
		o.Index.MaxAge = time.Hour
	})
	e.runReady(t)
	n := e.b.IndexStatus().Customers
	e.fake.DeleteCustomer(ixMaria)
	ixWait(t, "deleted customer gone", func() bool {
		got, _ := e.b.customersByPhones(ctx, []string{ixMariaPhone})
		return len(got) == 0
	})
	if got := e.b.IndexStatus().Customers; got != n-1 {
		t.Errorf("indexed %d customers after the rebuild, want %d", got, n-1)
	}
	if got, _ := e.b.customersByEmail(ctx, ixMariaEmail); len(got) != 0 {
		t.Errorf("email still finds %v", names(got))
	}
}

// pageHook counts upstream requests and runs fn once, after the next
// customer list page it is armed for.
type pageHook struct {
	*countingObserver
	mu    sync.Mutex
	armed bool
	fn    func()
}

func (h *pageHook) ObserveRequest(route string, status int, d time.Duration) {
	h.countingObserver.ObserveRequest(route, status, d)
	h.mu.Lock()
	fire := h.armed && route == "GET /customers" && status == http.StatusOK
	if fire {
		h.armed = false
	}
	h.mu.Unlock()
	if fire {
		h.fn()
	}
}

// A customer deleted while a rebuild pages through moves every later
// customer up one place: the first customer of the next page slips onto
// the page already read. The rebuild must not drop that customer.
func TestIndexRebuildKeepsCustomerSkippedByPageShift(t *testing.T) {
	ctx := context.Background()
	fake := whatalotest.NewServer(t, nil, whatalotest.WithRateLimit(100000))
	hook := &pageHook{countingObserver: &countingObserver{routes: map[string]int{}, cache: map[string]int{}}}
	e := newIxEnvOn(t, fake, hook, nil) // pages of 5
	if err := e.b.buildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	n := e.b.IndexStatus().Customers

	order, _, err := e.b.client.Customers.List(ctx, &whatalo.CustomerListOptions{
		Sort: whatalo.CustomerSortUpdatedAt, Order: whatalo.SortDesc, PerPage: 6,
	})
	if err != nil || len(order) != 6 {
		t.Fatalf("list: %v (%d customers)", err, len(order))
	}
	deleted, skipped := order[0], order[5] // first of page 1, first of page 2
	hook.mu.Lock()
	hook.armed, hook.fn = true, func() { fake.DeleteCustomer(deleted.ID) }
	hook.mu.Unlock()
	gets := hook.route("GET /customers/{id}")
	if err := e.b.buildIndex(ctx); err != nil {
		t.Fatal(err)
	}

	if e.b.index.get(skipped.ID) == nil {
		t.Fatalf("customer %s, skipped by the page shift, left the index", skipped.Name)
	}
	if got := hook.route("GET /customers/{id}") - gets; got != 1 {
		t.Errorf("rebuild asked for %d customers one by one, want 1 (the skipped one)", got)
	}
	// The deleted customer was listed before it went; the next rebuild
	// does not list it, asks, and drops it.
	if err := e.b.buildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if e.b.index.get(deleted.ID) != nil {
		t.Errorf("deleted customer %s still indexed after a second rebuild", deleted.Name)
	}
	if e.b.index.get(skipped.ID) == nil {
		t.Errorf("customer %s left the index on the second rebuild", skipped.Name)
	}
	if got := e.b.IndexStatus().Customers; got != n-1 {
		t.Errorf("indexed %d customers, want %d", got, n-1)
	}
	if got := hook.route("GET /customers/{id}") - gets; got != 2 {
		t.Errorf("two rebuilds asked for %d customers one by one, want 2", got)
	}
}

// After a mass deletion a rebuild asks for at most maxMissingChecks
// customers one by one and drops the rest without asking.
func TestIndexRebuildBoundsItsChecks(t *testing.T) {
	ctx := context.Background()
	fake := whatalotest.NewServer(t, nil, whatalotest.WithRateLimit(100000))
	hook := &pageHook{countingObserver: &countingObserver{routes: map[string]int{}, cache: map[string]int{}}}
	e := newIxEnvOn(t, fake, hook, nil)
	if err := e.b.buildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	n := e.b.IndexStatus().Customers
	gone := maxMissingChecks + 5
	for _, c := range whatalotest.DemoSeed().Customers[:gone] {
		fake.DeleteCustomer(c.ID)
	}
	gets := hook.route("GET /customers/{id}")
	if err := e.b.buildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hook.route("GET /customers/{id}") - gets; got != maxMissingChecks {
		t.Errorf("rebuild asked for %d customers one by one, want %d", got, maxMissingChecks)
	}
	if got := e.b.IndexStatus().Customers; got != n-gone {
		t.Errorf("indexed %d customers, want %d", got, n-gone)
	}
}

func TestStaleIndexFallsBack(t *testing.T) {
	e := newIxEnv(t, func(o *Options) { o.Index.MaxAge = time.Minute })
	stop := e.runReady(t)
	stop()
	before := e.customerRequests()
	e.info(t, "+18095559999")
	if e.customerRequests() != before {
		t.Fatal("fresh index went upstream")
	}
	e.clock.Advance(2 * time.Minute)
	if st := e.b.IndexStatus(); st.State != IndexStale {
		t.Fatalf("state = %q, want stale", st.State)
	}
	resp := e.info(t, ixMariaPhone)
	if !resp.Found {
		t.Fatal("not found by search")
	}
	if e.customerRequests() == before {
		t.Error("stale index answered without searching")
	}
}

func TestIndexFailedSyncKeepsIndex(t *testing.T) {
	e := newIxEnv(t, func(o *Options) {
		o.Index.RefreshInterval = 20 * time.Millisecond
		o.Index.MaxAge = time.Hour
	})
	e.runReady(t)
	e.fake.SetFaults(whatalotest.Faults{ErrorRate: 1, ErrorStatus: 500, Routes: []string{"GET /v1/customers"}})
	ixWait(t, "a failed refresh", func() bool { return e.b.IndexStatus().LastError != "" })
	st := e.b.IndexStatus()
	if st.State != IndexReady {
		t.Errorf("state = %q after a failed refresh, want ready", st.State)
	}
	got, err := e.b.customersByPhones(context.Background(), []string{ixMariaPhone})
	if err != nil || len(got) != 1 {
		t.Errorf("lookup after a failed refresh = %v, %v", names(got), err)
	}
	e.fake.SetFaults(whatalotest.Faults{})
	ixWait(t, "recovery", func() bool { return e.b.IndexStatus().LastError == "" })
}

func TestIndexFirstBuildFailureThenRetry(t *testing.T) {
	e := newIxEnv(t, func(o *Options) { o.Index.RefreshInterval = 10 * time.Millisecond })
	e.fake.SetFaults(whatalotest.Faults{ErrorRate: 1, ErrorStatus: 503, Routes: []string{"GET /v1/customers"}})
	e.run(t)
	ixWait(t, "failed state", func() bool { return e.b.IndexStatus().State == IndexFailed })
	if got, err := e.b.customersByPhones(context.Background(), []string{ixMariaPhone}); err == nil || len(got) != 0 {
		t.Errorf("lookup with upstream failing and no index = %v, %v; want the search's error", names(got), err)
	}
	e.fake.SetFaults(whatalotest.Faults{})
	ixWait(t, "ready after retry", func() bool { return e.b.IndexStatus().State == IndexReady })
}

func TestIndexWaitsOutRateLimits(t *testing.T) {
	e := newIxEnv(t, nil)
	e.fake.SetFaults(whatalotest.Faults{RateLimitStorm: true, Times: 1, RetryAfter: 1, Routes: []string{"GET /v1/customers"}})
	e.runReady(t)
	st := e.b.IndexStatus()
	if st.LastError != "" || st.Customers == 0 {
		t.Errorf("status after a 429 = %+v; want built with no error", st)
	}
	if e.fake.Stats().RateLimited != 1 {
		t.Errorf("rate limited %d times, want 1", e.fake.Stats().RateLimited)
	}
}

func TestRunDisabledReturnsWithContext(t *testing.T) {
	e := newIxEnv(t, func(o *Options) { o.Index.Disabled = true })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	e.b.Run(ctx)
	if ctx.Err() == nil {
		t.Error("Run returned before its context ended")
	}
	if e.fake.Stats().Total != 0 {
		t.Errorf("disabled index made %d calls", e.fake.Stats().Total)
	}
}

func TestIndexDataPutRemove(t *testing.T) {
	d := newIndexData(0)
	d.put(newIndexed(whatalo.Customer{ID: "1", Phone: "809-555-1234", Email: "A@x.com"}, "DO"))
	d.put(newIndexed(whatalo.Customer{ID: "2", Phone: "+18095551234"}, "DO"))
	if got := d.byPhone.ids("+18095551234"); len(got) != 2 {
		t.Fatalf("ids = %v", got)
	}
	d.put(newIndexed(whatalo.Customer{ID: "1", Phone: "+18095550000", Email: "b@x.com"}, "DO"))
	if got := d.byPhone.ids("+18095551234"); fmt.Sprint(got) != "[2]" {
		t.Errorf("old key ids = %v", got)
	}
	if got := d.byEmail.ids("a@x.com"); len(got) != 0 {
		t.Errorf("old email kept: %v", got)
	}
	if got := d.byEmail.ids("b@x.com"); fmt.Sprint(got) != "[1]" {
		t.Errorf("new email ids = %v", got)
	}
	d.remove("2")
	d.remove("1")
	if len(d.customers) != 0 || d.keys() != 0 {
		t.Errorf("after removing all: %d customers, %d keys", len(d.customers), d.keys())
	}
}

// ixCustomer generates the i-th of many customers, as a list page would
// decode them: every string its own allocation.
func ixCustomer(i int) whatalo.Customer {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	c := whatalo.Customer{
		ID:             fmt.Sprintf("%012d", 400000000000+i),
		Name:           fmt.Sprintf("Cliente Número %d", i),
		Email:          fmt.Sprintf("cliente.%d@example.com", i),
		HasEmail:       true,
		HasPhone:       true,
		DisplayContact: fmt.Sprintf("cliente.%d@example.com", i),
		CreatedAt:      at,
		UpdatedAt:      at,
		OrdersCount:    i % 7,
		TotalSpent:     whatalo.MoneyFromFloat(float64(i%5000) + 0.5),
	}
	switch i % 3 {
	case 0:
		c.Phone = fmt.Sprintf("+1809%07d", i)
	case 1:
		c.Phone = fmt.Sprintf("829-%03d-%04d", i/10000%1000, i%10000)
	default:
		c.Phone = fmt.Sprintf("+57 300 %07d", i)
	}
	if c.OrdersCount > 0 {
		last := at.Add(time.Hour)
		c.LastOrderAt = &last
		c.LastOrderID = fmt.Sprintf("%012d", 700000000000+i)
	}
	return c
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// buildIxData indexes n generated customers and returns the heap it holds.
// Phone keys are made directly: the memory is the same, and normalising
// 100,000 phones would take minutes under the race detector.
func buildIxData(n int) (*indexData, uint64) {
	before := heapInUse()
	d := newIndexData(0)
	for i := range n {
		c := ixCustomer(i)
		e := compact(&c)
		e.emailKey = strings.ToLower(e.email())
		e.phoneKey = ixPhoneKey(i)
		d.put(e)
	}
	after := heapInUse()
	if after < before {
		return d, 0
	}
	return d, after - before
}

// ixPhoneKey is the canonical key of ixCustomer(i)'s phone.
func ixPhoneKey(i int) string {
	switch i % 3 {
	case 0:
		return fmt.Sprintf("+1809%07d", i)
	case 1:
		return fmt.Sprintf("+1829%03d%04d", i/10000%1000, i%10000)
	}
	return fmt.Sprintf("+57300%07d", i)
}

func TestIxPhoneKeyMatchesNormalization(t *testing.T) {
	for _, i := range []int{0, 1, 2, 3, 12345, 99998, 99999} {
		c := ixCustomer(i)
		if got := newIndexed(c, "DO").phoneKey; got != ixPhoneKey(i) {
			t.Errorf("customer %d phone %q: key %q, generated %q", i, c.Phone, got, ixPhoneKey(i))
		}
	}
}

func TestIndexedCustomerRoundTrip(t *testing.T) {
	last := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	cs := []whatalo.Customer{
		ixCustomer(7),
		{ID: "x", Name: "Big", TotalSpent: whatalo.NewMoney("123456789012345678901234.56"), LastOrderAt: &last},
		{ID: "y"},
	}
	for _, c := range cs {
		c.DisplayContact = "" // not kept
		got := newIndexed(c, "DO").customer()
		if !got.TotalSpent.Equal(c.TotalSpent.Decimal) || !got.CreatedAt.Equal(c.CreatedAt) || !got.UpdatedAt.Equal(c.UpdatedAt) ||
			(got.LastOrderAt == nil) != (c.LastOrderAt == nil) || (c.LastOrderAt != nil && !got.LastOrderAt.Equal(*c.LastOrderAt)) {
			t.Errorf("round trip of %+v = %+v", c, got)
		}
		got.TotalSpent, c.TotalSpent = whatalo.Money{}, whatalo.Money{}
		got.CreatedAt, c.CreatedAt, got.UpdatedAt, c.UpdatedAt, got.LastOrderAt, c.LastOrderAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, nil, nil
		if got != c {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, c)
		}
	}
}

func TestIndexMemory100k(t *testing.T) {
	const n = 100_000
	d, heap := buildIxData(n)
	mb := float64(heap) / (1 << 20)
	t.Logf("index of %d customers: %.1f MB heap, %d keys (%.0f bytes per customer)", n, mb, d.keys(), float64(heap)/n)
	if len(d.customers) != n || d.keys() != 2*n {
		t.Errorf("indexed %d customers, %d keys; want %d, %d", len(d.customers), d.keys(), n, 2*n)
	}
	if mb > 80 {
		t.Errorf("index of %d customers holds %.1f MB; want well under 100 MB", n, mb)
	}
	runtime.KeepAlive(d)
}

func BenchmarkIndexBuild100k(b *testing.B) {
	var heap uint64
	for b.Loop() {
		var d *indexData
		d, heap = buildIxData(100_000)
		runtime.KeepAlive(d)
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
}

func BenchmarkIndexLookup(b *testing.B) {
	ix := newPhoneIndex(false)
	d, _ := buildIxData(100_000)
	ix.swap(d, "DO", time.Now(), time.Now())
	now := time.Now()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := ix.lookup(false, fmt.Sprintf("+1809%07d", (i*3)%100_000), now, time.Hour); !ok {
			b.Fatal("index not fresh")
		}
	}
}

func TestIndexJournalKeepsUpdatesMadeDuringBuild(t *testing.T) {
	t1 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	ix := newPhoneIndex(false)
	ix.beginBuild()
	// Webhooks while the build pages: one newer, one older than what the
	// build reads, and a removal.
	ix.upsert(newIndexed(whatalo.Customer{ID: "1", Name: "webhook", Phone: "+18095551234", UpdatedAt: t2}, "DO"))
	ix.upsert(newIndexed(whatalo.Customer{ID: "3", Name: "old webhook", Phone: "+18095553333", UpdatedAt: t1}, "DO"))
	ix.remove("2")
	d := newIndexData(0)
	d.put(newIndexed(whatalo.Customer{ID: "1", Name: "build", Phone: "+18095550000", UpdatedAt: t1}, "DO"))
	d.put(newIndexed(whatalo.Customer{ID: "2", Name: "deleted", Phone: "+18095552222", UpdatedAt: t1}, "DO"))
	d.put(newIndexed(whatalo.Customer{ID: "3", Name: "build", Phone: "+18095554444", UpdatedAt: t2}, "DO"))
	ix.swap(d, "DO", t2, time.Now())

	look := func(key string) string {
		cs, ok := ix.lookup(false, key, time.Now(), time.Hour)
		if !ok {
			t.Fatal("index not fresh after swap")
		}
		return fmt.Sprint(names(cs))
	}
	for key, want := range map[string]string{
		"+18095551234": "[webhook]", "+18095550000": "[]",
		"+18095552222": "[]",
		"+18095554444": "[build]", "+18095553333": "[]",
	} {
		if got := look(key); got != want {
			t.Errorf("%s: %s, want %s", key, got, want)
		}
	}
	if ix.journal != nil {
		t.Error("journal kept after the swap")
	}
}

// Syncs, rebuilds, lookups and webhooks at once: the race detector
// watches, and the index must end consistent.
func TestIndexConcurrentUse(t *testing.T) {
	e := newIxEnv(t, func(o *Options) {
		o.Index.RefreshInterval = 2 * time.Millisecond
		o.Index.RebuildInterval = 15 * time.Millisecond
		o.Index.MaxAge = time.Hour
	})
	e.runReady(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				switch w {
				case 0:
					if _, err := e.b.customersByPhones(ctx, []string{ixMariaPhone, "+18095550000"}); err != nil && ctx.Err() == nil {
						t.Error(err)
						return
					}
				case 1:
					_, _ = e.b.customersByEmail(ctx, ixMariaEmail)
				case 2:
					body := fmt.Appendf(nil, `{"customer":{"id":"%s","name":"María %d","phone":"+18095551234"}}`, ixMaria, i)
					h := signedHeader("customer.updated", fmt.Sprintf("dlv_c_%d", i), time.Now(), body)
					if _, err := e.b.HandleWebhook(ctx, h, body); err != nil {
						t.Error(err)
						return
					}
				case 3:
					c, _ := e.fake.Customer("365047281937")
					c.Name = fmt.Sprintf("Juan %d", i)
					e.fake.UpsertCustomer(c)
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	st := e.b.IndexStatus()
	if want := len(whatalotest.DemoSeed().Customers); st.Customers != want || st.State != IndexReady {
		t.Errorf("status after concurrent use = %+v, want %d customers", st, want)
	}
	cs, err := e.b.customersByPhones(context.Background(), []string{ixMariaPhone})
	if err != nil || len(cs) != 1 {
		t.Errorf("María after concurrent use: %v, %v", names(cs), err)
	}
}
