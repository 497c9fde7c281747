package adapter

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

func (e *ixEnv) orderCalls() (lists, details int64) {
	s := e.fake.Stats()
	return s.PerRoute["GET /v1/orders"], s.PerRoute["GET /v1/orders/{id}"]
}

func (e *ixEnv) poll(t *testing.T) {
	t.Helper()
	if err := e.b.pollOrders(context.Background()); err != nil {
		t.Fatalf("poll the order feed: %v", err)
	}
}

func TestOrderFeedKeepsOrderListsFresh(t *testing.T) {
	e := newIxEnv(t, func(o *Options) {
		o.Index.MaxAge = time.Hour
		// Without the feed these lists would stay an hour: only the
		// feed can bring the new order below.
		o.Cache.TTL = map[string]time.Duration{cache.KindOrders: time.Hour, cache.KindPhone: time.Hour, cache.KindCustomer: time.Hour}
	})
	if kind, _ := e.b.ordersKind(ixMaria); kind != cache.KindOrders {
		t.Fatalf("order lists cached as %s before the feed's first poll", kind)
	}
	e.poll(t)
	if kind, _ := e.b.ordersKind(ixMaria); kind != cache.KindOrdersWatched {
		t.Fatalf("order lists cached as %s with the feed live", kind)
	}

	before := e.info(t, ixMariaPhone)
	n := len(before.Customers[0].Orders)
	if _, ok := e.b.cache.Get(cache.KindOrdersWatched, e.b.feed.watchedKey(ixMaria)); !ok {
		t.Fatal("the order list is not cached as watched")
	}
	lists, _ := e.orderCalls()

	// A poll with nothing new drops nothing.
	e.poll(t)
	if _, ok := e.b.cache.Get(cache.KindOrdersWatched, e.b.feed.watchedKey(ixMaria)); !ok {
		t.Fatal("a poll without changes dropped the order list")
	}

	added := e.fake.AddOrder(whatalo.Order{CustomerID: ixMaria})
	if got := e.info(t, ixMariaPhone); len(got.Customers[0].Orders) != n {
		t.Fatalf("order list changed before the feed said so: %d orders, want %d (cached)", len(got.Customers[0].Orders), n)
	}
	e.poll(t)
	after := e.info(t, ixMariaPhone)
	if len(after.Customers[0].Orders) != n+1 || after.Customers[0].Orders[0].Name != "#"+strconv.Itoa(added.OrderNumber) {
		t.Fatalf("after the poll: orders %+v, want %d with #%d first", after.Customers[0].Orders, n+1, added.OrderNumber)
	}
	if l, _ := e.orderCalls(); l-lists != 3 {
		// Two polls and one list for the changed customer.
		t.Errorf("order list calls since the first answer = %d, want 3", l-lists)
	}

	// A feed that stops answering stops vouching for the lists after
	// three of its intervals (here the index's hour).
	e.clock.Advance(2 * time.Hour)
	if kind, _ := e.b.ordersKind(ixMaria); kind != cache.KindOrdersWatched {
		t.Errorf("order lists cached as %s with the feed's last poll 2 h ago (interval 1 h)", kind)
	}
	e.clock.Advance(2 * time.Hour)
	if kind, _ := e.b.ordersKind(ixMaria); kind != cache.KindOrders {
		t.Errorf("order lists cached as %s with the feed's last poll 4 h ago (interval 1 h)", kind)
	}
}

func TestOrderFeedBurstDropsWatchedLists(t *testing.T) {
	e := newIxEnv(t, func(o *Options) { o.Index.PageSize = 1 })
	e.poll(t)
	gen := e.b.feed.gen.Load()
	for range maxFeedPages + 2 {
		e.fake.AddOrder(whatalo.Order{CustomerID: ixMaria})
	}
	e.poll(t)
	if e.b.feed.gen.Load() == gen {
		t.Fatalf("%d orders changed, more than one poll reads at one a page, and the watched lists were kept", maxFeedPages+2)
	}
	// The watermark moved past them: the next poll is a normal one.
	gen = e.b.feed.gen.Load()
	e.b.cache.Set(cache.KindOrdersWatched, e.b.feed.watchedKey("someone"), []whatalo.Order{{ID: "x"}})
	e.poll(t)
	if e.b.feed.gen.Load() != gen {
		t.Error("a poll without changes after a burst dropped the watched lists again")
	}
	if _, ok := e.b.cache.Get(cache.KindOrdersWatched, e.b.feed.watchedKey("someone")); !ok {
		t.Error("a poll without changes dropped an unrelated list")
	}
}

