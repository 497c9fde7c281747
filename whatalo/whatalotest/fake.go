package whatalotest

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// Fake is the fake Whatalo API as an http.Handler. All its methods are safe
// for concurrent use.
type Fake struct {
	cfg     config
	mux     *http.ServeMux
	limiter *limiter
	client  *http.Client // webhook deliveries

	mu          sync.RWMutex
	store       whatalo.Store
	customers   map[string]*customerRec
	custList    []*customerRec // insertion order
	orders      map[string]*orderRec
	orderList   []*orderRec
	products    map[string]*whatalo.Product
	productList []*whatalo.Product
	webhooks    []*webhookRec
	lastID      uint64
	lastNumber  int

	// Sorted views, built on first use and dropped on every write. Readers
	// build them under mu.RLock, so the data cannot change meanwhile.
	idxMu     sync.Mutex
	custIdx   map[string][]*customerRec
	orderIdx  map[string][]*orderRec
	dataEpoch uint64

	statsMu sync.Mutex
	stats   Stats

	faultMu    sync.Mutex
	faults     Faults
	faultsLeft int
	release    chan struct{}
	closed     bool
	rng        *rand.Rand
}

// customerRec is a stored customer with what search and sort need
// precomputed.
type customerRec struct {
	c      whatalo.Customer
	search string // lower(name) \x00 lower(email) \x00 lower(phone)
	digits string // the phone's digits
	orders []*orderRec
}

// orderRec is a stored order. o is replaced, never edited, because seeds
// share their orders with every fake built from them.
type orderRec struct {
	o      *whatalo.Order
	search string // lower(customer name) \x00 lower(email) \x00 lower(phone)
	digits string
}

type webhookRec struct {
	w      whatalo.Webhook
	secret string
}

// New returns a Fake serving seed (nil: DemoSeed()).
func New(seed *Seed, opts ...Option) *Fake {
	if seed == nil {
		seed = DemoSeed()
	}
	cfg := newConfig(opts)
	f := &Fake{
		cfg:       cfg,
		limiter:   newLimiter(cfg.window),
		client:    &http.Client{Timeout: 15 * time.Second},
		store:     seed.Store,
		customers: make(map[string]*customerRec, len(seed.Customers)),
		custList:  make([]*customerRec, 0, len(seed.Customers)),
		orders:    make(map[string]*orderRec, len(seed.Orders)),
		orderList: make([]*orderRec, 0, len(seed.Orders)),
		products:  make(map[string]*whatalo.Product, len(seed.Products)),
		lastID:    900000000000,
		release:   make(chan struct{}),
		rng:       rand.New(rand.NewPCG(1, 2)),
		stats:     Stats{PerRoute: map[string]int64{}},
	}
	now := time.Now().UTC()
	for _, c := range seed.Customers {
		if c.ID == "" {
			c.ID = f.newIDLocked()
		}
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		if c.UpdatedAt.IsZero() {
			c.UpdatedAt = c.CreatedAt
		}
		rec := &customerRec{c: c}
		rec.index()
		f.customers[c.ID] = rec
		f.custList = append(f.custList, rec)
	}
	for i := range seed.Orders {
		o := &seed.Orders[i]
		if o.ID == "" || o.OrderNumber == 0 || o.CreatedAt.IsZero() || o.Currency == "" || o.Status == "" || o.PaymentStatus == "" {
			o = f.completeOrder(*o, now)
		}
		f.insertOrderLocked(o)
	}
	for _, rec := range f.custList {
		rec.aggregate()
	}
	for i := range seed.Products {
		p := seed.Products[i]
		deriveProduct(&p)
		f.products[p.ID] = &p
		f.productList = append(f.productList, &p)
	}
	f.mux = http.NewServeMux()
	f.routes()
	return f
}

// ServeHTTP answers the /v1 API and the /_fake control routes.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mux.ServeHTTP(w, r)
}

