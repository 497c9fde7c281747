package redisshare

import (
	"context"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// Limiter is one API key's budget in Redis, shared by every replica that
// creates it with the same key and limit. It is a GCRA (redis_rate) sized
// as whatalo.Limiter sizes its bucket: a tenth of the budget as burst and
// the rest spread over the minute, so that no 60-second window holds more
// than perMinute requests from all replicas together. Background calls
// also take a turn from a second GCRA at backgroundShare of that. While a
// replica holds the share (Reserve), interactive calls take a turn from a
// third GCRA of the rest first, so that no replica's lookups take the
// turns that replica's background work was promised.
type Limiter struct {
	c                  *Client
	all, bg            string
	lim                redis_rate.Limit
	bgLim              redis_rate.Limit
	hasBg              bool
	interactive, holds string // the rest's GCRA and the key whose presence says the share is held
	interLim           redis_rate.Limit
	period             time.Duration

	mu        sync.Mutex
	holding   int       // this replica's Reserve calls not yet ended
	renewedAt time.Time // when this replica last renewed its hold
	checkedAt time.Time // when held was last read
	held      bool      // some replica holds the share, as last read
}

var (
	_ whatalo.SharedLimiter  = (*Limiter)(nil)
	_ whatalo.SharedReserver = (*Limiter)(nil)
)

// holdTTL is how long a hold on the share lasts unless renewed: the holder
// renews it on its background calls, and a holder that died frees the share
// soon. holdCheck is how long a replica trusts what it last read of the
// hold, so that an interactive call costs one more Redis call a second, not
// one more each.
const (
	holdTTL   = 30 * time.Second
	holdCheck = time.Second
)

// Limiter returns the shared budget of apiKey: perMinute requests in any
// minute, of which background calls may use backgroundShare (outside
// (0, 1): no separate cap). The key is stored only as a hash.
func (c *Client) Limiter(apiKey string, perMinute int, backgroundShare float64) *Limiter {
	return c.limiter(apiKey, perMinute, backgroundShare, time.Minute)
}

// limiter is Limiter over any period, so tests need not wait for minutes.
func (c *Client) limiter(apiKey string, perPeriod int, backgroundShare float64, period time.Duration) *Limiter {
	perPeriod = max(1, perPeriod)
	burst := max(1, perPeriod/10)
	rate := max(1, perPeriod-burst)
	base := c.prefix + "key:" + keyID(apiKey)
	l := &Limiter{
		c:   c,
		all: base + ":all",
		bg:  base + ":background",
		lim: redis_rate.Limit{Rate: rate, Burst: burst, Period: period},
	}
	if backgroundShare > 0 && backgroundShare < 1 {
		l.hasBg = true
		l.bgLim = redis_rate.Limit{
			Rate:   max(1, int(float64(rate)*backgroundShare)),
			Burst:  max(1, int(float64(burst)*backgroundShare)),
			Period: period,
		}
		l.interactive, l.holds = base+":interactive", base+":held"
		l.interLim = redis_rate.Limit{
			Rate:   max(1, rate-l.bgLim.Rate),
			Burst:  max(1, burst-l.bgLim.Burst),
			Period: period,
		}
	}
	l.period = period
	return l
}

// Allow implements whatalo.SharedLimiter. A background call takes its turn
// from the background share first, so that a refusal there leaves the
// whole budget untouched for interactive calls.
func (l *Limiter) Allow(ctx context.Context, p whatalo.Priority) (time.Duration, error) {
	if err := l.c.begin(OpRate); err != nil {
		return 0, err
	}
	cctx, cancel := callCtx(ctx, l.c.timeout)
	defer cancel()
	if p == whatalo.Background && l.hasBg {
		_ = l.renewHold(cctx) // best effort: a lapsed hold only leaves the share unprotected
		res, err := l.c.rate.Allow(cctx, l.bg, l.bgLim)
		if err = l.c.end(ctx, OpRate, err); err != nil {
			return 0, err
		}
		if res.Allowed == 0 {
			return max(res.RetryAfter, time.Millisecond), nil
		}
	}
	if p == whatalo.Interactive && l.hasBg && l.shareHeld(cctx) {
		res, err := l.c.rate.Allow(cctx, l.interactive, l.interLim)
		if err = l.c.end(ctx, OpRate, err); err != nil {
			return 0, err
		}
		if res.Allowed == 0 {
			return max(res.RetryAfter, time.Millisecond), nil
		}
	}
	res, err := l.c.rate.Allow(cctx, l.all, l.lim)
	if err = l.c.end(ctx, OpRate, err); err != nil {
		return 0, err
	}
	if res.Allowed == 0 {
		return max(res.RetryAfter, time.Millisecond), nil
	}
	return 0, nil
}

// Charge implements whatalo.SharedLimiter: it takes up to n turns, as many
// as the budget has left.
func (l *Limiter) Charge(ctx context.Context, n int) error {
	if n <= 0 {
		return nil
	}
	return l.c.do(ctx, OpRate, func(ctx context.Context) error {
		_, err := l.c.rate.AllowAtMost(ctx, l.all, l.lim, n)
		return err
	})
}

// Reserve implements whatalo.SharedReserver: this replica holds the share
// until Unreserve, renewing the hold on its background calls.
func (l *Limiter) Reserve(ctx context.Context) error {
	if !l.hasBg {
		return nil
	}
	l.mu.Lock()
	l.holding++
	l.renewedAt = time.Time{} // renew at once
	l.mu.Unlock()
	return l.renewHold(ctx)
}

// Unreserve implements whatalo.SharedReserver. The hold key names no
// replica: one replica's end frees the share while another may still hold
// it, which its next background call renews.
func (l *Limiter) Unreserve(ctx context.Context) error {
	if !l.hasBg {
		return nil
	}
	l.mu.Lock()
	l.holding = max(0, l.holding-1)
	last := l.holding == 0
	l.mu.Unlock()
	if !last {
		return nil
	}
	return l.redis(ctx, func(ctx context.Context) error { return l.c.rdb.Del(ctx, l.holds).Err() })
}

// renewHold sets the hold key again when this replica holds the share and
// last did so a third of its life ago.
func (l *Limiter) renewHold(ctx context.Context) error {
	now := time.Now()
	l.mu.Lock()
	due := l.holding > 0 && now.Sub(l.renewedAt) >= l.holdTTL()/3
	if due {
		l.renewedAt = now
	}
	l.mu.Unlock()
	if !due {
		return nil
	}
	return l.redis(ctx, func(ctx context.Context) error {
		return l.c.rdb.Set(ctx, l.holds, "1", l.holdTTL()).Err()
	})
}

// shareHeld reports whether some replica holds the share, reading it at
// most once per holdCheck; when Redis cannot say, the last answer stands
// (not held, before the first one).
func (l *Limiter) shareHeld(ctx context.Context) bool {
	now := time.Now()
	l.mu.Lock()
	if l.holding > 0 {
		l.mu.Unlock()
		return true
	}
	if now.Sub(l.checkedAt) < l.holdCheck() {
		held := l.held
		l.mu.Unlock()
		return held
	}
	l.checkedAt = now
	l.mu.Unlock()
	var n int64
	err := l.redis(ctx, func(ctx context.Context) (err error) {
		n, err = l.c.rdb.Exists(ctx, l.holds).Result()
		return err
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.held = n > 0
	}
	return l.held
}

// holdTTL and holdCheck scale with the limiter's period, so tests need not
// wait for minutes.
func (l *Limiter) holdTTL() time.Duration   { return scale(holdTTL, l.period) }
func (l *Limiter) holdCheck() time.Duration { return scale(holdCheck, l.period) }

// scale is d of a minute made of period instead.
func scale(d, period time.Duration) time.Duration {
	return time.Duration(float64(d) * float64(period) / float64(time.Minute))
}

// redis runs one call of the hold, counted as a rate call.
func (l *Limiter) redis(ctx context.Context, call func(context.Context) error) error {
	return l.c.do(ctx, OpRate, call)
}
