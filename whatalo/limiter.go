package whatalo

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Published per-key limits of the Whatalo API, in requests per minute.
const (
	LiveKeyLimit = 1000 // wk_live_ keys
	TestKeyLimit = 100  // wk_test_ keys
)

// DefaultBackgroundShare is the share of a key's budget that background work
// (index syncs, the order feed, imports) may use, leaving the rest to
// interactive calls. A Client's default Limiter uses it, and so does the
// service's configuration (background_share).
const DefaultBackgroundShare = 0.3

// maxPause bounds how long a rate-limit header can pause a key, so a bogus
// Reset or Retry-After cannot freeze a store for good.
const maxPause = 5 * time.Minute

// DefaultRateLimit is the per-minute budget to use for apiKey: 90 % of
// Whatalo's published limit for its prefix, keeping a margin for clock skew
// between our window and Whatalo's. Keys that are neither wk_live_ nor
// wk_test_ get the test budget, the safe choice.
func DefaultRateLimit(apiKey string) int {
	if strings.HasPrefix(apiKey, "wk_live_") {
		return LiveKeyLimit * 9 / 10
	}
	return TestKeyLimit * 9 / 10
}

// Priority orders calls that compete for one key's budget.
type Priority int

const (
	// Interactive is the default: a person or WAzion is waiting for the answer.
	Interactive Priority = iota
	// Background is sync work (index builds, imports) that must not starve
	// interactive calls; it is held to the Limiter's background share.
	Background
)

// String returns "interactive" or "background", suitable as a metric label.
func (p Priority) String() string {
	if p == Background {
		return "background"
	}
	return "interactive"
}

type priorityKey struct{}

// WithPriority returns a context whose Whatalo calls run at priority p.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityFrom returns the priority set by WithPriority, or Interactive.
func PriorityFrom(ctx context.Context) Priority {
	if p, ok := ctx.Value(priorityKey{}).(Priority); ok {
		return p
	}
	return Interactive
}

// Limiter is the request budget of one API key. Share one Limiter between all
// Clients using the same key (WithLimiter); the budget is per key at Whatalo.
//
// It is a token bucket sized so that no 60-second window ever holds more than
// perMinute requests: with burst b and refill rate r per second, a window sees
// at most b + 60r requests, and NewLimiter picks b + 60r = perMinute.
// Background calls also take a token from a second bucket refilled at
// backgroundShare of the rate, so they never use more than that share and
// interactive calls always keep the rest.
//
// While background work holds a reservation (ReserveShare), interactive
// calls also take a token from a third bucket refilled at the rest of the
// rate, so the background share is there for that work however busy the
// key is.
//
// Whatalo's own signals override the bucket: a response with
// X-RateLimit-Remaining: 0 pauses the key until X-RateLimit-Reset, and a 429
// pauses it for Retry-After. Waits that cannot finish before their context
// deadline fail at once with a *LimiterError.
//
// A new Limiter does not assume Whatalo's window is empty: another process
// on the key (this one, before a restart) may have spent it. Until a
// response tells Whatalo's count, calls through a Client go one at a time;
// the first count then empties the bucket of what the window already holds
// (see countFirstWindow).
type Limiter struct {
	perMinute int
	share     float64
	main      *rate.Limiter
	bg        *rate.Limiter
	inter     *rate.Limiter // interactive calls' bucket while reserved > 0

	takeMu sync.Mutex // see take

	mu          sync.Mutex
	pausedUntil time.Time
	seen        bool
	remaining   int
	limit       int
	reset       time.Time
	reserved    int           // ReserveShare holders
	probing     bool          // the first call is out, before a count was seen
	probeSince  time.Time     // when it went
	probeDone   chan struct{} // closed when it ends

	// shared, when set by SetShared, is asked after the local bucket.
	shared atomic.Pointer[sharedBudget]
}

