package adapter

import (
	"context"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
)

// The access log shows the worst cache result of a request's lookups, and
// a value read from the shared level is better than a miss.
func TestCacheTraceKeepsTheWorstResult(t *testing.T) {
	for _, tt := range []struct {
		results []string
		want    string
	}{
		{[]string{cache.ResultHit, cache.ResultHit}, cache.ResultHit},
		{[]string{cache.ResultHit, cache.ResultSharedHit, cache.ResultHit}, cache.ResultSharedHit},
		{[]string{cache.ResultSharedHit, cache.ResultMiss}, cache.ResultMiss},
		{[]string{cache.ResultStale, cache.ResultSharedHit}, cache.ResultStale},
		{[]string{cache.ResultMiss, cache.ResultError, cache.ResultHit}, cache.ResultError},
	} {
		ctx := withTrace(context.Background(), nil)
		for _, r := range tt.results {
			annotateCache(ctx, r)
		}
		if got := ctx.Value(traceKey{}).(*cacheTrace).worst; got != tt.want {
			t.Errorf("results %v: access log says %q, want %q", tt.results, got, tt.want)
		}
	}
}
