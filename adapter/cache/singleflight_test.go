package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCacheMissSingleflight(t *testing.T) {
	const callers = 100
	c, _, obs := newTestCache(t, Options{})
	var joined atomic.Int32
	allJoined := make(chan struct{})
	c.afterJoin = func() {
		if joined.Add(1) == callers {
			close(allJoined)
		}
	}
	var calls atomic.Int32
	load := func(context.Context) ([]string, error) {
		calls.Add(1)
		<-allJoined
		return []string{"Ana", "Beto"}, nil
	}

	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			v, res, err := Fetch(context.Background(), c, KindPhone, "+5215512345678", load)
			if err != nil || len(v) != 2 || v[0] != "Ana" || res != ResultMiss {
				t.Errorf("Fetch = %v, %q, %v; want [Ana Beto], miss, nil", v, res, err)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("load calls = %d for %d concurrent callers, want 1", n, callers)
	}
	if got := obs.count("phone/miss"); got != callers {
		t.Errorf("observed misses = %d, want %d", got, callers)
	}
}

func TestCacheWaiterHonoursOwnContext(t *testing.T) {
	c, _, _ := newTestCache(t, Options{})
	started := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	load := func(ctx context.Context) (string, error) {
		calls.Add(1)
		close(started)
		<-release
		return "value", ctx.Err()
	}

	first := make(chan error, 1)
	go func() {
		v, res, err := Fetch(context.Background(), c, KindEmail, "a@b.co", load)
		if err == nil && (v != "value" || res != ResultMiss) {
			err = fmt.Errorf("got %q, %q; want value, miss", v, res)
		}
		first <- err
	}()
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, res, err := Fetch(ctx, c, KindEmail, "a@b.co", load)
	if !errors.Is(err, context.DeadlineExceeded) || res != ResultError {
		t.Errorf("impatient waiter: %q, %v; want error, deadline exceeded", res, err)
	}
	select {
	case err := <-first:
		t.Fatalf("first caller returned before the load ended: %v", err)
	default:
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first caller: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("load calls = %d, want 1", n)
	}
}

func TestCacheLoadOutlivesFirstCaller(t *testing.T) {
	c, _, _ := newTestCache(t, Options{})
	loadCtx := make(chan context.Context, 1)
	release := make(chan struct{})
	load := func(ctx context.Context) (string, error) {
		loadCtx <- ctx
		<-release
		return "value", ctx.Err()
	}

	var joined atomic.Int32
	c.afterJoin = func() { joined.Add(1) }
	deadline := time.Now().Add(time.Hour)
	firstCtx, cancelFirst := context.WithDeadline(context.Background(), deadline)
	firstDone := make(chan error, 1)
	go func() {
		_, _, err := Fetch(firstCtx, c, KindOrder, "5", load)
		firstDone <- err
	}()
	lctx := <-loadCtx
	if got, ok := lctx.Deadline(); !ok || !got.Equal(deadline) {
		t.Errorf("load deadline = %v (%v), want the first caller's %v", got, ok, deadline)
	}

	second := make(chan string, 1)
	go func() {
		v, _, err := Fetch(context.Background(), c, KindOrder, "5", load)
		if err != nil {
			v = "error: " + err.Error()
		}
		second <- v
	}()
	waitFor(t, "second caller to join", func() bool { return joined.Load() == 2 })

	cancelFirst()
	if err := <-firstDone; !errors.Is(err, context.Canceled) {
		t.Errorf("first caller after cancel: %v, want context.Canceled", err)
	}
	if err := lctx.Err(); err != nil {
		t.Errorf("load context ended with the first caller: %v", err)
	}
	close(release)
	if v := <-second; v != "value" {
		t.Errorf("second caller got %q, want value", v)
	}
	if v, ok := c.Get(KindOrder, "5"); !ok || v != "value" {
		t.Errorf("cached %v, %v; want value", v, ok)
	}
}

func TestCacheLoadWithoutDeadlineGetsRefreshTimeout(t *testing.T) {
	c, _, _ := newTestCache(t, Options{RefreshTimeout: 3 * time.Second})
	var deadline time.Time
	var ok bool
	fetchString(t, c, KindOrder, "1", func(ctx context.Context) (string, error) {
		deadline, ok = ctx.Deadline()
		return "x", nil
	})
	if left := time.Until(deadline); !ok || left > 3*time.Second || left < time.Second {
		t.Errorf("load deadline in %v (%v), want about 3s", left, ok)
	}
}

func TestCacheCanceledCallerStartsNoLoad(t *testing.T) {
	c, _, _ := newTestCache(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	load, calls := counter("x")
	if _, _, err := Fetch(ctx, c, KindOrder, "1", load); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("load calls = %d, want 0", n)
	}
}

// callerRefused is a load refused for its caller alone (its own budget).
type callerRefused struct{}

func (callerRefused) Error() string    { return "this caller's share is used up" }
func (callerRefused) CallerOnly() bool { return true }

type callerKey struct{}

// TestCacheCallerOnlyErrorNotShared: a load refused for the caller that
// started it says nothing of the callers who joined it; they load for
// themselves, under their own context.
func TestCacheCallerOnlyErrorNotShared(t *testing.T) {
	c, _, _ := newTestCache(t, Options{})
	var joins atomic.Int32
	firstJoined, release := make(chan struct{}), make(chan struct{})
	c.afterJoin = func() {
		switch joins.Add(1) {
		case 1:
			close(firstJoined)
		case 2:
			close(release) // the second caller has joined the first's load
		}
	}
	load := func(ctx context.Context) (string, error) {
		if ctx.Value(callerKey{}) == "spent" {
			<-release
			return "", fmt.Errorf("load: %w", callerRefused{})
		}
		return "value", nil
	}
	spent := context.WithValue(context.Background(), callerKey{}, "spent")
	type answer struct {
		v   string
		err error
	}
	first := make(chan answer, 1)
	go func() {
		v, _, err := Fetch(spent, c, KindPhone, "+5215512345678", load)
		first <- answer{v, err}
	}()
	<-firstJoined
	v, _, err := Fetch(context.WithValue(context.Background(), callerKey{}, "other"), c, KindPhone, "+5215512345678", load)
	if err != nil || v != "value" {
		t.Errorf("the caller that joined got %q, %v; want its own load's value", v, err)
	}
	// The refused caller gets its refusal, or the value the other caller
	// left meanwhile (stale-if-error).
	if a := <-first; a.v != "value" && !errors.As(a.err, new(callerRefused)) {
		t.Errorf("the refused caller got %q, %v; want its refusal or the other's value", a.v, a.err)
	}
}
