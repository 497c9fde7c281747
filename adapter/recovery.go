package adapter

import (
	"sync/atomic"
	"time"
)

// resumeDelay is the wait before the next try of a background sync (the
// index refresh, the order feed) after its n-th failure in a row, when what
// it keeps fresh goes stale at staleAt (zero: nothing to keep yet).
//
// The backoff of retryDelay is capped at the refresh interval, so that once
// Whatalo answers again the work resumes within one interval; and while
// the data is still fresh, the next try is brought forward to land before
// it goes stale, leaving a sixth of the interval for that try, so that an
// outage shorter than the freshness window ends without lookups ever
// falling back to short TTLs or to searching Whatalo. Tries stay at least
// a twelfth of the interval apart.
func resumeDelay(every time.Duration, n int, built bool, staleAt, now time.Time) time.Duration {
	d := min(retryDelay(every, n, built), every)
	left := staleAt.Sub(now)
	if staleAt.IsZero() || left <= 0 {
		return d
	}
	return max(min(d, left-every/6), every/minResumeGap)
}

// resumers wake the background syncs that are waiting to retry after a
// failure as soon as Whatalo answers an interactive call, so that after an
// outage longer than the freshness window, the stale index and order lists
// do not wait up to an interval more for their next try.
type resumers struct {
	index, feed resumer
}

func newResumers() resumers {
	return resumers{index: newResumer(), feed: newResumer()}
}

// answered is told that Whatalo answered an interactive call. It is on
// the request path: two atomic loads unless a sync is waiting.
func (r *resumers) answered() {
	r.index.answered()
	r.feed.answered()
}

// resumer is the wake-up of one background loop.
type resumer struct {
	waiting *atomic.Bool  // the loop's last try failed
	wake    chan struct{} // one pending wake-up at most
}

func newResumer() resumer {
	return resumer{waiting: new(atomic.Bool), wake: make(chan struct{}, 1)}
}

func (r resumer) answered() {
	if r.waiting.Load() {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// failed marks the loop as waiting to retry.
func (r resumer) failed() { r.waiting.Store(true) }

// succeeded marks the loop as up to date and drops a wake-up left over.
func (r resumer) succeeded() {
	r.waiting.Store(false)
	select {
	case <-r.wake:
	default:
	}
}

// minResumeGap is how long after a failed try a wake-up waits at least,
// as a share of the refresh interval, so that a flapping Whatalo, where
// interactive calls succeed between failures, cannot make the syncs retry
// at the rate of lookups.
const minResumeGap = 12

// woken handles a wake-up of a loop whose last try ended at lastTry: it
// returns 0 to try now, or how long to wait still.
func woken(every time.Duration, lastTry, now time.Time) time.Duration {
	return max(0, lastTry.Add(every/minResumeGap).Sub(now))
}