// NewLimiter returns a Limiter allowing at most perMinute requests in any
// 60-second window, of which background calls may use backgroundShare (a
// share outside (0, 1] means no separate cap). perMinute below 1 is taken as 1.
func NewLimiter(perMinute int, backgroundShare float64) *Limiter {
	if perMinute < 1 {
		perMinute = 1
	}
	if backgroundShare <= 0 || backgroundShare > 1 {
		backgroundShare = 1
	}
	burst, perSecond := bucketSize(perMinute)
	bgBurst := max(1, int(float64(burst)*backgroundShare))
	return &Limiter{
		perMinute: perMinute,
		share:     backgroundShare,
		main:      rate.NewLimiter(perSecond, burst),
		bg:        rate.NewLimiter(perSecond*rate.Limit(backgroundShare), bgBurst),
		inter:     rate.NewLimiter(perSecond*rate.Limit(1-backgroundShare), max(1, burst-bgBurst)),
		remaining: -1,
		limit:     -1,
	}
}

// bucketSize splits perMinute into a burst and a refill rate whose 60-second
// total (burst + 60 * rate) is exactly perMinute. A tenth of the budget as
// burst absorbs a page of parallel lookups without letting a spike eat the
// minute. With perMinute 1 the rate is one per minute and the burst 1, which
// still allows one request in any window shorter than a minute.
func bucketSize(perMinute int) (burst int, perSecond rate.Limit) {
	burst = max(1, perMinute/10)
	refill := perMinute - burst
	if refill == 0 {
		return burst, rate.Limit(1.0 / 60)
	}
	return burst, rate.Limit(float64(refill) / 60)
}

// PerMinute returns the budget the Limiter enforces.
func (l *Limiter) PerMinute() int { return l.perMinute }

// BackgroundShare returns the share of the budget background calls may use.
func (l *Limiter) BackgroundShare() float64 { return l.share }

// LimiterState is a snapshot of a Limiter for metrics and health checks.
type LimiterState struct {
	PerMinute   int       // the enforced budget
	Tokens      float64   // requests that could start now without waiting
	PausedUntil time.Time // zero unless Whatalo asked us to stop
	// Remaining, Limit and Reset are the last X-RateLimit-* headers seen;
	// Remaining and Limit are -1 until a response carried them.
	Remaining int
	Limit     int
	Reset     time.Time
}

// State returns a snapshot of the Limiter.
func (l *Limiter) State() LimiterState {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := LimiterState{
		PerMinute: l.perMinute,
		Tokens:    l.main.Tokens(),
		Remaining: l.remaining,
		Limit:     l.limit,
		Reset:     l.reset,
	}
	if time.Now().Before(l.pausedUntil) {
		s.PausedUntil = l.pausedUntil
	}
	return s
}

// Remaining returns the last X-RateLimit-Remaining and X-RateLimit-Limit seen
// for the key; ok is false until a response carried them.
func (l *Limiter) Remaining() (remaining, limit int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.remaining, l.limit, l.seen
}

// Pause stops every call on the key until t. Pauses only ever extend, and are
// capped at five minutes from now so a bad header cannot stall a store.
func (l *Limiter) Pause(t time.Time) {
	if limit := time.Now().Add(maxPause); t.After(limit) {
		t = limit
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.pausedUntil) {
		l.pausedUntil = t
	}
}

func (l *Limiter) record(remaining, limit int, reset time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.seen {
		l.countFirstWindow(remaining, limit, time.Now())
	}
	l.seen = true
	l.remaining, l.limit, l.reset = remaining, limit, reset
	l.endProbeLocked()
}

// countFirstWindow sets the new bucket from Whatalo's first count, after
// the first call. The burst is cut to what it has left beside the calls
// Whatalo holds in its window (used, the first call among them), which
// keeps any window holding them under perMinute. When they are more than
// a burst, the processes that had the key before made them through a
// bucket like this one, at no more than its refill rate, so they leave the
// window as fast as the refill adds turns: the bucket starts empty, less
// the first call, which their bucket had not granted. Only the burst is
// cut; the refill goes on as normal. With a shared budget (SetShared) the
// shared bucket already counts every replica's calls and nothing is cut.
// Callers hold mu.
func (l *Limiter) countFirstWindow(remaining, limit int, now time.Time) {
	if l.shared.Load() != nil || remaining < 0 {
		return
	}
	allowed := float64(remaining) // without the limit, what Whatalo has left
	if limit >= 0 {
		used := max(0, limit-remaining)
		allowed = float64(max(-1, l.main.Burst()-used))
	}
	if excess := l.main.TokensAt(now) - allowed; excess > 0 {
		l.main.ReserveN(now, min(l.main.Burst(), int(math.Ceil(excess))))
	}
}

