package cache

// Stale-if-error: when a load fails (upstream down, rate limited, out of
// time), a value of the key still within MaxStale is served instead of the
// error, as ResultStaleError; only with nothing to serve does the caller
// get the error, as ResultError. Errors are never cached, so the next
// access tries again. A failed background refresh likewise leaves the
// stale value in place (revalidate.go). Empty results are never served
// stale (kinds.go).

// staleIfError returns the value to serve in place of a failed load of k:
// one within MaxStale, which a Set may also have left while the load ran.
func staleIfError[T any](c *Cache, k string) (T, bool) {
	if e, ok := c.lookup(k, c.opts.Now()); ok {
		if v, ok := e.val.(T); ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}
