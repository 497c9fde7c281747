package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// memWorld is what replicas share, in memory: the adapter's view of Redis.
type memWorld struct {
	mu      sync.Mutex
	cache   map[string]memEntry
	gets    int
	subs    map[int]func([]byte)
	nextSub int
	lease   string
	leaseTo time.Time
	meta    []byte
	snap    []byte
	down    bool          // every call fails
	slow    time.Duration // each Write takes this long
	stall   time.Duration // each Write and Publish hangs this long, or until its deadline or unstall, then fails
	unstall chan struct{} // closed: hung calls end
	hung    []hungCall    // each call that hung, once it ended
}

// hungCall is how a call to a hung store ended: the time its caller's
// deadline left it (0: none), the most the service means to give such a
// call, and the error it got.
type hungCall struct {
	left, limit time.Duration
	err         error
}

// stalled waits as a hung store would and returns its error, or nil when
// the store does not hang. limit is the timeout the service gives the call.
func (w *memWorld) stalled(ctx context.Context, limit time.Duration) error {
	w.mu.Lock()
	d, unstall := w.stall, w.unstall
	w.mu.Unlock()
	if d <= 0 {
		return nil
	}
	var left time.Duration
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	var err error = errMemDown
	select {
	case <-time.After(d):
	case <-unstall:
	case <-ctx.Done():
		err = ctx.Err()
	}
	w.mu.Lock()
	w.hung = append(w.hung, hungCall{left, limit, err})
	w.mu.Unlock()
	return err
}

type memEntry struct {
	val   []byte
	until time.Time
}

func newMemWorld() *memWorld {
	return &memWorld{cache: map[string]memEntry{}, subs: map[int]func([]byte){}}
}

var errMemDown = &json.UnsupportedValueError{Str: "shared store down"}

func (w *memWorld) setDown(down bool) {
	w.mu.Lock()
	w.down = down
	w.mu.Unlock()
}

func (w *memWorld) Get(ctx context.Context, key string) ([]byte, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down {
		return nil, false, errMemDown
	}
	w.gets++
	e, ok := w.cache[key]
	if !ok || time.Now().After(e.until) {
		return nil, false, nil
	}
	return e.val, true, nil
}

func (w *memWorld) Write(ctx context.Context, writes []cache.SharedWrite) error {
	if err := w.stalled(ctx, cache.SharedFlushTimeout); err != nil {
		return err
	}
	w.mu.Lock()
	if w.slow > 0 {
		w.mu.Unlock()
		time.Sleep(w.slow)
		w.mu.Lock()
	}
	defer w.mu.Unlock()
	if w.down {
		return errMemDown
	}
	for _, wr := range writes {
		if wr.Value == nil {
			delete(w.cache, wr.Key)
			continue
		}
		w.cache[wr.Key] = memEntry{val: wr.Value, until: time.Now().Add(wr.TTL)}
	}
	return nil
}

func (w *memWorld) getCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gets
}

// memReplica is one replica's handle on the world: the lease is per
// replica.
type memReplica struct {
	w     *memWorld
	token string
}

func (r *memReplica) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return r.w.Get(ctx, key)
}

func (r *memReplica) Write(ctx context.Context, writes []cache.SharedWrite) error {
	return r.w.Write(ctx, writes)
}

func (r *memReplica) Publish(ctx context.Context, msg []byte) error {
	if err := r.w.stalled(ctx, busTimeout); err != nil {
		return err
	}
	r.w.mu.Lock()
	if r.w.down {
		r.w.mu.Unlock()
		return errMemDown
	}
	subs := make([]func([]byte), 0, len(r.w.subs))
	for _, f := range r.w.subs {
		subs = append(subs, f)
	}
	r.w.mu.Unlock()
	for _, f := range subs {
		f(msg)
	}
	return nil
}

func (r *memReplica) Subscribe(ctx context.Context, handle func([]byte)) error {
	r.w.mu.Lock()
	id := r.w.nextSub
	r.w.nextSub++
	r.w.subs[id] = handle
	r.w.mu.Unlock()
	<-ctx.Done()
	r.w.mu.Lock()
	delete(r.w.subs, id)
	r.w.mu.Unlock()
	return nil
}

