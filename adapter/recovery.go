package adapter

import "time"

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
	return max(min(d, left-every/6), every/12)
}