// firstCall makes a call through a Client wait, until Whatalo's count of
// the key is known, for the call before it to end, so that a new process
// spends one call, not a burst, on a window it knows nothing of. A first
// call that has not ended after firstCallPatience (a hung upstream) lets
// the next one go, so that it does not hold every other caller to its own
// timeout. release ends the call's part: when it ended without a count (an
// error, no headers) the next call goes.
func (l *Limiter) firstCall(ctx context.Context) (release func(), err error) {
	for {
		l.mu.Lock()
		if l.seen || l.shared.Load() != nil {
			l.mu.Unlock()
			return func() {}, nil
		}
		now := time.Now()
		if !l.probing || now.Sub(l.probeSince) >= firstCallPatience {
			l.endProbeLocked() // wakes the others to wait for this call
			l.probing, l.probeSince = true, now
			l.probeDone = make(chan struct{})
			done := l.probeDone
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				if l.probeDone == done {
					l.endProbeLocked()
				}
				l.mu.Unlock()
			}, nil
		}
		done, patience := l.probeDone, l.probeSince.Add(firstCallPatience).Sub(now)
		l.mu.Unlock()
		t := time.NewTimer(patience)
		select {
		case <-done:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		t.Stop()
	}
}

// firstCallPatience is how long the calls after a new Limiter's first one
// wait for its answer before the next goes anyway.
const firstCallPatience = time.Second

func (l *Limiter) endProbeLocked() {
	if l.probing {
		l.probing = false
		close(l.probeDone)
	}
}

// ReserveShare holds the background share of the budget for background
// work that others wait for (the first build of a phone index, which
// lookups fall back to Whatalo's search until it ends): until release, the
// Limiter's interactive calls are held to the rest of the budget, leaving
// the share's turns to background calls however many interactive calls
// queue. With a shared budget that holds reservations (SharedReserver),
// every replica's interactive calls leave the share too. Reservations
// nest; release is idempotent. Without a separate share (a share of 1) it
// reserves nothing.
func (l *Limiter) ReserveShare() (release func()) {
	if l.share >= 1 {
		return func() {}
	}
	l.mu.Lock()
	l.reserved++
	first := l.reserved == 1
	l.mu.Unlock()
	if first {
		l.reserveShared(true)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			l.reserved--
			last := l.reserved == 0
			l.mu.Unlock()
			if last {
				l.reserveShared(false)
			}
		})
	}
}

func (l *Limiter) isReserved() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reserved > 0
}

func (l *Limiter) pauseEnd() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pausedUntil
}

// Wait blocks until a request at ctx's priority may start. It fails at once,
// with a *LimiterError, when the wait would pass ctx's deadline, and with
// ctx's error when ctx ends while waiting.
func (l *Limiter) Wait(ctx context.Context) error {
	_, err := l.wait(ctx, PriorityFrom(ctx))
	return err
}

// wait returns how long the call waited.
func (l *Limiter) wait(ctx context.Context, p Priority) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	start := time.Now()
	if until := l.pauseEnd(); start.Before(until) {
		d := until.Sub(start)
		if dl, ok := ctx.Deadline(); ok && dl.Before(until.Add(callReserve(dl.Sub(start)))) {
			return 0, &LimiterError{Priority: p, Wait: d, Left: dl.Sub(start), PerMinute: l.perMinute, PausedUntil: until}
		}
		if err := sleep(ctx, d); err != nil {
			return time.Since(start), err
		}
	}
	if p == Background {
		if err := l.take(ctx, l.bg, p, true); err != nil {
			return time.Since(start), err
		}
	} else if l.isReserved() {
		if err := l.take(ctx, l.inter, p, false); err != nil {
			if le, ok := err.(*LimiterError); ok {
				le.Reserved = true
			}
			return time.Since(start), err
		}
	}
	if err := l.take(ctx, l.main, p, false); err != nil {
		return time.Since(start), err
	}
	if sh := l.shared.Load(); sh != nil {
		if err := sh.take(ctx, l.perMinute, p); err != nil {
			return time.Since(start), err
		}
	}
	return time.Since(start), nil
}

