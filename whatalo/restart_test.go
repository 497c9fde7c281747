package whatalo_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// TestRestartsStayUnderTheKeyLimit restarts a busy process ten times in a
// minute: each restart is a fresh Limiter and Client on the same key, under
// more load than the budget, as after a crash loop or a rolling deploy. The
// fake must never see more than the limit in any sliding minute: a new
// Limiter that assumed an empty window would add a burst at every restart.
func TestRestartsStayUnderTheKeyLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const perMinute = 60
		// X-RateLimit-Reset reads as a Unix time only past 2001, and a
		// bubble's clock starts in 2000.
		time.Sleep(time.Until(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)))
		srv := whatalotest.NewMemoryServer(t, nil, whatalotest.WithRateLimit(perMinute))
		ok := 0
		for i := range 11 {
			life := 6 * time.Second
			if i == 10 {
				life = time.Minute // one that stays
			}
			n := runProcess(t, srv, perMinute, life)
			if n == 0 {
				t.Errorf("process %d made no call in %s: the first call's wait stalled the key", i+1, life)
			}
			ok += n
		}
		st := srv.Stats()
		t.Logf("upstream calls %d (%d ok, %d answered 429), max %d in a sliding minute at a %d limit",
			st.Total, ok, st.RateLimited, st.MaxPerMinute, perMinute)
		if st.MaxPerMinute > perMinute {
			t.Errorf("the fake saw %d requests in a minute through ten restarts, over the %d limit", st.MaxPerMinute, perMinute)
		}
		if st.RateLimited != 0 {
			t.Errorf("the fake answered %d requests with 429", st.RateLimited)
		}
		// Refused turns take nothing from the budget, so the callers use
		// most of the 120 calls the key allows in the two minutes, the
		// restarts' first calls alone included (110 here; 17 to 63 when a
		// refusal reserved its turn and gave back less than it took).
		if ok < 90 {
			t.Errorf("only %d calls succeeded in two minutes of a %d/min key over 11 processes", ok, perMinute)
		}
	})
}

// runProcess is one life of a process on the key: a new Limiter and Client
// and 20 callers asking for the store until it dies after life. It returns
// the calls that succeeded.
func runProcess(t *testing.T, srv *whatalotest.Server, perMinute int, life time.Duration) int {
	t.Helper()
	c, err := whatalo.NewClient(srv.APIKey, whatalo.WithBaseURL(srv.APIURL), whatalo.WithHTTPClient(srv.Client()),
		whatalo.WithLimiter(whatalo.NewLimiter(perMinute, whatalo.DefaultBackgroundShare)))
	if err != nil {
		t.Fatal(err)
	}
	alive, kill := context.WithTimeout(context.Background(), life)
	defer kill()
	var mu sync.Mutex
	ok := 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for alive.Err() == nil {
				ctx, cancel := context.WithTimeout(alive, 2*time.Second)
				_, _, err := c.Store.Get(ctx)
				refused := err != nil && ctx.Err() == nil
				cancel()
				switch {
				case err == nil:
					mu.Lock()
					ok++
					mu.Unlock()
				case refused:
					// Refused at once (the turn is past the deadline):
					// a caller asks again a moment later.
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	return ok
}

// TestNewLimiterSendsTheFirstCallAlone: a new Limiter lets its first call
// go alone and sets its bucket from the answer's count, which here says
// another process spent the window: the calls queued behind it then wait
// for the refill instead of bursting. A first call that hangs holds the
// others only a moment.
func TestNewLimiterSendsTheFirstCallAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)))
		srv := whatalotest.NewMemoryServer(t, nil, whatalotest.WithRateLimit(60))
		before := newRestartClient(t, srv, 60)
		for range 50 { // the window's calls of the process before
			if _, _, err := before.Store.Get(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		c := newRestartClient(t, srv, 60)
		var wg sync.WaitGroup
		for range 6 { // a burst of 6 would be allowed to a full bucket
			wg.Go(func() {
				if _, _, err := c.Store.Get(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// 60/min is a burst of 6 and 0.9/s: after the first call, the
		// bucket starts one turn short of empty.
		if el := time.Since(start); el < 5*time.Second {
			t.Errorf("6 calls after a spent window took %s; the new bucket let a burst through", el)
		}

		hung := whatalotest.NewMemoryServer(t, nil)
		hung.SetFaults(whatalotest.Faults{Hang: true, Routes: []string{"GET /v1/customers"}})
		c = newRestartClient(t, hung, 60)
		hangCtx, endHang := context.WithCancel(context.Background())
		wg.Go(func() { _, _, _ = c.Customers.List(hangCtx, nil) })
		time.Sleep(time.Millisecond)
		start = time.Now()
		if _, _, err := c.Store.Get(context.Background()); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("a call behind a hung first call waited %s", el)
		}
		endHang()
		wg.Wait()
	})
}

func newRestartClient(t *testing.T, srv *whatalotest.Server, perMinute int) *whatalo.Client {
	t.Helper()
	c, err := whatalo.NewClient(srv.APIKey, whatalo.WithBaseURL(srv.APIURL), whatalo.WithHTTPClient(srv.Client()),
		whatalo.WithLimiter(whatalo.NewLimiter(perMinute, whatalo.DefaultBackgroundShare)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
