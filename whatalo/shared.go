package whatalo

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// SharedLimiter is a key's budget kept outside the process, so that several
// replicas of a service spend one budget between them instead of each
// spending the whole of it. A Limiter asks it after its own bucket (see
// SetShared). Implementations must be safe for concurrent use and must
// return quickly: they run on the request path, and an error is better than
// a slow answer.
type SharedLimiter interface {
	// Allow takes one request's turn at priority p. It returns 0 when the
	// request may start now, or how long until a turn may be free, having
	// taken nothing. An error means the budget could not be asked in time.
	Allow(ctx context.Context, p Priority) (time.Duration, error)
	// Charge records n requests made while the budget could not be asked,
	// taking at most what it has left, so that a recovery does not add a
	// full burst on top of them.
	Charge(ctx context.Context, n int) error
}

// SharedReserver is a SharedLimiter that can also hold the background
// share for every replica, as ReserveShare holds it in one process: while
// one replica's background work holds it, the interactive calls of all of
// them keep to the rest of the shared budget. A Limiter whose SharedLimiter
// is one tells it of its reservations. Both calls are best effort: a hold
// that could not be recorded only leaves the share unprotected.
type SharedReserver interface {
	// Reserve starts this replica's hold on the share. The implementation
	// keeps it while this replica makes background calls and lets it
	// lapse if the replica stops (dies) without Unreserve.
	Reserve(ctx context.Context) error
	// Unreserve ends this replica's hold.
	Unreserve(ctx context.Context) error
}

// sharedReserveTimeout bounds telling the shared budget of a reservation.
const sharedReserveTimeout = 2 * time.Second

// reserveShared tells the shared budget, if it holds reservations, that
// this process's first reservation began (held) or its last one ended.
func (l *Limiter) reserveShared(held bool) {
	sh := l.shared.Load()
	if sh == nil {
		return
	}
	r, ok := sh.s.(SharedReserver)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedReserveTimeout)
	defer cancel()
	if held {
		_ = r.Reserve(ctx)
	} else {
		_ = r.Unreserve(ctx)
	}
}

// DefaultSharedRetry is how long after a failure a Limiter asks its shared
// budget again, unless SharedOptions.RetryAfter says otherwise.
const DefaultSharedRetry = time.Second

// SharedOptions configure how a Limiter uses a SharedLimiter.
type SharedOptions struct {
	// Replicas is how many processes are expected to share the key. While
	// the shared budget cannot be asked, each process falls back to a local
	// bucket of PerMinute / Replicas, so that together they still stay
	// under the limit. Below 1 is taken as 1.
	Replicas int
	// RetryAfter is how long after a failure the shared budget is asked
	// again; meanwhile calls use the fallback bucket at once instead of
	// waiting on a store that is down (default DefaultSharedRetry).
	RetryAfter time.Duration
	// OnChange, if set, is told when the Limiter falls back (degraded true,
	// with the error) and when it recovers. It must be fast.
	OnChange func(degraded bool, err error)
}

// SharedState is a snapshot of a Limiter's use of its shared budget, for
// metrics and health checks.
type SharedState struct {
	Enabled           bool      // SetShared was called
	Degraded          bool      // using the fallback bucket
	Since             time.Time // when the current fallback began; zero when not degraded
	LastError         string    // the last failure to ask the shared budget
	FallbackPerMinute int       // the fallback bucket's budget
	Fallbacks         int64     // calls that took their turn from the fallback bucket
	Refusals          int64     // calls the shared budget refused past their deadline
}

// SetShared makes the Limiter ask s for every call after its own bucket, so
// that the replicas of a service sharing the key keep to one budget: calls
// at Background priority are held to the background share there too, as the
// SharedLimiter implements it. When s fails, calls fall back to a local
// bucket of PerMinute / opts.Replicas, started empty so that the calls
// already made in the current window are not repeated; s is asked again
// after opts.RetryAfter, and the first success ends the fallback. Call it
// before the Limiter is used; a nil s removes the shared budget.
func (l *Limiter) SetShared(s SharedLimiter, opts SharedOptions) {
	if s == nil {
		l.shared.Store(nil)
		return
	}
	if opts.Replicas < 1 {
		opts.Replicas = 1
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultSharedRetry
	}
	l.shared.Store(&sharedBudget{
		s:        s,
		opts:     opts,
		fbPerMin: max(1, l.perMinute/opts.Replicas),
		share:    l.share,
	})
}