func (r *memReplica) subscribers() int {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return len(r.w.subs)
}

func (r *memReplica) Acquire(ctx context.Context, ttl time.Duration) (bool, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	if r.w.down {
		return false, errMemDown
	}
	now := time.Now()
	if r.w.lease == r.token || r.w.lease == "" || now.After(r.w.leaseTo) {
		r.w.lease, r.w.leaseTo = r.token, now.Add(ttl)
		return true, nil
	}
	return false, nil
}

func (r *memReplica) Release(ctx context.Context) error {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	if r.w.lease == r.token {
		r.w.lease = ""
	}
	return nil
}

func (r *memReplica) Save(ctx context.Context, meta, snapshot []byte) error {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	if r.w.down {
		return errMemDown
	}
	if snapshot != nil {
		r.w.snap = snapshot
	}
	r.w.meta = meta
	return nil
}

func (r *memReplica) Meta(ctx context.Context) ([]byte, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	if r.w.down {
		return nil, errMemDown
	}
	return r.w.meta, nil
}

func (r *memReplica) Snapshot(ctx context.Context) ([]byte, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	if r.w.down {
		return nil, errMemDown
	}
	return r.w.snap, nil
}

// countingObserver counts one replica's upstream requests by route and its
// cache results.
type countingObserver struct {
	mu     sync.Mutex
	routes map[string]int
	cache  map[string]int
}

func (o *countingObserver) ObserveRequest(route string, status int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.routes[route]++
}
func (o *countingObserver) ObserveLimiterWait(whatalo.Priority, time.Duration) {}
func (o *countingObserver) ObserveLimiterReject(whatalo.Priority)              {}
func (o *countingObserver) ObserveRateLimit(int, int, time.Time)               {}

func (o *countingObserver) observeCache(kind, result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cache[result]++
}

func (o *countingObserver) total() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, v := range o.routes {
		n += v
	}
	return n
}

func (o *countingObserver) route(r string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.routes[r]
}

func (o *countingObserver) cacheResult(r string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cache[r]
}

// replica is a Backend sharing w with the other replicas of the test.
type replica struct {
	*ixEnv
	up  *countingObserver
	mem *memReplica
}

// newReplicas starts n Backends over one fake store, sharing w as edit
// says (edit gets each replica's handle on w).
func newReplicas(t *testing.T, n int, w *memWorld, edit func(*Options, *memReplica)) []*replica {
	t.Helper()
	fake := whatalotest.NewServer(t, nil, whatalotest.WithRateLimit(100000))
	out := make([]*replica, n)
	for i := range out {
		up := &countingObserver{routes: map[string]int{}, cache: map[string]int{}}
		mem := &memReplica{w: w, token: string(rune('a' + i))}
		e := newIxEnvOn(t, fake, up, func(o *Options) {
			o.Cache.Observer = up.observeCache
			edit(o, mem)
		})
		out[i] = &replica{ixEnv: e, up: up, mem: mem}
	}
	return out
}

// sameJSON fails unless a and b encode alike.
func sameJSON(t *testing.T, what string, a, b any) {
	t.Helper()
	ja, jb := ixJSON(t, a), ixJSON(t, b)
	if string(ja) != string(jb) {
		t.Errorf("%s differs between replicas:\n%s\n%s", what, ja, jb)
	}
}