// Close ends hung and delayed requests for good. A Server calls it before
// shutting down, so its Close does not wait on them.
func (f *Fake) Close() {
	f.faultMu.Lock()
	defer f.faultMu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.release)
	}
}

// Reset clears stats, faults and rate-limit windows, and ends hung
// requests. Data is kept.
func (f *Fake) Reset() {
	f.faultMu.Lock()
	f.faults = Faults{}
	f.faultsLeft = 0
	if !f.closed {
		close(f.release)
		f.release = make(chan struct{})
	}
	f.faultMu.Unlock()

	f.statsMu.Lock()
	f.stats = Stats{PerRoute: map[string]int64{}}
	f.statsMu.Unlock()
	f.limiter.reset()
}

// Stats is what the fake has seen since it started or was last reset.
type Stats struct {
	Total        int64            `json:"total"`          // /v1 requests received
	PerRoute     map[string]int64 `json:"per_route"`      // by route pattern, e.g. "GET /v1/customers/{id}"
	RateLimited  int64            `json:"rate_limited"`   // 429s served
	MaxPerMinute int              `json:"max_per_minute"` // most requests any one key made in any window (default 60 s)
}

// Stats returns a copy of the counters.
func (f *Fake) Stats() Stats {
	f.statsMu.Lock()
	s := f.stats
	s.PerRoute = make(map[string]int64, len(f.stats.PerRoute))
	for k, v := range f.stats.PerRoute {
		s.PerRoute[k] = v
	}
	f.statsMu.Unlock()
	s.MaxPerMinute = f.limiter.maxPerWindow()
	return s
}

func (f *Fake) count(pattern string) {
	f.statsMu.Lock()
	f.stats.Total++
	f.stats.PerRoute[pattern]++
	f.statsMu.Unlock()
}

func (f *Fake) countRateLimited() {
	f.statsMu.Lock()
	f.stats.RateLimited++
	f.statsMu.Unlock()
}

// routes lists every route the fake serves.
func (f *Fake) routes() {
	f.api("GET /v1/customers", ScopeReadCustomers, f.listCustomers)
	f.api("GET /v1/customers/count", ScopeReadCustomers, f.countCustomers)
	f.api("GET /v1/customers/{id}", ScopeReadCustomers, f.getCustomer)
	f.api("POST /v1/customers", ScopeWriteCustomers, f.createCustomer)
	f.api("PATCH /v1/customers/{id}", ScopeWriteCustomers, f.updateCustomer)
	f.api("GET /v1/orders", ScopeReadOrders, f.listOrders)
	f.api("GET /v1/orders/count", ScopeReadOrders, f.countOrders)
	f.api("GET /v1/orders/{id}", ScopeReadOrders, f.getOrder)
	f.api("GET /v1/orders/{id}/items", ScopeReadOrders, f.getOrderItems)
	f.api("PATCH /v1/orders/{id}", ScopeWriteOrders, f.updateOrder)
	f.api("GET /v1/products", ScopeReadProducts, f.listProducts)
	f.api("GET /v1/products/count", ScopeReadProducts, f.countProducts)
	f.api("GET /v1/products/{id}", ScopeReadProducts, f.getProduct)
	f.api("GET /v1/store", ScopeReadStore, f.getStore)
	f.api("GET /v1/webhooks", ScopeReadWebhooks, f.listWebhooks)
	f.api("POST /v1/webhooks", ScopeWriteWebhooks, f.createWebhook)
	f.api("DELETE /v1/webhooks/{id}", ScopeWriteWebhooks, f.deleteWebhook)
	f.api("/v1/", "", nil) // anything else under /v1: 404 after auth

	f.mux.HandleFunc("GET /_fake/stats", f.handleStats)
	f.mux.HandleFunc("GET /_fake/faults", f.handleGetFaults)
	f.mux.HandleFunc("POST /_fake/faults", f.handleSetFaults)
	f.mux.HandleFunc("POST /_fake/reset", f.handleReset)
	f.mux.HandleFunc("POST /_fake/emit", f.handleEmit)
	f.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody("NOT_FOUND", "Route not found", nil))
	})
}

