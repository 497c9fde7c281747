package adapter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/phone"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// badPhones lists the phones of a request that could not be read.
type badPhones []error

func (e badPhones) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return "invalid " + strings.Join(msgs, "; ")
}

// maxPhoneSearchPages bounds the pages read when a phone search matches many
// customers by substring; the real matches are filtered from them.
const maxPhoneSearchPages = 2

// storeInfo returns the store's settings, cached for a long time. Callers
// fall back to configuration when it fails.
func (b *Backend) storeInfo(ctx context.Context) (*whatalo.Store, error) {
	s, res, err := cache.Fetch(ctx, b.cache, cache.KindStore, "store", func(ctx context.Context) (*whatalo.Store, error) {
		s, _, err := b.client.Store.Get(ctx)
		if err != nil {
			return nil, fmt.Errorf("fetch store info: %w", err)
		}
		return s, nil
	})
	annotateCache(ctx, res)
	return s, err
}

// region is the default region for national phone numbers.
func (b *Backend) region(ctx context.Context) string {
	if b.opts.Region != "" {
		return b.opts.Region
	}
	if s, err := b.storeInfo(ctx); err == nil && s != nil {
		return strings.ToUpper(s.CountryCode)
	}
	return ""
}

// phoneKeys normalises phones and returns their distinct canonical keys in
// order. Bad phones are reported together; the good ones are still used.
func (b *Backend) phoneKeys(ctx context.Context, phones []string) ([]string, error) {
	region := b.region(ctx)
	var keys []string
	var bad badPhones
	seen := map[string]bool{}
	for _, p := range phones {
		if strings.TrimSpace(p) == "" {
			continue
		}
		e164, err := b.phones.Normalize(p, region)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		k := phone.Key(e164)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if len(bad) > 0 {
		return keys, bad
	}
	return keys, nil
}

// customerPhoneKey is the canonical key of a stored customer's phone, or ""
// when it has none that parses.
func (b *Backend) customerPhoneKey(c *whatalo.Customer, region string) string {
	return b.phones.KeyOf(c.Phone, region)
}

// displayPhone is the customer's phone in E.164 when it parses, else as
// stored.
func (b *Backend) displayPhone(raw, region string) string {
	if e164, err := b.phones.Normalize(raw, region); err == nil {
		return e164
	}
	return raw
}

// customersByPhones finds every customer whose phone matches one of phones,
// deduplicated by id, in the order of phones. Unreadable phones are an
// error only when no phone could be read: a bad related phone must not
// spoil the answer for the good ones.
func (b *Backend) customersByPhones(ctx context.Context, phones []string) ([]whatalo.Customer, error) {
	keys, phoneErr := b.phoneKeys(ctx, phones)
	if len(keys) == 0 {
		if phoneErr == nil {
			phoneErr = badPhones{errors.New("phone: none given")}
		}
		return nil, phoneErr
	}
	if phoneErr != nil {
		wazion.Annotate(ctx, "bad_phones", phoneErr.Error())
	}
	results := make([][]whatalo.Customer, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	for i, k := range keys {
		g.Go(func() error {
			cs, err := b.customersByPhoneKey(gctx, k)
			results[i] = cs
			return err
		})
	}
	err := g.Wait()
	var out []whatalo.Customer
	seen := map[string]bool{}
	for _, cs := range results {
		for _, c := range cs {
			if !seen[c.ID] {
				seen[c.ID] = true
				out = append(out, c)
			}
		}
	}
	return out, err
}

// customersByPhoneKey finds the customers of one canonical phone key: from
// the phone index when it is ready, else by Whatalo's search filtered by key,
// since search matches substrings of any field.
func (b *Backend) customersByPhoneKey(ctx context.Context, key string) ([]whatalo.Customer, error) {
	if cs, ok := b.indexedByPhone(key); ok {
		// The index is the phone cache in effect: nothing went upstream.
		b.cache.Observe(cache.KindPhone, cache.ResultHit)
		annotateCache(ctx, cache.ResultHit)
		return cs, nil
	}
	cs, res, err := cache.Fetch(ctx, b.cache, cache.KindPhone, key, func(ctx context.Context) ([]whatalo.Customer, error) {
		if err := b.allowColdSearch(); err != nil {
			return nil, err
		}
		region := b.region(ctx)
		return b.searchCustomers(ctx, phone.SearchText(key), func(c *whatalo.Customer) bool {
			return b.customerPhoneKey(c, region) == key
		})
	})
	annotateCache(ctx, res)
	if err != nil {
		return nil, fmt.Errorf("look up phone %s: %w", wazion.MaskPhone(key), err)
	}
	b.rememberFound(res, cs)
	return cs, nil
}

// searchCustomers runs Whatalo's search and keeps the customers keep accepts.
func (b *Backend) searchCustomers(ctx context.Context, q string, keep func(*whatalo.Customer) bool) ([]whatalo.Customer, error) {
	var out []whatalo.Customer
	opts := &whatalo.CustomerListOptions{Search: q, PerPage: 100}
	for c, err := range b.client.Customers.All(ctx, opts, whatalo.MaxPages(maxPhoneSearchPages)) {
		if err != nil {
			return nil, fmt.Errorf("search customers: %w", err)
		}
		if keep(&c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// customersByEmail finds customers whose email equals email, ignoring case:
// from the phone index when it is ready, else by search.
func (b *Backend) customersByEmail(ctx context.Context, email string) ([]whatalo.Customer, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return nil, nil
	}
	if cs, ok := b.indexedByEmail(email); ok {
		b.cache.Observe(cache.KindEmail, cache.ResultHit)
		annotateCache(ctx, cache.ResultHit)
		return cs, nil
	}
	cs, res, err := cache.Fetch(ctx, b.cache, cache.KindEmail, email, func(ctx context.Context) ([]whatalo.Customer, error) {
		if err := b.allowColdSearch(); err != nil {
			return nil, err
		}
		return b.searchCustomers(ctx, email, func(c *whatalo.Customer) bool {
			return strings.EqualFold(strings.TrimSpace(c.Email), email)
		})
	})
	annotateCache(ctx, res)
	if err != nil {
		return nil, fmt.Errorf("look up email: %w", err)
	}
	b.rememberFound(res, cs)
	return cs, nil
}

// recentOrders returns a customer's most recent orders, newest first,
// without items.
func (b *Backend) recentOrders(ctx context.Context, customerID string, n int) ([]whatalo.Order, error) {
	kind, key := b.ordersKind(customerID)
	os, res, err := cache.Fetch(ctx, b.cache, kind, key, func(ctx context.Context) ([]whatalo.Order, error) {
		os, _, err := b.client.Orders.List(ctx, &whatalo.OrderListOptions{
			CustomerID: customerID, Sort: "created_at", Order: "desc", PerPage: b.opts.OrdersCount,
		})
		if err != nil {
			return nil, fmt.Errorf("fetch orders of customer %s: %w", customerID, err)
		}
		return os, nil
	})
	annotateCache(ctx, res)
	if err != nil {
		return nil, err
	}
	os = slices.Clone(os)
	slices.SortStableFunc(os, func(a, b whatalo.Order) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return os[:min(n, len(os))], nil
}

// onlyOrder returns the order of a customer who has one, with its items,
// in one call where the list and the details take two: the customer's
// last_order_id names it. Most customers buy once. It is cached with the
// customer's order lists and dropped with them (forgetOrders); a cached
// order that is no longer the customer's last is read again.
func (b *Backend) onlyOrder(ctx context.Context, c whatalo.Customer) ([]whatalo.Order, error) {
	kind, key := b.ordersKind(c.ID)
	key += onlyOrderSuffix
	load := func(ctx context.Context) ([]whatalo.Order, error) {
		o, _, err := b.client.Orders.Get(ctx, c.LastOrderID)
		if err != nil {
			return nil, fmt.Errorf("fetch order %s of customer %s: %w", c.LastOrderID, c.ID, err)
		}
		if o.CustomerID != "" && o.CustomerID != c.ID {
			return nil, nil
		}
		return []whatalo.Order{*o}, nil
	}
	os, res, err := cache.Fetch(ctx, b.cache, kind, key, load)
	if err == nil && len(os) == 1 && os[0].ID != c.LastOrderID {
		b.cache.Delete(kind, key)
		os, res, err = cache.Fetch(ctx, b.cache, kind, key, load)
	}
	annotateCache(ctx, res)
	if err != nil {
		return nil, err
	}
	return slices.Clone(os), nil
}

// onlyOrderSuffix marks onlyOrder's entries among the order lists.
const onlyOrderSuffix = "#only"

// orderDetail returns one order with its items. An order listed with its
// updated_at is cached under that version for long: any change to it gives
// it a new one.
func (b *Backend) orderDetail(ctx context.Context, listed whatalo.Order) (*whatalo.Order, error) {
	id := listed.ID
	kind, key := cache.KindOrder, id
	if !listed.UpdatedAt.IsZero() {
		kind, key = cache.KindOrderVersion, id+"@"+strconv.FormatInt(listed.UpdatedAt.UnixNano(), 10)
	}
	o, res, err := cache.Fetch(ctx, b.cache, kind, key, func(ctx context.Context) (*whatalo.Order, error) {
		o, _, err := b.client.Orders.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("fetch order %s: %w", id, err)
		}
		return o, nil
	})
	annotateCache(ctx, res)
	return o, err
}

// withItems replaces the first n orders by their detailed form, fetched in
// parallel. An order whose detail fails keeps its list form; the first error
// is returned beside the orders.
func (b *Backend) withItems(ctx context.Context, orders []whatalo.Order, n int) ([]whatalo.Order, error) {
	out := slices.Clone(orders)
	n = min(n, len(out))
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			d, err := b.orderDetail(ctx, out[i])
			if err != nil {
				errs[i] = err
				return
			}
			out[i] = *d
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// orderByNumber finds an order by its number ("1001" or "#1001").
func (b *Backend) orderByNumber(ctx context.Context, number string) (*whatalo.Order, error) {
	n := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(number), "#"))
	if n == "" {
		return nil, nil
	}
	os, res, err := cache.Fetch(ctx, b.cache, cache.KindOrderSearch, n, func(ctx context.Context) ([]whatalo.Order, error) {
		os, _, err := b.client.Orders.List(ctx, &whatalo.OrderListOptions{Search: n, PerPage: 25})
		if err != nil {
			return nil, fmt.Errorf("search orders %q: %w", n, err)
		}
		return os, nil
	})
	annotateCache(ctx, res)
	if err != nil {
		return nil, err
	}
	for _, o := range os {
		if fmt.Sprint(o.OrderNumber) == n {
			return b.orderDetail(ctx, o)
		}
	}
	return nil, nil
}

// customer returns one customer by id.
func (b *Backend) customer(ctx context.Context, id string) (*whatalo.Customer, error) {
	c, res, err := cache.Fetch(ctx, b.cache, cache.KindCustomer, id, func(ctx context.Context) (*whatalo.Customer, error) {
		c, _, err := b.client.Customers.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("fetch customer %s: %w", id, err)
		}
		return c, nil
	})
	annotateCache(ctx, res)
	return c, err
}
