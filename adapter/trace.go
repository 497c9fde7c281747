package adapter

import (
	"context"
	"sync"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// cacheRank orders cache results from best to worst; a request's access log
// shows the worst result among its lookups, so "hit" means nothing at all
// went upstream.
var cacheRank = map[string]int{
	cache.ResultHit: 1, cache.ResultSharedHit: 2, cache.ResultStale: 3, cache.ResultBypass: 4, cache.ResultMiss: 5, cache.ResultStaleError: 6, cache.ResultError: 7,
}

type traceKey struct{}

// cacheTrace accumulates the cache results of one request.
type cacheTrace struct {
	// resume, if set, is told that a lookup was loaded: Whatalo answered
	// an interactive call.
	resume *resumers

	mu    sync.Mutex
	worst string
}

// withTrace starts a cache trace for one WAzion request; resume may be nil.
func withTrace(ctx context.Context, resume *resumers) context.Context {
	return context.WithValue(ctx, traceKey{}, &cacheTrace{resume: resume})
}

// annotateCache records a lookup's cache result on the request.
func annotateCache(ctx context.Context, result string) {
	t, _ := ctx.Value(traceKey{}).(*cacheTrace)
	if t == nil || result == "" {
		return
	}
	if result == cache.ResultMiss && t.resume != nil {
		t.resume.answered()
	}
	t.mu.Lock()
	if cacheRank[result] > cacheRank[t.worst] {
		t.worst = result
	}
	worst := t.worst
	t.mu.Unlock()
	wazion.Annotate(ctx, "cache", worst)
}
