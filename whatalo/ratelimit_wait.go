package whatalo

import (
	"context"
	"errors"
	"time"
)

// RateLimitWait waits out Whatalo's rate limit for work that can afford to
// wait (index syncs, the order feed, imports): when a try fails with an error
// matching ErrRateLimited, it sleeps until the key may call again, as
// Whatalo's Retry-After or reset or the Limiter's next turn says, and tries
// again. Whatalo's 429s are never retried inside a call (see the package
// doc); this is the one place that waits them out.
//
// A wait never passes ctx's deadline: when the key frees up only after it,
// the rate-limit error is returned at once, so a caller with a deadline (an
// interactive lookup) is never kept past it. The zero value waits as long as
// ctx allows.
type RateLimitWait struct {
	// TryTimeout bounds each try, not the waits between tries: a Limiter
	// turn further away than that refuses the try at once, and the wait
	// then happens here, outside the bound. Zero leaves tries bounded by ctx
	// alone.
	TryTimeout time.Duration
	// MaxTries is how many rate-limited tries in a row are made before the
	// last one's error is returned; zero means no limit.
	MaxTries int
	// OnWait, when set, is told of each wait before it starts, with the
	// error that caused it, for progress reports.
	OnWait func(wait time.Duration, err error)
}

// One wait lasts at least minRateLimitWait, so a zero hint does not spin,
// and at most maxPause, as long as the Limiter ever pauses a key, so a bogus
// header cannot stall the caller for good.
const (
	minRateLimitWait = 100 * time.Millisecond
	// noHintWait is the wait after a rate limit that named no time, as the
	// transport pauses the key after a 429 without Retry-After or reset.
	noHintWait = time.Second
)

// Do calls try until it returns nil or an error other than a rate limit, or
// MaxTries tries in a row were rate limited, or the next wait would pass
// ctx's deadline; it returns try's last error. When ctx ends during a wait,
// or right after a rate-limited try, Do returns ctx's error.
func (w RateLimitWait) Do(ctx context.Context, try func(ctx context.Context) error) error {
	for n := 1; ; n++ {
		err := w.try(ctx, try)
		if err == nil || !errors.Is(err, ErrRateLimited) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if w.MaxTries > 0 && n >= w.MaxTries {
			return err
		}
		wait := rateLimitDelay(err, time.Now())
		if dl, ok := ctx.Deadline(); ok {
			if left := time.Until(dl); wait+callReserve(left) > left {
				return err
			}
		}
		if w.OnWait != nil {
			w.OnWait(wait, err)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func (w RateLimitWait) try(ctx context.Context, try func(ctx context.Context) error) error {
	if w.TryTimeout <= 0 {
		return try(ctx)
	}
	tctx, cancel := context.WithTimeout(ctx, w.TryTimeout)
	defer cancel()
	return try(tctx)
}

// rateLimitDelay is how long after the rate-limit error err the key may be
// called again: Whatalo's Retry-After (or reset) on a 429, the end of the
// Limiter's pause or its next turn on a refusal.
func rateLimitDelay(err error, now time.Time) time.Duration {
	d := noHintWait
	var we *Error
	var le *LimiterError
	switch {
	case errors.As(err, &we) && we.RetryAfter > 0:
		d = we.RetryAfter
	case errors.As(err, &le) && !le.PausedUntil.IsZero():
		d = le.PausedUntil.Sub(now)
	case errors.As(err, &le) && le.Wait > 0:
		d = le.Wait
	}
	return min(max(d, minRateLimitWait), maxPause)
}
