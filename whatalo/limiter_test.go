package whatalo_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

func TestDefaultRateLimit(t *testing.T) {
	for key, want := range map[string]int{
		"wk_live_abc": 900,
		"wk_test_abc": 90,
		"sk_other":    90,
		"":            90,
	} {
		if got := whatalo.DefaultRateLimit(key); got != want {
			t.Errorf("DefaultRateLimit(%q) = %d, want %d", key, got, want)
		}
	}
}

func drain(t *testing.T, l *whatalo.Limiter, ctx context.Context, n int) {
	t.Helper()
	for i := range n {
		if err := l.Wait(ctx); err != nil {
			t.Fatalf("wait %d of the burst: %v", i, err)
		}
	}
}

// empty takes tokens until less than half of one is left, so the next one
// is at least half a refill interval away.
func empty(t *testing.T, l *whatalo.Limiter, ctx context.Context) {
	t.Helper()
	for i := 0; l.State().Tokens >= 0.5; i++ {
		if err := l.Wait(ctx); err != nil {
			t.Fatalf("wait %d while emptying the bucket: %v", i, err)
		}
	}
}

func TestLimiterFailsFastPastTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 600/min: burst 60, then one token every ~111 ms.
		l := whatalo.NewLimiter(600, 1)
		empty(t, l, context.Background())

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := l.Wait(ctx)
		if !errors.Is(err, whatalo.ErrRateLimited) {
			t.Fatalf("wait past the deadline: got %v, want ErrRateLimited", err)
		}
		var le *whatalo.LimiterError
		if !errors.As(err, &le) || le.Wait <= 20*time.Millisecond || le.PerMinute != 600 {
			t.Fatalf("want a *LimiterError with the wait and budget, got %#v", err)
		}
		if el := time.Since(start); el != 0 {
			t.Fatalf("refusal took %s; it should not wait", el)
		}

		ctx, cancel = context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start = time.Now()
		if err := l.Wait(ctx); err != nil {
			t.Fatalf("wait within the deadline: %v", err)
		}
		if el := time.Since(start); el < 40*time.Millisecond {
			t.Fatalf("bucket empty but Wait returned after %s", el)
		}
	})
}

// A turn that comes just before the deadline leaves the call no time to
// run: it would be cancelled in flight and still count at Whatalo, so the
// limiter refuses it at once.
func TestLimiterRefusesATurnThatLeavesNoTimeForTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 60/min: burst 6, then one token every ~1.1 s.
		l := whatalo.NewLimiter(60, 1)
		empty(t, l, context.Background())

		probe, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		err := l.Wait(probe)
		cancel()
		var le *whatalo.LimiterError
		if !errors.As(err, &le) || le.Wait <= 0 {
			t.Fatalf("probe: want a *LimiterError naming the wait, got %v", err)
		}

		// The turn comes 100 ms before this deadline.
		ctx, cancel := context.WithTimeout(context.Background(), le.Wait+100*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := l.Wait(ctx); !errors.Is(err, whatalo.ErrRateLimited) {
			t.Fatalf("turn 100 ms before the deadline: got %v, want ErrRateLimited", err)
		}
		if el := time.Since(start); el != 0 {
			t.Fatalf("refusal took %s; it should not wait", el)
		}
	})
}

func TestLimiterPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := whatalo.NewLimiter(1000, 1)
		l.Pause(time.Now().Add(300 * time.Millisecond))
		if st := l.State(); st.PausedUntil.IsZero() {
			t.Fatal("State does not show the pause")
		}

		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := l.Wait(ctx)
		var le *whatalo.LimiterError
		if !errors.As(err, &le) || le.PausedUntil.IsZero() || !errors.Is(err, whatalo.ErrRateLimited) {
			t.Fatalf("wait during a pause with a short deadline: got %v, want a paused *LimiterError", err)
		}
		if time.Since(start) != 0 {
			t.Fatal("refusal during a pause waited")
		}

		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := l.Wait(ctx); err != nil {
			t.Fatalf("wait with room for the pause: %v", err)
		}
		if el := time.Since(start); el < 250*time.Millisecond {
			t.Fatalf("wait returned after %s, inside the 300 ms pause", el)
		}
	})
}

func TestLimiterCancelledWhileWaiting(t *testing.T) {
	l := whatalo.NewLimiter(1000, 1)
	l.Pause(time.Now().Add(time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: got %v, want context.Canceled", err)
	}
}

func TestLimiterBackgroundShare(t *testing.T) {
	// 600/min, 10 % background: the background bucket holds 6 and refills
	// at 0.9/s, while the main bucket holds 60.
	l := whatalo.NewLimiter(600, 0.1)
	bg := whatalo.WithPriority(context.Background(), whatalo.Background)
	drain(t, l, bg, 6)

	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	err := l.Wait(ctx)
	var le *whatalo.LimiterError
	if !errors.As(err, &le) || !le.Share || le.Priority != whatalo.Background {
		t.Fatalf("background past its share: got %v, want a share *LimiterError", err)
	}

	// Interactive calls still have the rest of the main bucket.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	drain(t, l, ctx, 50)
	if whatalo.PriorityFrom(ctx) != whatalo.Interactive {
		t.Fatal("default priority is not Interactive")
	}
}

func TestLimiterReserveShareKeepsTheShareForBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 600/min, 10 % background: bursts of 60, of which 6 are the
		// share's, refilled at 9/s, of which 0.9/s are the share's.
		l := whatalo.NewLimiter(600, 0.1)
		release := l.ReserveShare()
		fg, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		drain(t, l, fg, 54)
		err := l.Wait(fg)
		var le *whatalo.LimiterError
		if !errors.As(err, &le) || !le.Reserved || !errors.Is(err, whatalo.ErrRateLimited) {
			t.Fatalf("interactive past the rest while the share is reserved: got %v, want a reserved *LimiterError", err)
		}
		bg := whatalo.WithPriority(fg, whatalo.Background)
		drain(t, l, bg, 6)

		// With 20 interactive callers queueing for every turn, background
		// work still gets the share's turns, one every 1.11 s.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ctx = whatalo.WithPriority(ctx, whatalo.Background)
		done := make(chan struct{})
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					wctx, wcancel := context.WithTimeout(context.Background(), 2*time.Second)
					if l.Wait(wctx) != nil {
						time.Sleep(10 * time.Millisecond)
					}
					wcancel()
				}
			})
		}
		start := time.Now()
		var bgErr error
		for range 8 {
			if bgErr = l.Wait(ctx); bgErr != nil {
				break
			}
		}
		el := time.Since(start)
		close(done)
		wg.Wait()
		if bgErr != nil || el > 9*time.Second {
			t.Fatalf("8 background turns under interactive load: %v after %s, want them in about 8.9 s", bgErr, el)
		}
		release()
		release() // idempotent
	})
}
