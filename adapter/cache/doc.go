// Package cache keeps one store's results from upstream in memory, so that
// most requests never reach it. Each behaviour has a file of its own:
//
//   - kinds.go: the kinds of cached data, their fresh TTLs, and the short
//     life of empty results;
//   - fetch.go: Fetch and the results it reports;
//   - revalidate.go: stale-while-revalidate, one background refresh per
//     stale key;
//   - stale_if_error.go: serving a stale value when a load fails;
//   - singleflight.go: one load for all concurrent misses of a key;
//   - store.go: the go-cache store, generations and tombs, and the sweep;
//   - bound.go: the hard bound on entries;
//   - shared.go: the hook to a second level shared by replicas.
//
// It owns every goroutine it starts (refreshes, loads that outlive their
// first caller, the sweep, the shared writer): Close cancels them and waits.
//
// It is generic over values: Fetch[T] is typed by its caller and the
// package must not know Whatalo's types, WAzion, HTTP or configuration
// files. A kind is a name and a TTL to it, nothing more.
package cache