// SharedState returns a snapshot of the Limiter's shared budget; Enabled is
// false without SetShared.
func (l *Limiter) SharedState() SharedState {
	sh := l.shared.Load()
	if sh == nil {
		return SharedState{}
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := SharedState{
		Enabled:           true,
		Degraded:          sh.degraded,
		LastError:         sh.lastErr,
		FallbackPerMinute: sh.fbPerMin,
		Fallbacks:         sh.fallbacks.Load(),
		Refusals:          sh.refusals.Load(),
	}
	if sh.degraded {
		st.Since = sh.since
	}
	return st
}

// RetryShared ends a fallback at once, for a caller that knows the shared
// budget is back (its store answered a health check), so that an idle
// Limiter does not wait for its next call to leave the fallback. The calls
// made from the fallback are charged to the shared budget. Without a
// fallback running it does nothing.
func (l *Limiter) RetryShared(ctx context.Context) {
	sh := l.shared.Load()
	if sh == nil {
		return
	}
	sh.mu.Lock()
	claimed := sh.degraded && !sh.probing
	if claimed {
		sh.probing = true
	}
	sh.mu.Unlock()
	if claimed {
		sh.recover(ctx)
	}
}

// sharedBudget is a Limiter's link to a SharedLimiter, with the fallback
// used while it fails.
type sharedBudget struct {
	s        SharedLimiter
	opts     SharedOptions
	fbPerMin int
	share    float64

	fallbacks atomic.Int64
	refusals  atomic.Int64

	mu       sync.Mutex
	degraded bool
	since    time.Time
	retryAt  time.Time
	probing  bool     // one call is asking the shared budget while degraded
	fallback *Limiter // created empty when a fallback begins
	charged  int      // calls made from the fallback since it began
	lastErr  string
}

// take waits for the shared budget's turn, or the fallback's.
func (b *sharedBudget) take(ctx context.Context, perMinute int, p Priority) error {
	for {
		if !b.shouldAsk(time.Now()) {
			return b.takeFallback(ctx, p)
		}
		wait, err := b.s.Allow(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				// The caller's deadline, not the store's failure.
				b.endProbe()
				return ctx.Err()
			}
			b.fail(err)
			return b.takeFallback(ctx, p)
		}
		b.recover(ctx)
		if wait <= 0 {
			return nil
		}
		now := time.Now()
		if dl, ok := ctx.Deadline(); ok && now.Add(wait+callReserve(dl.Sub(now))).After(dl) {
			b.refusals.Add(1)
			return &LimiterError{Priority: p, Wait: wait, Left: dl.Sub(now), PerMinute: perMinute, Shared: true}
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// shouldAsk reports whether this call asks the shared budget: always when
// it works, and one call at a time once RetryAfter has passed when it
// failed.
func (b *sharedBudget) shouldAsk(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.degraded {
		return true
	}
	if b.probing || now.Before(b.retryAt) {
		return false
	}
	b.probing = true
	return true
}

func (b *sharedBudget) endProbe() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// fail starts (or extends) a fallback. A new fallback bucket starts empty:
// the calls of the current window were counted by the shared budget, which
// can no longer be asked, so the fallback only adds its refill rate.
func (b *sharedBudget) fail(err error) {
	b.mu.Lock()
	now := time.Now()
	started := !b.degraded
	if started {
		b.degraded = true
		b.since = now
		b.charged = 0
		b.fallback = newDrainedLimiter(b.fbPerMin, b.share, now)
	}
	b.retryAt = now.Add(b.opts.RetryAfter)
	b.probing = false
	b.lastErr = err.Error()
	b.mu.Unlock()
	if started && b.opts.OnChange != nil {
		b.opts.OnChange(true, err)
	}
}

// recover ends a fallback after the shared budget answered, charging it
// with the calls made meanwhile.
func (b *sharedBudget) recover(ctx context.Context) {
	b.mu.Lock()
	if !b.degraded {
		b.mu.Unlock()
		return
	}
	n := b.charged
	b.degraded, b.probing, b.charged = false, false, 0
	b.since = time.Time{}
	b.mu.Unlock()
	if n > 0 {
		// Best effort: failing here only means a burst after recovery.
		_ = b.s.Charge(ctx, n)
	}
	if b.opts.OnChange != nil {
		b.opts.OnChange(false, nil)
	}
}

// takeFallback waits for a turn of the fallback bucket.
func (b *sharedBudget) takeFallback(ctx context.Context, p Priority) error {
	b.mu.Lock()
	fb := b.fallback
	b.mu.Unlock()
	if fb == nil {
		return nil // unreachable: a fallback begins before it is used
	}
	if p == Background {
		if err := fb.take(ctx, fb.bg, p, true); err != nil {
			return err
		}
	}
	if err := fb.take(ctx, fb.main, p, false); err != nil {
		return err
	}
	b.fallbacks.Add(1)
	b.mu.Lock()
	b.charged++
	b.mu.Unlock()
	return nil
}

// newDrainedLimiter is a Limiter of perMinute with no token left at now.
func newDrainedLimiter(perMinute int, share float64, now time.Time) *Limiter {
	l := NewLimiter(perMinute, share)
	l.main.ReserveN(now, l.main.Burst())
	l.bg.ReserveN(now, l.bg.Burst())
	return l
}