// response is what an API handler answers.
type response struct {
	status int
	body   any
}

type apiFunc func(r *http.Request) response

func ok(body any) response { return response{http.StatusOK, body} }

func fail(status int, code, msg string, details any) response {
	return response{status, errorBody(code, msg, details)}
}

func errorBody(code, msg string, details any) whatalo.ErrorBody {
	eb := whatalo.ErrorBody{Error: whatalo.ErrorDetail{Code: code, Message: msg}}
	if details != nil {
		b, _ := json.Marshal(details)
		eb.Error.Details = b
	}
	return eb
}

func notFound(what string) response {
	return fail(http.StatusNotFound, "NOT_FOUND", what+" not found", nil)
}

type dataBody struct {
	Data any `json:"data"`
}

type listBody struct {
	Data       any                `json:"data"`
	Pagination whatalo.Pagination `json:"pagination"`
}

// api registers a /v1 route behind the pipeline every Whatalo request goes
// through: stats, latency, key, rate limit, faults, scope.
func (f *Fake) api(pattern, scope string, h apiFunc) {
	f.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		statKey := pattern
		if h == nil {
			statKey = r.Method + " /v1/*"
		}
		f.count(statKey)
		plan := f.planFaults(pattern)
		// Whatalo counts a request against the key when it arrives, so a
		// request its client abandons during the latency below still
		// counts; the answer itself waits for the latency.
		now := time.Now()
		key := r.Header.Get("X-API-Key")
		limit := f.cfg.limitFor(key)
		known := key != "" && f.cfg.hasKey(key)
		var q quota
		if known {
			q = f.limiter.take(key, limit, now)
		} else {
			q = f.limiter.peek(limit, now)
		}
		if !f.wait(r.Context(), f.cfg.latency+plan.latency) {
			return
		}
		now = time.Now()
		setRateHeaders(w.Header(), q)
		if !known {
			writeJSON(w, http.StatusUnauthorized, errorBody("UNAUTHORIZED", "Missing or invalid API key", nil))
			return
		}
		if !q.allowed {
			f.countRateLimited()
			f.tooMany(w, ceilSeconds(q.reset.Sub(now)))
			return
		}
		switch {
		case plan.storm:
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(now.Unix()+int64(plan.retryAfter), 10))
			f.countRateLimited()
			f.tooMany(w, plan.retryAfter)
			return
		case plan.hang:
			select {
			case <-r.Context().Done():
				return
			case <-f.released():
				writeJSON(w, http.StatusServiceUnavailable, errorBody("SERVICE_UNAVAILABLE", "Request abandoned", nil))
				return
			}
		case plan.errStatus != 0:
			code := strings.ToUpper(strings.ReplaceAll(http.StatusText(plan.errStatus), " ", "_"))
			if code == "" {
				code = "ERROR"
			}
			writeJSON(w, plan.errStatus, errorBody(code, "Injected failure", nil))
			return
		}
		var res response
		switch {
		case h == nil:
			res = fail(http.StatusNotFound, "NOT_FOUND", "Route not found", nil)
		case !f.hasScope(key, scope):
			res = fail(http.StatusForbidden, "FORBIDDEN", "API key lacks the required scope "+scope,
				map[string]string{"required_scope": scope})
		default:
			res = h(r)
		}
		writeFaulty(w, res, plan)
	})
}

func (f *Fake) hasScope(key, scope string) bool {
	set, limited := f.cfg.scopes[key]
	return !limited || set[scope]
}

func (f *Fake) tooMany(w http.ResponseWriter, retryAfter int) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	writeJSON(w, http.StatusTooManyRequests, errorBody("RATE_LIMITED",
		"Rate limit exceeded. Try again in "+strconv.Itoa(retryAfter)+" seconds.", nil))
}

// wait sleeps d unless the client gives up (false) or the fake is reset or
// closed (true, to answer at once).
func (f *Fake) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-f.released():
		return true
	case <-t.C:
		return true
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	writeFaulty(w, response{status, body}, faultPlan{})
}

