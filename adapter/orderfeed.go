package adapter

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// Order feed defaults.
const (
	// maxFeedPages bounds one poll of the feed. Past it, more orders
	// changed in one interval than are worth reading one by one, and every
	// watched order list is dropped instead.
	maxFeedPages = 10
)

// orderFeed follows the store's orders by updated_at, every feedInterval
// (the index's refresh interval, at least 30 s), and drops the cached order lists of the customers whose orders
// changed: one call a minute keeps every order list fresh, where a TTL
// would re-read each customer's list every minute. While the feed is live,
// order lists are cached under cache.KindOrdersWatched with a long TTL; when it
// stops (no successful poll for three intervals), lookups go back to
// cache.KindOrders and its short TTL.
//
// Whatalo sends no event for deleted orders and its list has no
// deleted-since filter; a deleted order stays in a watched list until the
// customer's next order change or the backstop TTL.
type orderFeed struct {
	// gen is part of every watched key; bumping it drops them all at once
	// (after an outage or a burst of changes the feed did not read).
	gen atomic.Uint64
	// okAt is when the last poll succeeded (unix nanoseconds); zero before.
	okAt atomic.Int64

	mu        sync.Mutex
	watermark time.Time        // newest updated_at read
	seen      map[string]int64 // orders read at the watermark's edge (id -> updated_at)
	dropped   bool             // the last poll did not read every change and bumped gen
}

// live reports whether order lists may be cached as watched at now.
func (f *orderFeed) live(now time.Time, maxAge time.Duration) bool {
	ok := f.okAt.Load()
	return ok != 0 && now.Sub(time.Unix(0, ok)) <= maxAge
}

// watchedKey is the cache key of a customer's watched order list.
func (f *orderFeed) watchedKey(customerID string) string {
	return strconv.FormatUint(f.gen.Load(), 10) + ":" + customerID
}

// feedEnabled: the feed runs with the cache and the index (the index's
// settings are its schedule; a naive pass-through has neither).
func (b *Backend) feedEnabled() bool {
	return !b.opts.Cache.Disabled && !b.opts.Index.Disabled
}

// ordersKind returns the kind and key a customer's order list is cached
// under now.
func (b *Backend) ordersKind(customerID string) (kind, key string) {
	if b.feedEnabled() && b.feed.live(b.now(), 3*b.feedInterval()) {
		return cache.KindOrdersWatched, b.feed.watchedKey(customerID)
	}
	return cache.KindOrders, customerID
}

// forgetOrders drops every cached order list of a customer.
func (b *Backend) forgetOrders(customerID string) {
	watched := b.feed.watchedKey(customerID)
	b.cache.Delete(cache.KindOrders, customerID)
	b.cache.Delete(cache.KindOrders, customerID+onlyOrderSuffix)
	b.cache.Delete(cache.KindOrdersWatched, watched)
	b.cache.Delete(cache.KindOrdersWatched, watched+onlyOrderSuffix)
}

// minFeedInterval bounds how often the feed polls, whatever the index's
// refresh interval: its calls come from the same background share as the
// index sync, on every replica.
const minFeedInterval = 30 * time.Second

// feedInterval is the time between two polls of the order feed: the
// index's refresh interval, at least minFeedInterval.
func (b *Backend) feedInterval() time.Duration {
	return max(b.opts.Index.RefreshInterval, minFeedInterval)
}

// orderFeedTimer polls the feed every feedInterval until ctx ends or stop
// is called, from a timer rather than a goroutine of its own: a process of
// a thousand stores would otherwise keep a thousand goroutines (and their
// stacks) asleep. Nothing polls until arm: Run arms it once the phone index
// is built, which comes first. wake brings a retry after a failure forward
// once Whatalo answers a lookup again (Run calls it on b.resume.feed.wake).
// stop waits for a poll that is running.
func (b *Backend) orderFeedTimer(ctx context.Context) (arm, wake, stop func()) {
	ctx = whatalo.WithPriority(ctx, whatalo.Background)
	every := b.feedInterval()
	var (
		mu       sync.Mutex
		stopped  bool
		polling  bool // a poll is running: only one at a time
		polls    sync.WaitGroup
		failures int
		lastTry  time.Time
		timer    *time.Timer
	)
	poll := func() {
		mu.Lock()
		if stopped || polling {
			mu.Unlock()
			return
		}
		polling = true
		polls.Add(1)
		mu.Unlock()
		defer polls.Done()
		err := b.pollOrders(ctx)
		mu.Lock()
		defer mu.Unlock()
		polling = false
		lastTry = time.Now()
		if ctx.Err() != nil {
			return
		}
		next := every
		if err != nil {
			b.resume.feed.failed()
			failures++
			var staleAt time.Time
			if ok := b.feed.okAt.Load(); ok != 0 {
				staleAt = time.Unix(0, ok).Add(3 * every)
			}
			next = resumeDelay(every, failures, !staleAt.IsZero(), staleAt, b.now())
			b.log.Warn("order feed poll failed", "failures", failures, "retry_in", next, "err", err)
		} else {
			failures = 0
			b.resume.feed.succeeded()
		}
		if !stopped {
			timer.Reset(next)
		}
	}
	arm = func() {
		mu.Lock()
		defer mu.Unlock()
		if !stopped && timer == nil {
			timer = time.AfterFunc(0, poll)
		}
	}
	wake = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped || polling || timer == nil {
			return
		}
		timer.Reset(woken(every, lastTry, time.Now()))
	}
	stop = func() {
		mu.Lock()
		stopped = true
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		polls.Wait()
	}
	return arm, wake, stop
}

