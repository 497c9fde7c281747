package whatalo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Observer receives what a Client sees, for metrics. Implementations must be
// safe for concurrent use and fast: they run on the request path.
type Observer interface {
	// ObserveRequest reports one attempt (retries are separate attempts).
	// route is the pattern, e.g. "GET /customers/{id}"; status is 0 when no
	// response arrived.
	ObserveRequest(route string, status int, d time.Duration)
	// ObserveLimiterWait reports how long an attempt waited for its turn.
	ObserveLimiterWait(p Priority, d time.Duration)
	// ObserveLimiterReject reports an attempt refused because its turn would
	// come after its deadline.
	ObserveLimiterReject(p Priority)
	// ObserveRateLimit reports the X-RateLimit-* headers of a response.
	ObserveRateLimit(remaining, limit int, reset time.Time)
}

type nopObserver struct{}

func (nopObserver) ObserveRequest(string, int, time.Duration)  {}
func (nopObserver) ObserveLimiterWait(Priority, time.Duration) {}
func (nopObserver) ObserveLimiterReject(Priority)              {}
func (nopObserver) ObserveRateLimit(int, int, time.Time)       {}

// transport sits under go-retryablehttp so that every attempt, retries
// included, takes its turn from the key's Limiter, is observed, and feeds
// Whatalo's rate-limit headers back into the Limiter.
type transport struct {
	base     http.RoundTripper
	limiter  *Limiter
	observer Observer
	logger   *slog.Logger
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	route := req.Method + " " + req.URL.Path
	attempt := 1
	cl := callFrom(ctx)
	if cl != nil {
		cl.attempts++
		route, attempt = cl.route, cl.attempts
	}
	p := PriorityFrom(ctx)
	budget := callerBudgetFrom(ctx)
	if p != Interactive {
		budget = nil
	}
	charged := false
	unsent := func() { // the request goes no further: nothing was sent
		if charged {
			budget.refund()
		}
		if req.Body != nil {
			req.Body.Close()
		}
	}
	if budget != nil {
		// Before the key's turn, so that a caller past its share never
		// takes a turn another caller could have used.
		if !budget.take() {
			unsent()
			t.observer.ObserveLimiterReject(p)
			t.logger.LogAttrs(ctx, slog.LevelDebug, "whatalo call refused: the caller's share is used up",
				slog.String("route", route), slog.Int("per_minute", budget.perMinute))
			return nil, &callerBudgetError{perMinute: budget.perMinute}
		}
		charged = true
	}
	release, err := t.limiter.firstCall(ctx)
	if err != nil {
		unsent()
		return nil, err
	}
	defer release() // after readRateHeaders, which ends the wait of the others
	waited, err := t.limiter.wait(ctx, p)
	if err != nil {
		unsent()
		var le *LimiterError
		if errors.As(err, &le) {
			t.observer.ObserveLimiterReject(p)
			t.logger.LogAttrs(ctx, slog.LevelDebug, "whatalo call refused by rate limiter",
				slog.String("route", route), slog.String("priority", p.String()),
				slog.Duration("wait", le.Wait), slog.Duration("deadline_in", le.Left))
		}
		return nil, err
	}
	t.observer.ObserveLimiterWait(p, waited)

	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	d := time.Since(start)
	if cl != nil {
		cl.last = d
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	t.observer.ObserveRequest(route, status, d)
	if err != nil {
		t.logger.LogAttrs(ctx, slog.LevelDebug, "whatalo attempt failed",
			slog.String("route", route), slog.Int("attempt", attempt),
			slog.Duration("duration", d), slog.String("error", redact(err).Error()))
		return resp, err
	}
	t.logger.LogAttrs(ctx, slog.LevelDebug, "whatalo attempt",
		slog.String("route", route), slog.Int("attempt", attempt), slog.Int("status", status),
		slog.Duration("duration", d), slog.Duration("limiter_wait", waited))
	t.readRateHeaders(ctx, route, resp)
	return resp, nil
}

// readRateHeaders records Whatalo's view of the key and pauses the Limiter
// when Whatalo says the window is spent (Remaining 0) or answers 429.
func (t *transport) readRateHeaders(ctx context.Context, route string, resp *http.Response) {
	now := time.Now()
	r, ok := parseRate(resp.Header, now)
	if ok {
		t.limiter.record(r.Remaining, r.Limit, r.Reset)
		t.observer.ObserveRateLimit(r.Remaining, r.Limit, r.Reset)
	}
	var until time.Time
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if ra := parseRetryAfter(resp.Header, now); ra > 0 {
			until = now.Add(ra)
		} else if ok && r.Reset.After(now) {
			until = r.Reset
		} else {
			until = now.Add(time.Second) // no hint: a short pause rather than none
		}
	case ok && r.Remaining <= 0 && r.Reset.After(now):
		until = r.Reset
	default:
		return
	}
	t.limiter.Pause(until)
	t.logger.LogAttrs(ctx, slog.LevelWarn, "whatalo rate limit pause",
		slog.String("route", route), slog.Int("status", resp.StatusCode),
		slog.Duration("pause", until.Sub(now)))
}

