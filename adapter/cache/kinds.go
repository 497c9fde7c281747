package cache

import (
	"reflect"
	"time"
)

// Kinds of cached data. They are also metric label values, so the set stays
// small and fixed.
const (
	KindStore          = "store"
	KindCustomer       = "customer"
	KindPhone          = "phone"
	KindEmail          = "email"
	KindOrders         = "orders"
	KindOrdersWatched  = "orders_watched" // order lists while the order feed is live
	KindOrder          = "order"
	KindOrderVersion   = "order_version" // order details by id and updated_at
	KindProducts       = "products"
	KindCustomerSearch = "customer_search"
	KindOrderSearch    = "order_search"
)

// Fresh TTLs of the kinds that do not take Options.DefaultTTL when
// Options.TTL leaves them out.
const (
	// DefaultWatchedOrdersTTL is how long a customer's order list stays
	// fresh while the order feed reports every change within a refresh
	// interval: the TTL is then only a backstop.
	DefaultWatchedOrdersTTL = time.Hour
	// DefaultOrderVersionTTL is how long an order's details are kept under
	// its updated_at. A change to the order gives it a new updated_at, and
	// so a new key: the old details are never served for it.
	DefaultOrderVersionTTL = 6 * time.Hour
)

// kindTTLs returns the fresh TTL of every kind opts names with a positive
// TTL, and of the kinds with a default of their own.
func kindTTLs(opts map[string]time.Duration) map[string]time.Duration {
	ttl := map[string]time.Duration{
		KindOrdersWatched: DefaultWatchedOrdersTTL,
		KindOrderVersion:  DefaultOrderVersionTTL,
	}
	for kind, d := range opts {
		if d > 0 {
			ttl[kind] = d
		}
	}
	return ttl
}

// ttl is the fresh TTL of a non-empty value of kind.
func (c *Cache) ttl(kind string) time.Duration {
	if d, ok := c.opts.TTL[kind]; ok {
		return d
	}
	return c.opts.DefaultTTL
}

// lifetimes returns how long a value of kind stays fresh, and then stale.
// Empty results are kept only NegativeTTL and never served stale: a
// customer who just signed up must be found soon.
func (c *Cache) lifetimes(kind string, v any) (fresh, stale time.Duration) {
	if isEmpty(v) {
		return c.opts.NegativeTTL, 0
	}
	return c.ttl(kind), c.opts.MaxStale
}

// isEmpty reports results that are cached only briefly.
func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Func, reflect.Chan:
		return rv.IsNil()
	case reflect.Slice, reflect.Map:
		return rv.Len() == 0
	}
	return false
}
