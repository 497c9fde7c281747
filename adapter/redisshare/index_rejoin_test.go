package redisshare

import (
	"context"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/redisshare/redistest"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// replicaBackend is one replica's Backend for the demo store in fake,
// sharing its index through c.
func replicaBackend(t *testing.T, fake *whatalotest.Server, c *Client) *adapter.Backend {
	t.Helper()
	client, err := whatalo.NewClient(fake.APIKey, whatalo.WithBaseURL(fake.APIURL),
		whatalo.WithLimiter(whatalo.NewLimiter(100000, 0.5)), whatalo.WithRetryMax(0))
	if err != nil {
		t.Fatal(err)
	}
	st := c.Store("demo", fake.APIKey)
	o := adapter.Options{
		Name: "demo", Region: "DO", WebhookSecret: "whsec_test_rejoin",
		// Long intervals: the leader's lease outlasts the test, and only
		// the first sync runs unless the test makes another.
		Index: adapter.IndexOptions{RefreshInterval: time.Minute, RebuildInterval: time.Hour, PageSize: 2},
	}
	o.Shared.Index = st
	b := adapter.New(client, o)
	t.Cleanup(b.Close)
	return b
}

// runBackend runs b until the test ends.
func runBackend(t *testing.T, b *adapter.Backend) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// waitFor polls cond until it holds, or fails the test after a bound.
func waitFor(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", bound, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Issue 14, finding 10: a replica that synced alone while Redis did not
// answer kept building its own full index after Redis came back, instead
// of loading the leader's snapshot. Here its build cannot end (its
// Whatalo hangs on the customer list): only going back to following the
// leader gives it an index.
func TestReplicaThatSyncedAloneFollowsWhenRedisReturns(t *testing.T) {
	srv := redistest.Start(t)
	fakeA := whatalotest.NewServer(t, nil, whatalotest.WithRateLimit(100000))
	fakeB := whatalotest.NewServer(t, nil, whatalotest.WithRateLimit(100000))

	a := replicaBackend(t, fakeA, newClient(t, srv, "rejoin:"))
	runBackend(t, a)
	waitFor(t, 10*time.Second, "the leader's index ready", func() bool {
		st := a.IndexStatus()
		return st.State == adapter.IndexReady && st.Role == adapter.IndexLeader
	})
	probe := newClient(t, srv, "rejoin:").Store("demo", fakeA.APIKey)
	waitFor(t, 10*time.Second, "the leader's snapshot saved", func() bool {
		snap, err := probe.Snapshot(context.Background())
		return err == nil && snap != nil
	})

	// Redis hangs; a second replica starts and, unable to reach it, syncs
	// alone.
	srv.Pause()
	fakeB.SetFaults(whatalotest.Faults{Hang: true, Routes: []string{"GET /v1/customers"}})
	b := replicaBackend(t, fakeB, newClient(t, srv, "rejoin:"))
	runBackend(t, b)
	lists := func() int64 { return fakeB.Stats().PerRoute["GET /v1/customers"] }
	waitFor(t, 10*time.Second, "the second replica's own build to start", func() bool { return lists() > 0 })
	if role := b.IndexStatus().Role; role != "" {
		t.Fatalf("with Redis hung the second replica has role %q, want none (alone)", role)
	}

	srv.Resume()
	waitFor(t, 15*time.Second, "the second replica to follow the leader's index", func() bool {
		st := b.IndexStatus()
		return st.Role == adapter.IndexFollower && st.State == adapter.IndexReady
	})
	if got, want := b.IndexStatus().Customers, a.IndexStatus().Customers; got != want || got == 0 {
		t.Errorf("the follower holds %d customers, the leader %d", got, want)
	}
	if n := lists(); n != 1 {
		t.Errorf("the second replica listed customers %d times, want only the page its own build hung on", n)
	}
	if st := a.IndexStatus(); st.Role != adapter.IndexLeader {
		t.Errorf("the first replica's role became %q", st.Role)
	}
}
