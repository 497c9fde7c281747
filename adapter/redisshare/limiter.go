package redisshare

import (
	"context"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// Limiter is one API key's budget in Redis, shared by every replica that
// creates it with the same key and limit. It is a GCRA (redis_rate) sized
// as whatalo.Limiter sizes its bucket: a tenth of the budget as burst and
// the rest spread over the minute, so that no 60-second window holds more
// than perMinute requests from all replicas together. Background calls
// also take a turn from a second GCRA at backgroundShare of that.
type Limiter struct {
	c       *Client
	all, bg string
	lim     redis_rate.Limit
	bgLim   redis_rate.Limit
	hasBg   bool
}

var _ whatalo.SharedLimiter = (*Limiter)(nil)

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
	}
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
		res, err := l.c.rate.Allow(cctx, l.bg, l.bgLim)
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
	if err := l.c.begin(OpRate); err != nil {
		return err
	}
	cctx, cancel := callCtx(ctx, l.c.timeout)
	defer cancel()
	_, err := l.c.rate.AllowAtMost(cctx, l.all, l.lim, n)
	return l.c.end(ctx, OpRate, err)
}