func TestSharedCacheServesColdReplicaWithoutUpstream(t *testing.T) {
	w := newMemWorld()
	rs := newReplicas(t, 2, w, func(o *Options, m *memReplica) {
		o.Index.Disabled = true // lookups go through the cache
		o.Cache.Shared = m
	})
	a, b := rs[0], rs[1]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	type answers struct {
		info   *wazion.CustomerInfoResponse
		ai     *wazion.InitialInfoResponse
		prods  *wazion.ProductSearch
		global *wazion.GlobalSearchResponse
	}
	ask := func(r *replica) answers {
		t.Helper()
		var out answers
		var err error
		if out.info, err = r.b.CustomerInfo(ctx, wazion.Request{Phone: ixMariaPhone}); err != nil {
			t.Fatal(err)
		}
		if out.ai, err = r.b.CustomerInitialInfo(ctx, wazion.Request{Phone: ixMariaPhone, Order: "1001"}); err != nil {
			t.Fatal(err)
		}
		if out.prods, err = r.b.SearchProducts(ctx, wazion.Request{Query: "camiseta", Phone: ixMariaPhone}); err != nil {
			t.Fatal(err)
		}
		if out.global, err = r.b.GlobalSearch(ctx, wazion.Request{Query: "maria"}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := ask(a)
	if !first.info.Found || a.up.total() == 0 {
		t.Fatalf("first replica: found %v with %d upstream calls", first.info.Found, a.up.total())
	}
	a.b.cache.FlushShared(ctx)

	second := ask(b)
	if n := b.up.total(); n != 0 {
		t.Fatalf("cold replica made %d upstream calls (%v); the shared cache had every answer", n, b.up.routes)
	}
	if b.up.cacheResult(cache.ResultSharedHit) == 0 {
		t.Error("cold replica reported no shared_hit")
	}
	// Every kind survives its encoding: the answers are the same.
	sameJSON(t, "CustomerInfo", first.info, second.info)
	sameJSON(t, "CustomerInitialInfo", first.ai, second.ai)
	sameJSON(t, "SearchProducts", first.prods, second.prods)
	sameJSON(t, "GlobalSearch", first.global, second.global)

	// A hit in the replica's own cache does not touch the shared one.
	gets := w.getCount()
	ask(b)
	if w.getCount() != gets {
		t.Errorf("local hits read the shared cache %d times", w.getCount()-gets)
	}
}

func TestSharedCacheValuesRoundTrip(t *testing.T) {
	// Each kind's value type, as the demo store fills it, must come back
	// from its encoding equal.
	fake := whatalotest.NewServer(t, nil)
	client, err := whatalo.NewClient(fake.APIKey, whatalo.WithBaseURL(fake.APIURL))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cs, _, err := client.Customers.List(ctx, &whatalo.CustomerListOptions{PerPage: 100})
	if err != nil || len(cs) == 0 {
		t.Fatalf("list customers: %v", err)
	}
	os, _, err := client.Orders.List(ctx, &whatalo.OrderListOptions{PerPage: 100})
	if err != nil || len(os) == 0 {
		t.Fatalf("list orders: %v", err)
	}
	o, _, err := client.Orders.Get(ctx, os[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	ps, _, err := client.Products.List(ctx, &whatalo.ProductListOptions{PerPage: 100})
	if err != nil || len(ps) == 0 {
		t.Fatalf("list products: %v", err)
	}
	st, _, err := client.Store.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, v any, decode func([]byte) (any, time.Time, error)) {
		t.Helper()
		at := time.Unix(1700000000, 5)
		data, err := cache.EncodeShared(v, at)
		if err != nil {
			t.Fatalf("%s: encode: %v", name, err)
		}
		got, gotAt, err := decode(data)
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if !gotAt.Equal(at) {
			t.Fatalf("%s: envelope read back %v", name, gotAt)
		}
		if !reflect.DeepEqual(ixJSON(t, got), ixJSON(t, v)) || reflect.TypeOf(got) != reflect.TypeOf(v) {
			t.Errorf("%s: came back as %T %s", name, got, ixJSON(t, got))
		}
	}
	c := cs[0]
	check("customer", &c, decodeAs[*whatalo.Customer])
	check("customers", cs, decodeAs[[]whatalo.Customer])
	check("orders", os, decodeAs[[]whatalo.Order])
	check("order", o, decodeAs[*whatalo.Order])
	check("products", &productPage{Products: ps, Total: 42}, decodeAs[*productPage])
	check("store", st, decodeAs[*whatalo.Store])
	check("nothing found", []whatalo.Customer(nil), decodeAs[[]whatalo.Customer])
	if _, _, err := cache.DecodeShared[any]([]byte{9, 1, 2}); err == nil {
		t.Error("a short or unknown envelope was read")
	}
}

// decodeAs reads a shared value as T, as the cache does for a kind of T.
func decodeAs[T any](data []byte) (any, time.Time, error) {
	return cache.DecodeShared[T](data)
}

func TestSharedCacheDownCostsNothing(t *testing.T) {
	w := newMemWorld()
	w.setDown(true)
	rs := newReplicas(t, 1, w, func(o *Options, m *memReplica) {
		o.Index.Disabled = true
		o.Cache.Shared = m
	})
	r := rs[0]
	if resp := r.info(t, ixMariaPhone); !resp.Found {
		t.Fatal("not found with the shared cache down")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r.b.cache.FlushShared(ctx)
	if st := r.b.cache.SharedStats(); st.Failed == 0 {
		t.Errorf("failed shared writes not counted: %+v", st)
	}
}

func TestSharedWebhookDeletesReachSharedCache(t *testing.T) {
	w := newMemWorld()
	// Writes that take a while: the webhook's answer must still wait for
	// its deletions to reach the shared level.
	w.slow = 20 * time.Millisecond
	rs := newReplicas(t, 2, w, func(o *Options, m *memReplica) {
		o.Index.Disabled = true
		o.Cache.Shared = m
	})
	a, b := rs[0], rs[1]
	a.info(t, ixMariaPhone)
	a.b.cache.FlushShared(t.Context())
	// An order event on a makes the customer's orders stale everywhere:
	// b, cold, must not read them back from the shared cache.
	status := a.emit(t, whatalotest.Delivery{Event: "order.updated", Data: ixJSON(t, map[string]any{
		"id": "ord-x", "order_number": 1001, "customer_id": ixMaria, "customer_phone": ixMariaPhone,
	})})
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	before := b.up.route("GET /customers/{id}/orders") + b.up.route("GET /orders")
	b.info(t, ixMariaPhone)
	after := b.up.route("GET /customers/{id}/orders") + b.up.route("GET /orders")
	if after == before {
		t.Errorf("cold replica read orders the webhook made stale from the shared cache (routes %v)", b.up.routes)
	}
}

// A Redis that hangs holds a webhook's answer for a bounded time only:
// Whatalo wants it within a second.
func TestSharedWebhookAnswersDespiteHungRedis(t *testing.T) {
	w := newMemWorld()
	rs := newReplicas(t, 2, w, func(o *Options, m *memReplica) {
		o.Index.Disabled = true
		o.Cache.Shared = m
		o.Shared.Bus = m
	})
	a := rs[0]
	a.info(t, ixMariaPhone)
	a.b.cache.FlushShared(t.Context())
	w.mu.Lock()
	w.stall, w.unstall = 10*time.Second, make(chan struct{})
	w.mu.Unlock()
	defer close(w.unstall)
	status := a.emit(t, whatalotest.Delivery{Event: "order.updated", Data: ixJSON(t, map[string]any{
		"id": "ord-x", "order_number": 1001, "customer_id": ixMaria,
	})})
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	// The answer came back while Redis hung for 10 s: the hung calls must
	// have ended on the service's own deadlines, a flush's within
	// cache.SharedFlushTimeout and a publish's within busTimeout, rather
	// than by the stall.
	w.mu.Lock()
	hung := append([]hungCall(nil), w.hung...)
	w.mu.Unlock()
	if len(hung) == 0 {
		t.Fatal("no call reached the hung store")
	}
	for i, h := range hung {
		if h.left <= 0 || h.left > h.limit || !errors.Is(h.err, context.DeadlineExceeded) {
			t.Errorf("hung call %d: deadline in %s (the service's limit %s), ended with %v; want it ended by that deadline",
				i, h.left, h.limit, h.err)
		}
	}
}

func TestSharedBusWebhookReachesOtherReplica(t *testing.T) {
	w := newMemWorld()
	rs := newReplicas(t, 3, w, func(o *Options, m *memReplica) {
		o.Shared.Bus = m
	})
	for _, r := range rs {
		r.runReady(t)
	}
	ixWait(t, "three subscriptions", func() bool { return rs[0].mem.subscribers() == 3 })
	a, c := rs[0], rs[2]
	if resp := c.info(t, ixMariaPhone); resp.Customers[0].Name != "María García" {
		t.Fatalf("before: %+v", resp.Customers)
	}
	calls := c.up.total()
	status := a.emit(t, whatalotest.Delivery{Event: "customer.updated", ID: "evt-1", Data: ixJSON(t, map[string]any{
		"id": ixMaria, "name": "María G. de Peña",
	})})
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	ixWait(t, "replica 3 to apply the webhook", func() bool {
		return c.info(t, ixMariaPhone).Customers[0].Name == "María G. de Peña"
	})
	if n := c.up.total() - calls; n != 0 {
		t.Errorf("replica 3 made %d upstream calls to apply another replica's webhook", n)
	}
	if c.b.BusStats().Received == 0 {
		t.Error("replica 3 counted no message")
	}
	// The same delivery, retried to another replica, is a duplicate there.
	status = c.emit(t, whatalotest.Delivery{Event: "customer.updated", ID: "evt-1", Data: ixJSON(t, map[string]any{
		"id": ixMaria, "name": "Someone Else",
	})})
	if status != http.StatusOK || c.obs.webhook("customer.updated/duplicate") != 1 {
		t.Errorf("retry to replica 3: status %d, duplicates %d", status, c.obs.webhook("customer.updated/duplicate"))
	}
}

func TestSharedBusCustomerFetchedOnce(t *testing.T) {
	w := newMemWorld()
	rs := newReplicas(t, 2, w, func(o *Options, m *memReplica) {
		o.Shared.Bus = m
	})
	for _, r := range rs {
		r.runReady(t)
	}
	ixWait(t, "two subscriptions", func() bool { return rs[0].mem.subscribers() == 2 })
	a, b := rs[0], rs[1]
	// A new order for a customer: the receiving replica fetches the
	// customer's totals and shares them; the other fetches nothing.
	o := a.fake.AddOrder(whatalo.Order{CustomerID: ixMaria})
	get := "GET /customers/{id}"
	status := a.emit(t, whatalotest.Delivery{Event: "order.created", Data: ixJSON(t, map[string]any{
		"id": o.ID, "order_number": o.OrderNumber, "customer_id": ixMaria,
	})})
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	ixWait(t, "the customer refreshed on both", func() bool {
		ea, eb := a.b.index.get(ixMaria), b.b.index.get(ixMaria)
		return ea != nil && eb != nil && ea.ordersCount == 4 && eb.ordersCount == 4
	})
	if a.up.route(get) != 1 || b.up.route(get) != 0 {
		t.Errorf("customer fetched %d times by the receiver and %d by the other, want 1 and 0", a.up.route(get), b.up.route(get))
	}
}

func TestSharedIndexOneReplicaSyncs(t *testing.T) {
	w := newMemWorld()
	var sharedCalls atomic.Int32
	rs := newReplicas(t, 3, w, func(o *Options, m *memReplica) {
		o.Shared.Index = m
		o.Index.RefreshInterval = 100 * time.Millisecond
		sharedCalls.Add(1)
	})
	stops := make([]func(), len(rs))
	for i, r := range rs {
		stops[i] = r.run(t)
	}
	for i, r := range rs {
		ixWait(t, "every replica's index ready", func() bool { return r.b.IndexStatus().State == IndexReady })
		_ = i
	}
	leader := -1
	list := "GET /customers"
	for i, r := range rs {
		st := r.b.IndexStatus()
		switch st.Role {
		case IndexLeader:
			if leader >= 0 {
				t.Fatalf("replicas %d and %d both lead", leader, i)
			}
			leader = i
		case IndexFollower:
			if n := r.up.route(list); n != 0 {
				t.Errorf("follower %d listed customers %d times", i, n)
			}
		default:
			t.Fatalf("replica %d has role %q", i, st.Role)
		}
		if st.Customers != rs[0].b.IndexStatus().Customers || st.Customers == 0 {
			t.Errorf("replica %d indexes %d customers", i, st.Customers)
		}
	}
	if leader < 0 {
		t.Fatal("no replica leads")
	}
	// A follower answers from the leader's index without upstream.
	f := rs[(leader+1)%3]
	calls := f.up.total()
	if resp := f.info(t, ixAnaPhone); !resp.Found {
		t.Fatal("follower does not find a customer by national phone")
	}
	if f.up.route(list) != 0 || f.up.total()-calls > 3 {
		t.Errorf("follower lookup made %d calls (%v)", f.up.total()-calls, f.up.routes)
	}

	// The leader stops: another takes the sync over.
	stops[leader]()
	ixWait(t, "a new leader", func() bool {
		for i, r := range rs {
			if i != leader && r.b.IndexStatus().Role == IndexLeader {
				return true
			}
		}
		return false
	})
}

func TestSharedIndexDownSyncsAlone(t *testing.T) {
	w := newMemWorld()
	w.setDown(true)
	rs := newReplicas(t, 1, w, func(o *Options, m *memReplica) {
		o.Shared.Index = m
	})
	rs[0].runReady(t)
	if st := rs[0].b.IndexStatus(); st.Role != "" || rs[0].up.route("GET /customers") == 0 {
		t.Fatalf("with the shared store down: role %q, list calls %d; want a sync alone", st.Role, rs[0].up.route("GET /customers"))
	}
}

func TestIndexSnapshotRoundTrip(t *testing.T) {
	e := newIxEnv(t, nil)
	e.runReady(t)
	entries, m, _ := e.b.index.snapshot()
	m.Version = "v1"
	data, err := encodeSnapshot(m, entries)
	if err != nil {
		t.Fatal(err)
	}
	d, got, err := e.b.decodeSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != "v1" || got.Customers != len(entries) || got.Region != "DO" || len(d.customers) != len(entries) {
		t.Fatalf("meta %+v with %d customers, want v1, DO, %d", got, len(d.customers), len(entries))
	}
	for _, e := range entries {
		h := d.customers[e.id()]
		if h == nil || !h.sameData(e) || h.phoneKey != e.phoneKey || h.emailKey != e.emailKey {
			t.Errorf("customer %s did not survive the snapshot", e.id())
		}
	}
	if _, _, err := e.b.decodeSnapshot([]byte("not gzip")); err == nil {
		t.Error("garbage decoded")
	}
}

func TestSharedIndexRepublishedAfterStoreLosesIt(t *testing.T) {
	w := newMemWorld()
	rs := newReplicas(t, 1, w, func(o *Options, m *memReplica) {
		o.Shared.Index = m
		o.Index.RefreshInterval = 100 * time.Millisecond
	})
	rs[0].runReady(t)
	ixWait(t, "a snapshot saved", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.snap != nil
	})
	// Redis restarted: meta and snapshot are gone, and the index has not
	// changed since. The leader must save it whole again.
	w.mu.Lock()
	w.meta, w.snap = nil, nil
	w.mu.Unlock()
	ixWait(t, "the snapshot saved again", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.snap != nil && w.meta != nil
	})
	late := newIxEnvOn(t, rs[0].fake, &countingObserver{routes: map[string]int{}, cache: map[string]int{}}, func(o *Options) {
		o.Shared.Index = &memReplica{w: w, token: "late"}
		o.Index.RefreshInterval = 100 * time.Millisecond
	})
	late.runReady(t)
	if st := late.b.IndexStatus(); st.Role != IndexFollower || st.Customers != rs[0].b.IndexStatus().Customers {
		t.Fatalf("replica started later: %+v", st)
	}
}

// A follower that started before the leader's first index looks for it
// again within seconds, not after half a refresh interval.
func TestSharedIndexFollowerLoadsTheFirstIndexSoon(t *testing.T) {
	w := newMemWorld()
	rs := newReplicas(t, 2, w, func(o *Options, m *memReplica) {
		o.Shared.Index = m
		o.Index.RefreshInterval = time.Minute // a follower checks every 30 s once it holds one
		o.Index.PageSize = 2                  // a build of several pages
	})
	for _, r := range rs {
		r.run(t)
	}
	// A follower that waited half the refresh interval would be ready
	// after 30 s; ixWait gives up after 10 s, so the wait itself tells the
	// first-index interval (2 s) from that one with no timing of its own.
	for _, r := range rs {
		ixWait(t, "both replicas' index ready", func() bool { return r.b.IndexStatus().State == IndexReady })
	}
	roles := map[string]int{}
	for _, r := range rs {
		roles[r.b.IndexStatus().Role]++
	}
	if roles[IndexLeader] != 1 || roles[IndexFollower] != 1 {
		t.Errorf("roles %v, want one leader and one follower", roles)
	}
}
