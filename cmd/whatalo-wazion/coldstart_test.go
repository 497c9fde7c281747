package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/redisshare/redistest"
	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// TestReplicasColdIndexUnderLoad starts two replicas sharing Redis on a
// cold store of 6,000 customers (60 pages) while WAzion keeps both busy
// with more searches than the key's budget. The leader's first build holds
// the background share for both, so it reads its pages at the share's rate
// whatever the lookups do: the index is ready once Whatalo has served about
// pages ÷ share calls (200), allowed three times that because on a loaded
// machine Redis answers late at moments, when each replica falls back to
// its own bucket, which the hold does not reach. Counted in calls, not
// seconds, so that the machine's speed does not matter. Without the hold
// the lookups take nearly every turn and the build needs ten times that.
func TestReplicasColdIndexUnderLoad(t *testing.T) {
	const (
		perMinute = 1200
		share     = 0.3
		pages     = 60
	)
	srv := redistest.Start(t)
	fake := whatalotest.NewServer(t, whatalotest.Generate(pages*100, 1), whatalotest.WithRateLimit(100000))
	env := map[string]string{
		"WHATALO_RATE_LIMIT":      strconv.Itoa(perMinute),
		"LOG_LEVEL":               "info",
		"REDIS_URL":               srv.URL,
		"REDIS_EXPECTED_REPLICAS": "2",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := &loadResult{}
	loaded := make(chan struct{})
	var replicas []*testService
	for range 2 {
		r := startService(t, fake, env, func(c *config.Config) {
			c.Server.Margin = 4500 * time.Millisecond
			c.Server.TokenRate = -1
			c.Stores[0].BackgroundShare = share
			c.Index.RefreshInterval = time.Hour
		})
		replicas = append(replicas, r)
	}
	go func() {
		defer close(loaded)
		load(ctx, t, replicas, res)
	}()
	var calls int64
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		ready := false
		for _, r := range replicas {
			if getReadyz(t, r, 200).Stores["default"].Index.State == "ready" {
				ready = true
			}
		}
		if ready {
			calls = fake.Stats().Total
			break
		}
		if time.Now().After(deadline) {
			calls = fake.Stats().Total
			t.Errorf("no replica's index ready after 2 minutes under load (%d upstream calls)", calls)
			break
		}
	}
	cancel()
	<-loaded
	bound := int64(3 * pages / share)
	t.Logf("index ready after %d upstream calls under load (bound %d, %d WAzion requests)", calls, bound, res.requests)
	if calls > bound {
		t.Errorf("the index was ready only after %d upstream calls, more than three times the %d pages ÷ the %.1f share: the lookups took the build's turns",
			calls, pages, share)
	}
}
