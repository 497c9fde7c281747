package whatalo_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

func TestPagesMaxPagesAndMore(t *testing.T) {
	srv := whatalotest.NewServer(t, whatalotest.Generate(250, 1))
	c := newClient(t, srv)
	for _, tt := range []struct {
		max      int
		numbers  []int
		lastMore bool
	}{
		{max: 0, numbers: []int{1, 2, 3}, lastMore: false},
		{max: 2, numbers: []int{1, 2}, lastMore: true},
		{max: 3, numbers: []int{1, 2, 3}, lastMore: false},
	} {
		srv.Reset()
		var numbers []int
		var last *whatalo.Page[whatalo.Customer]
		for pg, err := range c.Customers.Pages(context.Background(), &whatalo.CustomerListOptions{PerPage: 100}, whatalo.MaxPages(tt.max)) {
			if err != nil {
				t.Fatalf("MaxPages(%d): page %d: %v", tt.max, pg.Number, err)
			}
			numbers = append(numbers, pg.Number)
			last = pg
		}
		if !slices.Equal(numbers, tt.numbers) || last.More() != tt.lastMore {
			t.Errorf("MaxPages(%d): pages %v, last More %v; want %v, %v", tt.max, numbers, last.More(), tt.numbers, tt.lastMore)
		}
		if got := srv.Stats().PerRoute["GET /v1/customers"]; got != int64(len(tt.numbers)) {
			t.Errorf("MaxPages(%d): %d list calls, want %d", tt.max, got, len(tt.numbers))
		}
	}
}

func TestPagesStartAtOptsPage(t *testing.T) {
	srv := whatalotest.NewServer(t, whatalotest.Generate(250, 1))
	c := newClient(t, srv)
	opts := &whatalo.CustomerListOptions{Page: 2, PerPage: 100}
	var numbers []int
	for pg, err := range c.Customers.Pages(context.Background(), opts) {
		if err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, pg.Number)
	}
	if !slices.Equal(numbers, []int{2, 3}) || opts.Page != 2 {
		t.Errorf("from page 2: pages %v, opts.Page now %d; want [2 3] and opts untouched", numbers, opts.Page)
	}
}

// Without WaitOutRateLimits a 429 ends the walk, yielding the failed page's
// number with the error.
func TestPagesEndOnARateLimitedPage(t *testing.T) {
	srv := whatalotest.NewServer(t, whatalotest.Generate(250, 1))
	c := newClient(t, srv)
	var failed *whatalo.Page[whatalo.Customer]
	var errs []error
	for pg, err := range c.Customers.Pages(context.Background(), &whatalo.CustomerListOptions{PerPage: 100}) {
		if err != nil {
			failed = pg
			errs = append(errs, err)
			continue
		}
		srv.SetFaults(whatalotest.Faults{RateLimitStorm: true, RetryAfter: 30})
	}
	if len(errs) != 1 || !errors.Is(errs[0], whatalo.ErrRateLimited) || failed.Number != 2 || failed.Items != nil {
		t.Fatalf("errors %v on page %+v; want one 429 on page 2", errs, failed)
	}
	if !strings.HasPrefix(errs[0].Error(), "page 2: ") {
		t.Errorf("error %q does not name the page", errs[0])
	}
	if got := srv.Stats().PerRoute["GET /v1/customers"]; got != 2 {
		t.Errorf("%d list calls, want 2: the 429 is not asked again", got)
	}
}