func TestOrderFeedRunsWithTheIndex(t *testing.T) {
	e := newIxEnv(t, func(o *Options) { o.Index.RefreshInterval = 20 * time.Millisecond })
	e.run(t)
	ixWait(t, "the order feed live", func() bool { return e.b.feed.live(e.b.now(), 3*e.b.feedInterval()) })
	if built, _, _ := e.b.index.syncState(); !built {
		t.Error("the order feed polled before the phone index was built")
	}
	if d := e.b.feedInterval(); d != minFeedInterval {
		t.Errorf("feed interval %s with a 20 ms index refresh, want the %s floor", d, minFeedInterval)
	}

	off := newIxEnv(t, func(o *Options) { o.Index.Disabled = true })
	stop := off.run(t)
	time.Sleep(50 * time.Millisecond)
	stop()
	if lists, _ := off.orderCalls(); lists != 0 || off.b.feed.okAt.Load() != 0 {
		t.Errorf("with the index disabled the feed ran: %d order list calls", lists)
	}
}

func TestOrderDetailsKeptPerVersion(t *testing.T) {
	e := newIxEnv(t, nil)
	first := e.info(t, ixMariaPhone)
	_, details := e.orderCalls()
	if details == 0 {
		t.Fatal("no order details fetched for the first answer")
	}

	// The list is read again; its orders have not changed, so neither
	// have their details.
	e.b.forgetOrders(ixMaria)
	e.info(t, ixMariaPhone)
	if _, d := e.orderCalls(); d != details {
		t.Errorf("unchanged orders fetched again: %d detail calls, want %d", d, details)
	}

	// A change to an order gives it a new updated_at, and its details are
	// read again.
	id := first.Customers[0].Orders[0].ShopURL
	o, ok := e.fake.Order(id[strings.LastIndex(id, "/")+1:])
	if !ok {
		t.Fatalf("order behind %s not found", id)
	}
	time.Sleep(5 * time.Millisecond) // a new updated_at
	req, _ := http.NewRequest(http.MethodPatch, e.fake.APIURL+"/orders/"+o.ID, strings.NewReader(`{"payment_status":"paid"}`))
	req.Header.Set("X-API-Key", e.fake.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("patch order: %v %v", resp, err)
	}
	resp.Body.Close()
	e.b.forgetOrders(ixMaria)
	e.info(t, ixMariaPhone)
	if _, d := e.orderCalls(); d != details+1 {
		t.Errorf("after one order changed: %d detail calls, want %d", d, details+1)
	}
}

// Most customers buy once: their order, named by last_order_id, is the
// whole list, read in one call with its items.
func TestOneOrderCustomerCostsOneCall(t *testing.T) {
	e := newIxEnv(t, nil)
	c := e.fake.UpsertCustomer(whatalo.Customer{Name: "Una Compra", Phone: "+18095550101"})
	o := e.fake.AddOrder(whatalo.Order{CustomerID: c.ID, Items: []whatalo.LineItem{{ProductName: "Gorra", Quantity: 1}}})
	e.poll(t)
	lists, details := e.orderCalls()

	got := e.info(t, "+18095550101")
	if len(got.Customers) != 1 || len(got.Customers[0].Orders) != 1 {
		t.Fatalf("answer: %+v", got)
	}
	order := got.Customers[0].Orders[0]
	if order.Name != "#"+strconv.Itoa(o.OrderNumber) || len(order.Items) != 1 || order.Items[0].Title != "Gorra" {
		t.Errorf("the only order: %+v, want #%d with its item", order, o.OrderNumber)
	}
	l, d := e.orderCalls()
	if l != lists || d != details+1 {
		t.Errorf("one-order customer: %d list and %d detail calls, want 0 and 1", l-lists, d-details)
	}
	e.info(t, "+18095550101")
	if _, d2 := e.orderCalls(); d2 != d {
		t.Errorf("the repeated answer read the order again")
	}

	// A second order: the feed sees it, the customer's totals are read
	// again, and the panel lists both.
	second := e.fake.AddOrder(whatalo.Order{CustomerID: c.ID})
	e.poll(t)
	ixWait(t, "both orders in the panel", func() bool {
		r := e.info(t, "+18095550101")
		return len(r.Customers) == 1 && len(r.Customers[0].Orders) == 2 &&
			r.Customers[0].Orders[0].Name == "#"+strconv.Itoa(second.OrderNumber)
	})
}

func TestOrderFeedWaitsOutRateLimits(t *testing.T) {
	e := newIxEnv(t, nil)
	e.poll(t)
	gen := e.b.feed.gen.Load()
	added := e.fake.AddOrder(whatalo.Order{CustomerID: ixMaria})
	e.fake.SetFaults(whatalotest.Faults{RateLimitStorm: true, Times: 1, RetryAfter: 1, Routes: []string{"GET /v1/orders"}})
	e.poll(t)
	if e.fake.Stats().RateLimited != 1 {
		t.Errorf("rate limited %d times, want 1", e.fake.Stats().RateLimited)
	}
	e.b.feed.mu.Lock()
	_, read := e.b.feed.seen[added.ID]
	e.b.feed.mu.Unlock()
	if !read || e.b.feed.gen.Load() != gen {
		t.Errorf("after a 429 the poll read the new order: %v, kept the watched lists: %v; want both", read, e.b.feed.gen.Load() == gen)
	}
}
