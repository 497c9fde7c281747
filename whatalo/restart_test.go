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
		for range 10 {
			ok += runProcess(t, srv, perMinute, 6*time.Second)
		}
		ok += runProcess(t, srv, perMinute, time.Minute) // one that stays
		st := srv.Stats()
		t.Logf("upstream calls %d (%d ok, %d answered 429), max %d in a sliding minute at a %d limit",
			st.Total, ok, st.RateLimited, st.MaxPerMinute, perMinute)
		if st.MaxPerMinute > perMinute {
			t.Errorf("the fake saw %d requests in a minute through ten restarts, over the %d limit", st.MaxPerMinute, perMinute)
		}
		if st.RateLimited != 0 {
			t.Errorf("the fake answered %d requests with 429", st.RateLimited)
		}
		if ok < perMinute {
			t.Errorf("only %d calls succeeded in two minutes: the restarts stalled the key", ok)
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
