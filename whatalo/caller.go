package whatalo

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ErrCallerBudget matches an interactive call refused because the caller it
// was made for (a WAzion token, say) has spent its CallerBudget: other
// callers of the key go on. It also matches ErrRateLimited; no request was
// sent.
var ErrCallerBudget = errors.New("whatalo: caller's share of the key's budget used up")

// CallerBudget is the part of a key's budget one caller may spend: a token
// bucket sized, like the Limiter's, so that no 60-second window holds more
// than PerMinute of the caller's attempts. The key's Limiter still decides
// when each attempt goes; the CallerBudget only decides whether a caller
// may ask at all, so one caller's flood cannot queue ahead of the others.
// It is its own small bucket rather than a rate.Limiter because an attempt
// the key then refuses sent nothing and is given back, which a
// rate.Reservation already due cannot do.
type CallerBudget struct {
	perMinute int
	perSecond float64
	burst     float64

	mu     sync.Mutex
	tokens float64
	at     time.Time // when tokens was counted
}

// minCallerBurst is the burst a CallerBudget allows when its tenth is
// smaller (and half its budget is not): one cold lookup fans out to a
// search, an order list and the details of the newest orders at once, and a
// caller within its share should get them all.
const minCallerBurst = 16

// NewCallerBudget returns a budget of perMinute attempts in any 60-second
// window (below 1 is taken as 1). Its burst is a tenth of it, as the
// Limiter's, but at least minCallerBurst or half the budget if that is
// less; the rest refills over the minute.
func NewCallerBudget(perMinute int) *CallerBudget {
	perMinute = max(1, perMinute)
	burst, perSecond := bucketSize(perMinute)
	if b := min(minCallerBurst, perMinute/2); b > burst {
		burst, perSecond = b, rate.Limit(float64(perMinute-b)/60)
	}
	return &CallerBudget{perMinute: perMinute, perSecond: float64(perSecond), burst: float64(burst), tokens: float64(burst)}
}

// PerMinute returns the attempts the budget allows in a minute.
func (b *CallerBudget) PerMinute() int { return b.perMinute }

// take spends one attempt now, or reports false when none is left.
func (b *CallerBudget) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if !b.at.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.at).Seconds()*b.perSecond)
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// refund gives back an attempt that sent nothing.
func (b *CallerBudget) refund() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = min(b.burst, b.tokens+1)
}

type callerBudgetKey struct{}

// WithCallerBudget returns a context whose interactive Whatalo calls are
// charged, attempt by attempt, to b; past it they fail at once with an
// error matching ErrCallerBudget. Background calls are not charged: they
// have their own share (see Limiter).
func WithCallerBudget(ctx context.Context, b *CallerBudget) context.Context {
	if b == nil {
		return ctx
	}
	return context.WithValue(ctx, callerBudgetKey{}, b)
}

func callerBudgetFrom(ctx context.Context) *CallerBudget {
	b, _ := ctx.Value(callerBudgetKey{}).(*CallerBudget)
	return b
}

// callerBudgetError is a refusal of the caller's budget.
type callerBudgetError struct{ perMinute int }

func (e *callerBudgetError) Error() string {
	return "rate limit: the caller's share of " + strconv.Itoa(e.perMinute) + " requests/min used up"
}

// Is matches ErrCallerBudget and ErrRateLimited.
func (e *callerBudgetError) Is(target error) bool {
	return target == ErrCallerBudget || target == ErrRateLimited
}

// CallerOnly says the refusal is this caller's alone: a cache sharing one
// load between callers lets the others load for themselves instead.
func (e *callerBudgetError) CallerOnly() bool { return true }
