package whatalo_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// The tests of this file run in a synctest bubble, whose clock moves only
// when every goroutine in it waits: a wait for Whatalo's reset takes no real
// time, and how long it lasted is exact. The fake is served in memory, since
// the bubble's clock does not follow the network.

// newBubbleFake returns a fake of 250 customers and a client of it, served in
// memory, for use inside a bubble. It first moves the bubble's clock from
// 2000 to 2025: X-RateLimit-Reset reads as a Unix time only past 2001.
func newBubbleFake(t *testing.T) (*whatalotest.Fake, *whatalo.Client) {
	t.Helper()
	time.Sleep(time.Until(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)))
	fake := whatalotest.New(whatalotest.Generate(250, 1), whatalotest.WithRateLimit(100000))
	t.Cleanup(fake.Close)
	c, err := whatalo.NewClient(whatalotest.DefaultAPIKey,
		whatalo.WithBaseURL("http://whatalo.test/v1"),
		whatalo.WithHTTPClient(&http.Client{Transport: fake.Transport()}),
		whatalo.WithRetryMax(0),
		whatalo.WithLimiter(whatalo.NewLimiter(6000, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

// getStore is one call for Do to make.
func getStore(c *whatalo.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		_, _, err := c.Store.Get(ctx)
		return err
	}
}

func TestRateLimitWaitWaitsUntilWhataloSays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake, c := newBubbleFake(t)
		fake.SetFaults(whatalotest.Faults{RateLimitStorm: true, RetryAfter: 7, Times: 2})
		var waits []time.Duration
		w := whatalo.RateLimitWait{OnWait: func(d time.Duration, err error) {
			if !errors.Is(err, whatalo.ErrRateLimited) {
				t.Errorf("OnWait told of %v, want the 429", err)
			}
			waits = append(waits, d)
		}}
		start := time.Now()
		if err := w.Do(context.Background(), getStore(c)); err != nil {
			t.Fatalf("Do: %v", err)
		}
		if got := time.Since(start); got < 14*time.Second {
			t.Errorf("two 429s with Retry-After 7 were over after %s, want at least 14s", got)
		}
		if len(waits) != 2 || waits[0] != 7*time.Second || waits[1] != 7*time.Second {
			t.Errorf("waits = %v, want [7s 7s]", waits)
		}
		if st := fake.Stats(); st.Total != 3 || st.RateLimited != 2 {
			t.Errorf("fake stats %+v, want 3 calls of which 2 answered 429", st)
		}
	})
}

func TestRateLimitWaitNeverPassesTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake, c := newBubbleFake(t)
		fake.SetFaults(whatalotest.Faults{RateLimitStorm: true, RetryAfter: 30})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		waited := false
		w := whatalo.RateLimitWait{OnWait: func(time.Duration, error) { waited = true }}
		start := time.Now()
		err := w.Do(ctx, getStore(c))
		var we *whatalo.Error
		if !errors.As(err, &we) || we.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("Do with a reset past the deadline = %v, want the 429 at once", err)
		}
		if waited || time.Since(start) != 0 {
			t.Errorf("Do waited %s (OnWait called: %v) for a reset past its deadline", time.Since(start), waited)
		}
		if st := fake.Stats(); st.Total != 1 {
			t.Errorf("fake saw %d calls, want 1", st.Total)
		}
	})
}

func TestRateLimitWaitStopsAfterMaxTries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake, c := newBubbleFake(t)
		fake.SetFaults(whatalotest.Faults{RateLimitStorm: true, RetryAfter: 1})
		waits := 0
		w := whatalo.RateLimitWait{MaxTries: 3, OnWait: func(time.Duration, error) { waits++ }}
		if err := w.Do(context.Background(), getStore(c)); !errors.Is(err, whatalo.ErrRateLimited) {
			t.Fatalf("Do in an endless storm = %v, want ErrRateLimited", err)
		}
		if st := fake.Stats(); st.Total != 3 || waits != 2 {
			t.Errorf("%d calls and %d waits, want 3 tries and the 2 waits between them", st.Total, waits)
		}
	})
}

func TestRateLimitWaitEndsWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake, c := newBubbleFake(t)
		fake.SetFaults(whatalotest.Faults{RateLimitStorm: true, RetryAfter: 60})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := whatalo.RateLimitWait{OnWait: func(time.Duration, error) {
			go func() {
				time.Sleep(time.Second)
				cancel()
			}()
		}}
		start := time.Now()
		if err := w.Do(ctx, getStore(c)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Do cancelled while waiting = %v, want context.Canceled", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("Do returned %s after the start, want at the cancel, 1s in", got)
		}
		if st := fake.Stats(); st.Total != 1 {
			t.Errorf("fake saw %d calls, want 1", st.Total)
		}
	})
}

// A try bounded by TryTimeout that the Limiter refuses, its pause being
// longer, waits for the pause outside the bound and then goes.
func TestRateLimitWaitWaitsOutTheLimiterPastTryTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake, c := newBubbleFake(t)
		c.Limiter().Pause(time.Now().Add(2 * time.Minute))
		var refusals []error
		w := whatalo.RateLimitWait{TryTimeout: 10 * time.Second, OnWait: func(_ time.Duration, err error) {
			refusals = append(refusals, err)
		}}
		start := time.Now()
		if err := w.Do(context.Background(), getStore(c)); err != nil {
			t.Fatalf("Do: %v", err)
		}
		var le *whatalo.LimiterError
		if len(refusals) != 1 || !errors.As(refusals[0], &le) || le.PausedUntil.IsZero() {
			t.Errorf("waited after %v, want one Limiter refusal for the pause", refusals)
		}
		if got := time.Since(start); got < 2*time.Minute {
			t.Errorf("the call went %s in, before the 2m pause ended", got)
		}
		if st := fake.Stats(); st.Total != 1 || st.RateLimited != 0 {
			t.Errorf("fake stats %+v, want the one call, after the pause", st)
		}
	})
}

func TestRateLimitWaitReturnsOtherErrorsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake, c := newBubbleFake(t)
		fake.SetFaults(whatalotest.Faults{ErrorRate: 1, ErrorStatus: http.StatusNotFound})
		w := whatalo.RateLimitWait{OnWait: func(time.Duration, error) { t.Error("waited after a 404") }}
		if err := w.Do(context.Background(), getStore(c)); !errors.Is(err, whatalo.ErrNotFound) {
			t.Fatalf("Do on a 404 = %v, want it returned", err)
		}
		if st := fake.Stats(); st.Total != 1 {
			t.Errorf("fake saw %d calls, want 1", st.Total)
		}
	})
}

// A walk with WaitOutRateLimits asks a rate-limited page again after
// Whatalo's reset and goes on from there.
func TestPagesWaitOutRateLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake, c := newBubbleFake(t)
		var waits []time.Duration
		wait := whatalo.WaitOutRateLimits(whatalo.RateLimitWait{OnWait: func(d time.Duration, _ error) { waits = append(waits, d) }})
		start := time.Now()
		var numbers []int
		seen := map[string]bool{}
		for pg, err := range c.Customers.Pages(context.Background(), &whatalo.CustomerListOptions{PerPage: 100}, wait) {
			if err != nil {
				t.Fatalf("page %d: %v", pg.Number, err)
			}
			numbers = append(numbers, pg.Number)
			for _, cu := range pg.Items {
				seen[cu.ID] = true
			}
			if pg.Number == 1 {
				fake.SetFaults(whatalotest.Faults{RateLimitStorm: true, RetryAfter: 3, Times: 1})
			}
		}
		if len(numbers) != 3 || numbers[0] != 1 || numbers[1] != 2 || numbers[2] != 3 || len(seen) != 250 {
			t.Errorf("pages %v with %d customers; want 1, 2, 3 with all 250", numbers, len(seen))
		}
		if len(waits) != 1 || waits[0] != 3*time.Second || time.Since(start) < 3*time.Second {
			t.Errorf("waits %v over %s; want one of 3s", waits, time.Since(start))
		}
		if st := fake.Stats(); st.PerRoute["GET /v1/customers"] != 4 || st.RateLimited != 1 {
			t.Errorf("fake stats %+v, want 4 list calls of which one 429", st)
		}
	})
}