// redact drops the URL (its query may hold a phone or email) from an error.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// checkRetry is the retry policy: network errors and 5xx, never 4xx or 429,
// nothing once ctx is done, and no retry unless, after the longest backoff it
// could draw, there is still time for an attempt as long as the last one. A
// retry that cannot finish would only turn a 503 into a deadline error. POST
// is retried only where Whatalo cannot have acted on it.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, nil
	}
	cl := callFrom(ctx)
	if cl == nil {
		return false, nil
	}
	post := cl.method == http.MethodPost
	if err != nil {
		if !retryableError(err, post) {
			return false, nil
		}
	} else if !retryableStatus(resp.StatusCode, post) {
		return false, nil
	}
	if cl.attempts > c.retryMax {
		return false, nil
	}
	wait := backoffCap(c.retryWaitMin, c.retryWaitMax, cl.attempts-1, resp)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait+max(cl.last, minAttempt) {
		c.logger.LogAttrs(ctx, slog.LevelDebug, "whatalo retry skipped: backoff would pass the deadline",
			slog.String("route", cl.route), slog.Int("attempt", cl.attempts), slog.Duration("backoff", wait))
		return false, nil
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "whatalo retry",
		slog.String("route", cl.route), slog.Int("attempt", cl.attempts), slog.Duration("max_backoff", wait))
	return true, nil
}

// minAttempt is the least time checkRetry leaves for an attempt after its
// backoff, however fast the last one was.
const minAttempt = 10 * time.Millisecond

func retryableStatus(code int, post bool) bool {
	if post {
		return code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
	}
	return code >= 500 && code != http.StatusNotImplemented
}

func retryableError(err error, post bool) bool {
	var le *LimiterError
	var certErr *tls.CertificateVerificationError
	var authErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &le), errors.Is(err, ErrCallerBudget),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &certErr), errors.As(err, &authErr), errors.As(err, &hostErr):
		return false
	case post:
		return isDialError(err)
	}
	return true
}

// isDialError reports a failure to connect, before any byte of the request
// was sent.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// backoff is exponential with jitter in [half, full] of backoffCap, so
// checkRetry can bound the wait before agreeing to it.
func backoff(first, cap time.Duration, attempt int, resp *http.Response) time.Duration {
	full := backoffCap(first, cap, attempt, resp)
	half := full / 2
	return half + rand.N(full-half+1)
}

// backoffCap is the longest backoff after the attempt-th retry (0-based): the
// first wait doubled per attempt, at least a 5xx's Retry-After, never over cap.
func backoffCap(first, cap time.Duration, attempt int, resp *http.Response) time.Duration {
	d := first
	for range attempt {
		if d >= cap {
			break
		}
		d *= 2
	}
	if resp != nil && resp.StatusCode >= 500 {
		d = max(d, parseRetryAfter(resp.Header, time.Now()))
	}
	return min(d, cap)
}
