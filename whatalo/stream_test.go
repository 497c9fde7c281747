package whatalo_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

func TestStreamYieldsWhatAllYields(t *testing.T) {
	srv := whatalotest.NewServer(t, whatalotest.Generate(250, 1))
	c := newClient(t, srv)
	opts := &whatalo.CustomerListOptions{Sort: whatalo.CustomerSortUpdatedAt, Order: whatalo.SortDesc}
	var all []whatalo.Customer
	for cu, err := range c.Customers.All(ctx5s(t), opts) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, cu)
	}
	srv.Reset()
	var streamed []whatalo.Customer
	for cu, err := range c.Customers.Stream(ctx5s(t), opts) {
		if err != nil {
			t.Fatal(err)
		}
		streamed = append(streamed, *cu)
	}
	if len(all) != 250 || !reflect.DeepEqual(streamed, all) {
		t.Fatalf("Stream yielded %d customers, All %d; equal: %v", len(streamed), len(all), reflect.DeepEqual(streamed, all))
	}
	if got := srv.Stats().PerRoute["GET /v1/customers"]; got != 3 {
		t.Errorf("%d list calls, want 3", got)
	}
}

// The *Customer is reused: a field one customer has and the next lacks
// must not carry over. Keys come in any order, unknown ones are skipped.
func TestStreamResetsEachCustomer(t *testing.T) {
	const body = `{"pagination":{"page":1,"per_page":100,"total":2,"total_pages":1},"meta":{"x":[1,2]},` +
		`"data":[{"id":"1","name":"Ana","notes":"vip","email":"a@x.com","last_order_at":"2025-01-02T03:04:05Z","total_spent":12.5},` +
		`{"id":"2","name":"Bea"}]}` + "\n"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}))
	t.Cleanup(api.Close)
	c, err := whatalo.NewClient("wk_test_stream", whatalo.WithBaseURL(api.URL))
	if err != nil {
		t.Fatal(err)
	}
	var got []whatalo.Customer
	for cu, err := range c.Customers.Stream(ctx5s(t), nil) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, *cu)
	}
	if len(got) != 2 || got[0].Notes != "vip" || got[0].LastOrderAt == nil || got[0].TotalSpent.String() != "12.5" {
		t.Fatalf("first customer %+v", got)
	}
	if b := got[1]; b.ID != "2" || b.Name != "Bea" || b.Notes != "" || b.Email != "" || b.LastOrderAt != nil || !b.TotalSpent.IsZero() {
		t.Errorf("second customer kept the first one's fields: %+v", b)
	}
}

func TestStreamStopsWhenTheConsumerDoes(t *testing.T) {
	srv := whatalotest.NewServer(t, whatalotest.Generate(250, 1))
	c := newClient(t, srv)
	n := 0
	for _, err := range c.Customers.Stream(ctx5s(t), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 150 {
			break
		}
	}
	if got := srv.Stats().PerRoute["GET /v1/customers"]; n != 150 || got != 2 {
		t.Errorf("stopped after %d customers and %d list calls, want 150 and 2", n, got)
	}
}

func TestStreamMaxPages(t *testing.T) {
	srv := whatalotest.NewServer(t, whatalotest.Generate(250, 1))
	c := newClient(t, srv)
	n := 0
	for _, err := range c.Customers.Stream(ctx5s(t), &whatalo.CustomerListOptions{PerPage: 100}, whatalo.MaxPages(2)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if got := srv.Stats().PerRoute["GET /v1/customers"]; n != 200 || got != 2 {
		t.Errorf("MaxPages(2): %d customers in %d list calls, want 200 in 2", n, got)
	}
}

// Without WaitOutRateLimits a 429 ends the walk with the page's error.
func TestStreamEndsOnARateLimitedPage(t *testing.T) {
	srv := whatalotest.NewServer(t, whatalotest.Generate(250, 1))
	c := newClient(t, srv)
	n := 0
	var errs []error
	for _, err := range c.Customers.Stream(ctx5s(t), nil) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n++; n == 100 {
			srv.SetFaults(whatalotest.Faults{RateLimitStorm: true, RetryAfter: 30})
		}
	}
	if len(errs) != 1 || !errors.Is(errs[0], whatalo.ErrRateLimited) || !strings.HasPrefix(errs[0].Error(), "page 2: ") || n != 100 {
		t.Fatalf("%d customers, errors %v; want 100 and one 429 on page 2", n, errs)
	}
}

func TestStreamUnusableBodies(t *testing.T) {
	tests := []struct {
		name   string
		faults whatalotest.Faults
		edit   func(*http.Response)
		opts   []whatalo.Option
		want   string
	}{
		{name: "malformed", faults: whatalotest.Faults{MalformedJSON: true}, want: "decode response: invalid JSON"},
		{name: "truncated", faults: whatalotest.Faults{TruncatedBody: true}, want: "read response: truncated body after"},
		{name: "html", edit: func(r *http.Response) {
			r.Body.Close()
			r.Header.Set("Content-Type", "text/html; charset=utf-8")
			r.Body = io.NopCloser(strings.NewReader("<html>maintenance</html>"))
			r.ContentLength = -1
		}, want: "decode response: response is not JSON (content-type text/html; charset=utf-8)"},
		{name: "oversized", opts: []whatalo.Option{whatalo.WithMaxBodySize(1 << 10)}, want: "response body exceeds 1 KiB"},
		{name: "oversized without length", edit: func(r *http.Response) { r.ContentLength = -1 },
			opts: []whatalo.Option{whatalo.WithMaxBodySize(1 << 10)}, want: "read response: response body exceeds 1 KiB"},
		{name: "no data", edit: func(r *http.Response) {
			r.Body.Close()
			r.Body = io.NopCloser(strings.NewReader(`{"pagination":{"page":1}}`))
			r.ContentLength = -1
		}, want: "decode response: response has no data field"},
		{name: "ends early", edit: func(r *http.Response) {
			r.Body.Close()
			r.Body = io.NopCloser(strings.NewReader(`{"data":[{"id":"1"},`))
			r.ContentLength = -1
		}, want: "decode response: invalid JSON: ends early after 20 bytes (truncated)"},
		{name: "wrong type", edit: func(r *http.Response) {
			r.Body.Close()
			r.Body = io.NopCloser(strings.NewReader(`{"data":[{"id":1}]}`))
			r.ContentLength = -1
		}, want: "decode response: unexpected data"},
		{name: "empty", edit: func(r *http.Response) {
			r.Body.Close()
			r.Body = io.NopCloser(strings.NewReader(""))
			r.ContentLength = -1
		}, want: "decode response: empty body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := whatalotest.NewServer(t, whatalotest.Generate(40, 5))
			rec := &recorder{edit: tt.edit}
			c := newClient(t, srv, append([]whatalo.Option{withRecorder(rec)}, tt.opts...)...)
			srv.SetFaults(tt.faults)
			var errs []error
			for _, err := range c.Customers.Stream(ctx5s(t), nil) {
				if err != nil {
					errs = append(errs, err)
				}
			}
			if len(errs) != 1 || !errors.Is(errs[0], whatalo.ErrBadResponse) {
				t.Fatalf("errors %v; want one ErrBadResponse", errs)
			}
			err := errs[0]
			if !strings.HasPrefix(err.Error(), "page 1: whatalo: GET /customers: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}
