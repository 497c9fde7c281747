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

// fakeShared is a SharedLimiter whose answers the test sets.
type fakeShared struct {
	mu      sync.Mutex
	wait    time.Duration // returned by Allow while waits > 0
	waits   int
	err     error
	asked   []whatalo.Priority
	charged []int
}

func (f *fakeShared) Allow(ctx context.Context, p whatalo.Priority) (time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, p)
	if f.err != nil {
		return 0, f.err
	}
	if f.waits > 0 {
		f.waits--
		return f.wait, nil
	}
	return 0, nil
}

func (f *fakeShared) Charge(ctx context.Context, n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.charged = append(f.charged, n)
	return nil
}

func (f *fakeShared) set(wait time.Duration, waits int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wait, f.waits, f.err = wait, waits, err
}

func (f *fakeShared) calls() ([]whatalo.Priority, []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]whatalo.Priority(nil), f.asked...), append([]int(nil), f.charged...)
}

func TestLimiterWithoutSharedBudget(t *testing.T) {
	l := whatalo.NewLimiter(600, 0.5)
	if st := l.SharedState(); st.Enabled {
		t.Fatalf("SharedState without SetShared = %+v", st)
	}
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestLimiterAsksSharedBudgetAtEachPriority(t *testing.T) {
	l := whatalo.NewLimiter(6000, 0.5)
	f := &fakeShared{}
	l.SetShared(f, whatalo.SharedOptions{Replicas: 3})
	ctx := context.Background()
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(whatalo.WithPriority(ctx, whatalo.Background)); err != nil {
		t.Fatal(err)
	}
	asked, _ := f.calls()
	if len(asked) != 2 || asked[0] != whatalo.Interactive || asked[1] != whatalo.Background {
		t.Fatalf("shared budget asked %v, want [interactive background]", asked)
	}
	st := l.SharedState()
	if !st.Enabled || st.Degraded || st.FallbackPerMinute != 2000 {
		t.Fatalf("state = %+v, want enabled, not degraded, fallback 6000/3", st)
	}
}

func TestLimiterWaitsForSharedTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := whatalo.NewLimiter(6000, 1)
		f := &fakeShared{}
		f.set(60*time.Millisecond, 1, nil)
		l.SetShared(f, whatalo.SharedOptions{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < 60*time.Millisecond {
			t.Fatalf("shared budget said wait 60ms; Wait returned after %s", el)
		}
		if asked, _ := f.calls(); len(asked) != 2 {
			t.Fatalf("shared budget asked %d times, want 2 (refused, then allowed)", len(asked))
		}
	})
}

func TestLimiterSharedRefusalPastDeadlineFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := whatalo.NewLimiter(6000, 1)
		f := &fakeShared{}
		f.set(5*time.Second, 1, nil)
		l.SetShared(f, whatalo.SharedOptions{})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := l.Wait(ctx)
		var le *whatalo.LimiterError
		if !errors.Is(err, whatalo.ErrRateLimited) || !errors.As(err, &le) || !le.Shared || le.Wait != 5*time.Second {
			t.Fatalf("got %v, want a shared *LimiterError with the 5s wait", err)
		}
		if el := time.Since(start); el != 0 {
			t.Fatalf("refusal took %s; it should not wait", el)
		}
		if st := l.SharedState(); st.Refusals != 1 || st.Degraded {
			t.Fatalf("state = %+v, want one refusal and no fallback", st)
		}
	})
}

func TestLimiterFallsBackAndRecovers(t *testing.T) {
	// 600/min over 2 replicas: a fallback of 300/min, burst 30, then one
	// token every 222 ms; it starts empty.
	l := whatalo.NewLimiter(600, 1)
	f := &fakeShared{}
	var mu sync.Mutex
	var changes []bool
	l.SetShared(f, whatalo.SharedOptions{
		Replicas:   2,
		RetryAfter: 300 * time.Millisecond,
		OnChange: func(degraded bool, err error) {
			mu.Lock()
			changes = append(changes, degraded)
			mu.Unlock()
		},
	})
	f.set(0, 0, errors.New("connection refused"))

	// The first call finds the store down and the fallback empty: its
	// turn is ~222 ms away, past a 50 ms deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := l.Wait(ctx)
	cancel()
	var le *whatalo.LimiterError
	if !errors.As(err, &le) || le.Shared || le.PerMinute != 300 {
		t.Fatalf("got %v, want a refusal by the 300/min fallback bucket", err)
	}
	st := l.SharedState()
	if !st.Degraded || st.LastError != "connection refused" || st.Since.IsZero() {
		t.Fatalf("state = %+v, want degraded with the error", st)
	}

	// Within RetryAfter the store is not asked again; the fallback
	// serves the call once its token is due.
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Fatalf("fallback bucket should start empty; Wait returned after %s", el)
	}
	if asked, _ := f.calls(); len(asked) != 1 {
		t.Fatalf("store asked %d times during RetryAfter, want 1", len(asked))
	}
	if st := l.SharedState(); st.Fallbacks != 1 {
		t.Fatalf("fallbacks = %d, want 1", st.Fallbacks)
	}

	// The store comes back: after RetryAfter the next call asks it and
	// the fallback ends, charging the call made meanwhile.
	f.set(0, 0, nil)
	time.Sleep(300 * time.Millisecond)
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	st = l.SharedState()
	if st.Degraded || !st.Since.IsZero() {
		t.Fatalf("state after recovery = %+v", st)
	}
	if _, charged := f.calls(); len(charged) != 1 || charged[0] != 1 {
		t.Fatalf("charged %v, want [1]", charged)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 2 || !changes[0] || changes[1] {
		t.Fatalf("OnChange calls %v, want [true false]", changes)
	}
}

// hungShared answers only when the caller gives up.
type hungShared struct{}

func (hungShared) Allow(ctx context.Context, p whatalo.Priority) (time.Duration, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

func (hungShared) Charge(ctx context.Context, n int) error { return nil }

func TestLimiterSharedErrorAtCallerDeadlineIsNotAFailure(t *testing.T) {
	l := whatalo.NewLimiter(6000, 1)
	l.SetShared(hungShared{}, whatalo.SharedOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	// The caller's deadline ends the question: its own error comes back,
	// and the store is not taken for down.
	if err := l.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if st := l.SharedState(); st.Degraded || st.LastError != "" {
		t.Fatalf("a caller's deadline made the limiter fall back: %+v", st)
	}
}

func TestLimiterRetrySharedEndsFallback(t *testing.T) {
	l := whatalo.NewLimiter(6000, 1)
	f := &fakeShared{}
	l.SetShared(f, whatalo.SharedOptions{Replicas: 2, RetryAfter: time.Hour})
	l.RetryShared(context.Background()) // nothing to end
	f.set(0, 0, errors.New("down"))
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !l.SharedState().Degraded {
		t.Fatal("not degraded after a failure")
	}
	f.set(0, 0, nil)
	l.RetryShared(context.Background())
	if st := l.SharedState(); st.Degraded {
		t.Fatalf("still degraded after RetryShared: %+v", st)
	}
	if _, charged := f.calls(); len(charged) != 1 || charged[0] != 1 {
		t.Fatalf("charged %v, want the one fallback call", charged)
	}
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if asked, _ := f.calls(); len(asked) != 2 {
		t.Fatalf("shared budget asked %d times, want 2: the call after RetryShared asks it", len(asked))
	}
}
