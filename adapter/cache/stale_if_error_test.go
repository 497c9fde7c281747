package cache

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestCacheErrorsNotCached(t *testing.T) {
	c, _, obs := newTestCache(t, Options{})
	errDown := errors.New("whatalo 500")
	var calls atomic.Int32
	load := func(context.Context) (string, error) {
		if calls.Add(1) == 1 {
			return "", errDown
		}
		return "back", nil
	}
	_, res, err := Fetch(context.Background(), c, KindProducts, "shoes", load)
	if !errors.Is(err, errDown) || res != ResultError {
		t.Fatalf("failed load: %q, %v; want error, %v", res, err, errDown)
	}
	if c.Len() != 0 {
		t.Errorf("Len after failed load = %d, want 0", c.Len())
	}
	if v, res := fetchString(t, c, KindProducts, "shoes", load); v != "back" || res != ResultMiss {
		t.Errorf("retry = %q, %q; want back, miss", v, res)
	}
	if got := obs.count("products/error"); got != 1 {
		t.Errorf("observed errors = %d, want 1", got)
	}
}

func TestCacheStaleIfError(t *testing.T) {
	// A value that arrives while a load fails (a webhook) is served instead
	// of the error.
	c, _, obs := newTestCache(t, Options{})
	v, res, err := Fetch(context.Background(), c, KindCustomer, "3", func(context.Context) (string, error) {
		c.Set(KindCustomer, "3", "from webhook")
		return "", errors.New("whatalo timeout")
	})
	if err != nil || v != "from webhook" || res != ResultStaleError {
		t.Errorf("Fetch = %q, %q, %v; want from webhook, stale_error, nil", v, res, err)
	}
	if got := obs.count("customer/stale_error"); got != 1 {
		t.Errorf("observed stale_error = %d, want 1", got)
	}
}
