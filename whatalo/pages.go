package whatalo

import (
	"context"
	"fmt"
	"iter"
)

// Page is one page of a list, as the Pages methods yield it.
type Page[T any] struct {
	Number   int       // the page's number, from 1
	Items    []T       // nil on a failed page
	Response *Response // pagination and rate-limit headers; nil when no answer came
}

// More reports whether the list goes on after p. After a walk stopped by
// MaxPages, it tells a complete walk from a cut one.
func (p *Page[T]) More() bool {
	return len(p.Items) > 0 && p.Response.NextPage() > p.Number
}

// WalkOption changes how a walk over a list's pages (Pages, All) goes.
type WalkOption func(*walk)

type walk struct {
	maxPages int
	wait     *RateLimitWait
}

// MaxPages ends a walk after n pages (n < 1: no bound).
func MaxPages(n int) WalkOption {
	return func(w *walk) { w.maxPages = n }
}

// WaitOutRateLimits makes a walk wait out a rate-limited page as rw says and
// ask for the same page again, instead of ending with the error. It is for
// background work; an interactive walk without it fails on the first 429,
// and with it still never waits past its context's deadline.
func WaitOutRateLimits(rw RateLimitWait) WalkOption {
	return func(w *walk) { w.wait = &rw }
}

// pager is a list options type whose page fields a walk sets.
type pager[O any] interface {
	*O
	pageFields() (page, perPage *int)
}

// pages walks a list page by page from opts' page (1 when unset), 100 per
// page unless opts says otherwise, calling list with a copy of opts. It ends
// after the last page (one that is empty, or whose pagination names no
// next), when the consumer stops, after MaxPages, or after a failed page,
// which is yielded with its Number and the error, prefixed with the page.
func pages[T, O any, PO pager[O]](ctx context.Context, opts PO, list func(context.Context, PO) ([]T, *Response, error), walkOpts []WalkOption) iter.Seq2[*Page[T], error] {
	return func(yield func(*Page[T], error) bool) {
		var pg *Page[T]
		get := func(ctx context.Context, o PO, n int) (int, *Response, error) {
			pg = &Page[T]{Number: n}
			var err error
			pg.Items, pg.Response, err = list(ctx, o)
			return len(pg.Items), pg.Response, err
		}
		walkPages(ctx, opts, walkOpts, get, func(err error) bool {
			if err != nil {
				pg.Items = nil
			}
			return yield(pg, err)
		})
	}
}

// walkPages is the walk pages and streams make: it calls get for each page
// with a copy of opts set to that page, and done after it, with the error,
// prefixed with the page, of a failed one, which ends the walk. The walk
// also ends when done returns false, after the last page (no items, or a
// pagination that names no next) and after MaxPages.
func walkPages[O any, PO pager[O]](ctx context.Context, opts PO, walkOpts []WalkOption,
	get func(ctx context.Context, o PO, page int) (items int, resp *Response, err error), done func(err error) bool) {
	var w walk
	for _, o := range walkOpts {
		o(&w)
	}
	o := PO(new(O))
	if opts != nil {
		*o = *opts
	}
	page, perPage := o.pageFields()
	if *perPage == 0 {
		*perPage = maxPerPage
	}
	n := max(1, *page)
	for walked := 1; ; walked++ {
		*page = n
		var items int
		var resp *Response
		fetch := func(ctx context.Context) (err error) {
			items, resp, err = get(ctx, o, n)
			return err
		}
		var err error
		if w.wait != nil {
			err = w.wait.Do(ctx, fetch)
		} else {
			err = fetch(ctx)
		}
		if err != nil {
			done(fmt.Errorf("page %d: %w", n, err))
			return
		}
		last := items == 0 || resp.NextPage() <= n
		if !done(nil) || last || (w.maxPages > 0 && walked >= w.maxPages) {
			return
		}
		n = resp.NextPage()
	}
}

// items flattens a walk over pages into one over their items. A failed page
// ends it with the page's error.
func items[T any](pages iter.Seq2[*Page[T], error]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for pg, err := range pages {
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range pg.Items {
				if !yield(it, nil) {
					return
				}
			}
		}
	}
}
