package whatalotest

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter is a per-key sliding log: a request is allowed when the key had
// fewer than limit allowed requests in the last window. It also logs every
// request, allowed or not, to report the busiest window any key produced.
type limiter struct {
	mu          sync.Mutex
	window      time.Duration
	logs        map[string]*keyLog
	maxInWindow int
}

type keyLog struct {
	allowed []time.Time
	all     []time.Time
}

// quota is the outcome of one request against a key's limit.
type quota struct {
	limit     int
	remaining int
	reset     time.Time // when the oldest allowed request leaves the window
	allowed   bool
}

func newLimiter(window time.Duration) *limiter {
	return &limiter{window: window, logs: map[string]*keyLog{}}
}

// take records a request by key at now.
func (l *limiter) take(key string, limit int, now time.Time) quota {
	l.mu.Lock()
	defer l.mu.Unlock()
	kl := l.logs[key]
	if kl == nil {
		kl = &keyLog{}
		l.logs[key] = kl
	}
	cutoff := now.Add(-l.window)
	kl.allowed = prune(kl.allowed, cutoff)
	kl.all = append(prune(kl.all, cutoff), now)
	if n := len(kl.all); n > l.maxInWindow {
		l.maxInWindow = n
	}
	q := quota{limit: limit}
	if len(kl.allowed) < limit {
		kl.allowed = append(kl.allowed, now)
		q.allowed = true
	}
	q.remaining = max(0, limit-len(kl.allowed))
	q.reset = now.Add(l.window)
	if len(kl.allowed) > 0 {
		q.reset = kl.allowed[0].Add(l.window)
	}
	return q
}

// peek reports a key's quota without recording a request, for responses to
// requests that are not counted (unknown keys).
func (l *limiter) peek(limit int, now time.Time) quota {
	return quota{limit: limit, remaining: limit, reset: now.Add(l.window), allowed: true}
}

func (l *limiter) maxPerWindow() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.maxInWindow
}

func (l *limiter) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.logs = map[string]*keyLog{}
	l.maxInWindow = 0
}

// prune drops the times at or before cutoff from the front of a sorted log.
func prune(log []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(log) && !log[i].After(cutoff) {
		i++
	}
	if i == 0 {
		return log
	}
	if i > cap(log)/2 {
		// Copy down so a busy key's log does not keep growing its array.
		return append(log[:0], log[i:]...)
	}
	return log[i:]
}

// setRateHeaders writes the X-RateLimit-* headers Whatalo sends on every
// response.
func setRateHeaders(h http.Header, q quota) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(q.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(q.remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(q.reset), 10))
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// ceilSeconds rounds d up to whole seconds, at least one, for Retry-After.
func ceilSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(1, s)
}