// writeFaulty encodes res, breaking the body when the plan says so.
func writeFaulty(w http.ResponseWriter, res response, plan faultPlan) {
	buf, err := json.Marshal(res.body)
	if err != nil {
		res.status = http.StatusInternalServerError
		buf, _ = json.Marshal(errorBody("INTERNAL_ERROR", "encode response", nil))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	switch {
	case plan.malformed:
		buf = append(buf[:len(buf)/2:len(buf)/2], "<html><body>502 Bad Gateway"...)
		h.Set("Content-Length", strconv.Itoa(len(buf)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(buf)
	case plan.truncated:
		// Declaring the full length and sending half makes net/http close
		// the connection: the client reads an unexpected EOF.
		h.Set("Content-Length", strconv.Itoa(len(buf)))
		w.WriteHeader(res.status)
		_, _ = w.Write(buf[:len(buf)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
	default:
		h.Set("Content-Length", strconv.Itoa(len(buf)))
		w.WriteHeader(res.status)
		_, _ = w.Write(buf)
	}
}

// --- data -----------------------------------------------------------------

// newIDLocked returns an unused 12-digit ID. Callers hold mu for writing
// (or own f exclusively, as New does).
func (f *Fake) newIDLocked() string {
	for {
		f.lastID++
		id := strconv.FormatUint(f.lastID, 10)
		if f.customers[id] == nil && f.orders[id] == nil && f.products[id] == nil {
			return id
		}
	}
}

// invalidateLocked drops the sorted views after a write.
func (f *Fake) invalidateLocked() {
	f.idxMu.Lock()
	f.custIdx = nil
	f.orderIdx = nil
	f.dataEpoch++
	f.idxMu.Unlock()
}

func (rec *customerRec) index() {
	rec.search = searchKey(rec.c.Name, rec.c.Email, rec.c.Phone)
	rec.digits = digitsOf(rec.c.Phone)
}

func (rec *customerRec) aggregate() {
	orders := make([]*whatalo.Order, len(rec.orders))
	for i, o := range rec.orders {
		orders[i] = o.o
	}
	aggregate(&rec.c, orders)
}

func searchKey(name, email, phone string) string {
	return strings.ToLower(name) + "\x00" + strings.ToLower(email) + "\x00" + strings.ToLower(phone)
}

func digitsOf(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// completeOrder fills what a hand-made order lacks and returns a new order.
func (f *Fake) completeOrder(o whatalo.Order, now time.Time) *whatalo.Order {
	if o.ID == "" {
		o.ID = f.newIDLocked()
	}
	if o.OrderNumber == 0 {
		o.OrderNumber = f.lastNumber + 1
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	if o.Currency == "" {
		o.Currency = f.store.Currency
	}
	if o.Status == "" {
		o.Status = whatalo.OrderPending
	}
	if o.PaymentStatus == "" {
		o.PaymentStatus = whatalo.PaymentPending
	}
	if c := f.customers[o.CustomerID]; c != nil {
		fillOrderCustomer(&o, &c.c)
	}
	o.Items = slices.Clone(o.Items)
	for i := range o.Items {
		if o.Items[i].ID == "" {
			o.Items[i].ID = f.newIDLocked()
		}
	}
	_ = settleAmounts(&o) // a test's own amounts are kept even when they do not add up
	deriveOrder(&o)
	return &o
}

// insertOrderLocked stores o (replacing an order with its ID) and links it
// to its customer; the caller recomputes aggregates.
func (f *Fake) insertOrderLocked(o *whatalo.Order) *orderRec {
	if o.OrderNumber > f.lastNumber {
		f.lastNumber = o.OrderNumber
	}
	rec := &orderRec{o: o}
	c := f.customers[o.CustomerID]
	if c != nil && o.CustomerName == c.c.Name && o.CustomerEmail == c.c.Email && o.CustomerPhone == c.c.Phone {
		rec.search, rec.digits = c.search, c.digits // share, not copy: most orders match their customer
	} else {
		rec.search = searchKey(o.CustomerName, o.CustomerEmail, o.CustomerPhone)
		rec.digits = digitsOf(o.CustomerPhone)
	}
	if old := f.orders[o.ID]; old != nil {
		old.o = o
		old.search, old.digits = rec.search, rec.digits
		return old
	}
	f.orders[o.ID] = rec
	f.orderList = append(f.orderList, rec)
	if c != nil {
		c.orders = append(c.orders, rec)
	}
	return rec
}

// UpsertCustomer stores c as a new customer (empty or unknown ID) or
// replaces the name, email, phone and notes of an existing one, sets
// updated_at to now, and returns the stored customer with its aggregates.
func (f *Fake) UpsertCustomer(c whatalo.Customer) whatalo.Customer {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now().UTC()
	rec := f.customers[c.ID]
	if rec == nil {
		if c.ID == "" {
			c.ID = f.newIDLocked()
		}
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		rec = &customerRec{c: whatalo.Customer{ID: c.ID, CreatedAt: c.CreatedAt}}
		f.customers[c.ID] = rec
		f.custList = append(f.custList, rec)
		for _, o := range f.orderList {
			if o.o.CustomerID == c.ID {
				rec.orders = append(rec.orders, o)
			}
		}
	} else if !c.CreatedAt.IsZero() {
		rec.c.CreatedAt = c.CreatedAt
	}
	rec.c.Name, rec.c.Email, rec.c.Phone, rec.c.Notes = c.Name, c.Email, c.Phone, c.Notes
	rec.c.UpdatedAt = now
	rec.index()
	rec.aggregate()
	f.invalidateLocked()
	return rec.c
}

// AddOrder stores o, filling in an ID, order number, dates, currency,
// customer fields and derived amounts and flags where o lacks them
// (replacing any order with the same ID), updates its customer's
// aggregates and updated_at, and returns the stored order.
func (f *Fake) AddOrder(o whatalo.Order) whatalo.Order {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now().UTC()
	stored := f.completeOrder(o, now)
	if old := f.orders[stored.ID]; old != nil && old.o.CustomerID != stored.CustomerID {
		if prev := f.customers[old.o.CustomerID]; prev != nil {
			prev.orders = slices.DeleteFunc(prev.orders, func(r *orderRec) bool { return r == old })
			prev.c.UpdatedAt = now
			prev.aggregate()
		}
		if c := f.customers[stored.CustomerID]; c != nil {
			c.orders = append(c.orders, old)
		}
	}
	f.insertOrderLocked(stored)
	if c := f.customers[stored.CustomerID]; c != nil {
		c.c.UpdatedAt = now
		c.aggregate()
	}
	f.invalidateLocked()
	return *stored
}

// DeleteCustomer removes a customer (its orders stay), as if deleted in
// the dashboard: the API has no DELETE for customers.
func (f *Fake) DeleteCustomer(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := f.customers[id]
	if rec == nil {
		return
	}
	delete(f.customers, id)
	f.custList = slices.DeleteFunc(f.custList, func(r *customerRec) bool { return r == rec })
	f.invalidateLocked()
}

// Customer returns a stored customer with its aggregates.
func (f *Fake) Customer(id string) (whatalo.Customer, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	rec := f.customers[id]
	if rec == nil {
		return whatalo.Customer{}, false
	}
	return rec.c, true
}

// Order returns a stored order with its items.
func (f *Fake) Order(id string) (whatalo.Order, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	rec := f.orders[id]
	if rec == nil {
		return whatalo.Order{}, false
	}
	return *rec.o, true
}

// Webhooks returns the registered webhooks with their secrets, for tests
// that must sign deliveries the way Whatalo would.
func (f *Fake) Webhooks() []whatalo.Webhook {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]whatalo.Webhook, len(f.webhooks))
	for i, wh := range f.webhooks {
		out[i] = wh.w
		out[i].Secret = wh.secret
	}
	return out
}