// take reserves one token from lim and sleeps until it is due. Reserve, not
// Wait, so a refusal can say how far away the token was.
//
// A turn that would come too late is refused before anything is reserved:
// a reservation cancelled after others followed it gives back less than it
// took (x/time/rate's CancelAt), and under a crowd of callers with short
// deadlines those lost turns added up to half the budget. takeMu keeps the
// look at the bucket and the reservation together.
func (l *Limiter) take(ctx context.Context, lim *rate.Limiter, p Priority, share bool) error {
	l.takeMu.Lock()
	now := time.Now()
	if d := delayOf(lim, now); d > 0 {
		if dl, ok := ctx.Deadline(); ok && now.Add(d+callReserve(dl.Sub(now))).After(dl) {
			l.takeMu.Unlock()
			return &LimiterError{Priority: p, Wait: d, Left: dl.Sub(now), PerMinute: l.perMinute, Share: share}
		}
	}
	r := lim.ReserveN(now, 1)
	l.takeMu.Unlock()
	if !r.OK() {
		return &LimiterError{Priority: p, PerMinute: l.perMinute, Share: share}
	}
	d := r.DelayFrom(now)
	if d == 0 {
		return nil
	}
	if err := sleep(ctx, d); err != nil {
		r.Cancel()
		return err
	}
	return nil
}

// delayOf is how long after now a reservation of one token from lim would
// wait: nothing while a token is there, else the time the missing part
// takes to refill.
func delayOf(lim *rate.Limiter, now time.Time) time.Duration {
	tokens := lim.TokensAt(now)
	if tokens >= 1 || lim.Limit() == rate.Inf {
		return 0
	}
	if lim.Limit() <= 0 {
		return 0 // never refills: ReserveN says so
	}
	return time.Duration((1 - tokens) / float64(lim.Limit()) * float64(time.Second))
}

// maxCallReserve is the time a call needs after its turn comes: a turn
// that leaves less than that before the deadline is refused at once, since
// the call would be cancelled in flight and still count at Whatalo.
const maxCallReserve = time.Second

// callReserve is the reserve for a context with left until its deadline:
// maxCallReserve, or a quarter of what is left when that is shorter, so
// short budgets (tests, tight margins) still queue.
func callReserve(left time.Duration) time.Duration {
	return max(0, min(maxCallReserve, left/4))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// LimiterError is a call the Limiter refused because its turn would come
// after the context deadline. It matches ErrRateLimited; no request was sent.
type LimiterError struct {
	Priority    Priority
	Wait        time.Duration // how far away the call's turn was
	Left        time.Duration // time left before the deadline
	PerMinute   int           // the key's budget
	Share       bool          // the background share, not the whole budget, ran out
	Reserved    bool          // the interactive rest ran out while background work held its share (ReserveShare)
	Shared      bool          // the budget shared with other replicas ran out (see SetShared)
	PausedUntil time.Time     // set when Whatalo paused the key (429 or Remaining 0)
}

func (e *LimiterError) Error() string {
	switch {
	case !e.PausedUntil.IsZero():
		return fmt.Sprintf("rate limit: key paused by Whatalo for %s more, deadline in %s",
			roundDuration(e.Wait), roundDuration(e.Left))
	case e.Shared:
		return fmt.Sprintf("rate limit: budget of %d requests/min shared by all replicas used up, next %s slot in %s, deadline in %s",
			e.PerMinute, e.Priority, roundDuration(e.Wait), roundDuration(e.Left))
	case e.Reserved:
		return fmt.Sprintf("rate limit: interactive part of %d requests/min used up while background work holds its share, next slot in %s, deadline in %s",
			e.PerMinute, roundDuration(e.Wait), roundDuration(e.Left))
	case e.Share:
		return fmt.Sprintf("rate limit: background share of %d requests/min used up, next slot in %s, deadline in %s",
			e.PerMinute, roundDuration(e.Wait), roundDuration(e.Left))
	default:
		return fmt.Sprintf("rate limit: local budget of %d requests/min used up, next %s slot in %s, deadline in %s",
			e.PerMinute, e.Priority, roundDuration(e.Wait), roundDuration(e.Left))
	}
}

// Is makes a refusal match ErrRateLimited.
func (e *LimiterError) Is(target error) bool { return target == ErrRateLimited }

func roundDuration(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