// pollOrders reads the orders changed since the watermark, newest first,
// and drops the order lists they make stale; the first poll is
// startOrderFeed.
func (b *Backend) pollOrders(ctx context.Context) error {
	b.feed.mu.Lock()
	defer b.feed.mu.Unlock()
	if b.feed.watermark.IsZero() {
		return b.startOrderFeed(ctx)
	}
	// Orders updated within indexOverlap of the watermark are read again,
	// in case one was written late with an earlier time; seen tells which
	// of them were already handled.
	cutoff := b.feed.watermark.Add(-indexOverlap)
	if b.feed.dropped {
		// The last poll dropped every watched list: what changed before
		// its watermark no longer matters.
		cutoff = b.feed.watermark
	}
	opts := &whatalo.OrderListOptions{Sort: whatalo.OrderSortUpdatedAt, Order: whatalo.SortDesc, PerPage: b.opts.Index.PageSize}
	var read, changed []whatalo.Order
	complete := false
pages:
	for pg, err := range b.client.Orders.Pages(ctx, opts, whatalo.MaxPages(maxFeedPages), whatalo.WaitOutRateLimits(backgroundWait())) {
		if err != nil {
			return fmt.Errorf("order feed: %w", err)
		}
		for _, o := range pg.Items {
			if o.UpdatedAt.Before(cutoff) {
				complete = true
				break pages
			}
			read = append(read, o)
			if prev, ok := b.feed.seen[o.ID]; !ok || prev != o.UpdatedAt.UnixNano() {
				changed = append(changed, o)
			}
		}
		complete = !pg.More()
	}
	if !complete {
		// More changes than one poll reads: start the watched lists
		// afresh rather than read them all.
		b.feed.gen.Add(1)
		b.log.Info("order feed: many orders changed at once; cached order lists dropped", "read", len(read))
	}
	newest := b.feed.watermark
	for _, o := range read {
		newest = later(newest, o.UpdatedAt)
	}
	seen := make(map[string]int64)
	for _, o := range read {
		if !o.UpdatedAt.Before(newest.Add(-indexOverlap)) {
			seen[o.ID] = o.UpdatedAt.UnixNano()
		}
	}
	for id, u := range b.feed.seen {
		// Still inside the next poll's overlap: keep it.
		if _, ok := seen[id]; !ok && u >= newest.Add(-indexOverlap).UnixNano() {
			seen[id] = u
		}
	}
	for _, o := range changed {
		if o.CustomerID != "" {
			// An order other than the customer's known last one is new
			// (or moved): read the customer's totals again, as for a
			// webhook, so a one-order customer gets a list again. A
			// customer the index does not hold yet is new too, and may
			// sit in a cached lookup with the old totals.
			known, ok := b.knownCustomer(o.CustomerID)
			b.orderChanged(o.CustomerID, o.ID, !ok || known.LastOrderID != o.ID)
		}
		if o.OrderNumber != 0 {
			b.cache.Delete(cache.KindOrderSearch, strconv.Itoa(o.OrderNumber))
		}
	}
	b.feed.watermark = newest
	b.feed.seen = seen
	b.feed.dropped = !complete
	b.feed.okAt.Store(b.now().UnixNano())
	if len(changed) > 0 || !complete {
		b.changed()
	}
	return nil
}

// startOrderFeed is the first poll: it reads the newest order to set the
// watermark. Nothing is cached as watched before it, so nothing is dropped.
// A store without orders keeps no watermark, and the next poll starts again.
func (b *Backend) startOrderFeed(ctx context.Context) error {
	var os []whatalo.Order
	err := backgroundWait().Do(ctx, func(ctx context.Context) (err error) {
		os, _, err = b.client.Orders.List(ctx, &whatalo.OrderListOptions{Sort: whatalo.OrderSortUpdatedAt, Order: whatalo.SortDesc, PerPage: 1})
		return err
	})
	if err != nil {
		return fmt.Errorf("order feed: %w", err)
	}
	b.feed.seen = map[string]int64{}
	if len(os) > 0 {
		b.feed.watermark = os[0].UpdatedAt
		b.feed.seen[os[0].ID] = os[0].UpdatedAt.UnixNano()
	}
	b.feed.okAt.Store(b.now().UnixNano())
	return nil
}
