package adapter

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// memWebhookStore is a WebhookStore in memory, shared by the Backends of a
// test as Redis is by processes; down makes every call fail.
type memWebhookStore struct {
	mu    sync.Mutex
	state map[string][]byte
	down  bool
	reads map[string]int // ReadState calls by key
}

var errStoreDown = errors.New("webhook store down")

func (s *memWebhookStore) Remember(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return false, errStoreDown
	}
	if _, ok := s.state[key]; ok {
		return false, nil
	}
	s.state[key] = []byte("1")
	return true, nil
}

func (s *memWebhookStore) ReadState(ctx context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, errStoreDown
	}
	if s.reads == nil {
		s.reads = map[string]int{}
	}
	s.reads[key]++
	return s.state[key], nil
}

func (s *memWebhookStore) WriteState(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errStoreDown
	}
	if value == nil {
		delete(s.state, key)
	} else {
		s.state[key] = value
	}
	return nil
}

func (s *memWebhookStore) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// With the store, a Backend started later sees the carts and the
// deliveries of one started before; with the store down, each goes on
// from its own memory, where carts recorded meanwhile stay.
func TestWebhookStoreOutlivesTheBackend(t *testing.T) {
	st := &memWebhookStore{state: map[string][]byte{}}
	withStore := func(o *Options) { o.Shared.Webhooks = st }
	first := newIxEnv(t, withStore)
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	cart := signed("checkout.abandoned", at, `{"occurred_at":"`+at.UTC().Format(time.RFC3339)+`","checkout":{"id":"chk_s1","customer":{"phone":"`+ixMariaPhone+`"}}}`)
	first.deliver(t, cart, "dlv_s1")

	later := newIxEnv(t, withStore)
	if n := later.cartsOfMaria(t); n != 1 {
		t.Fatalf("a Backend started later shows %d carts, want 1", n)
	}
	later.deliver(t, cart, "dlv_s1")
	if n := later.obs.webhook("checkout.abandoned/duplicate"); n != 1 {
		t.Errorf("redelivery to the later Backend observed as duplicate %d times, want 1", n)
	}

	st.setDown(true)
	at2 := at.Add(10 * time.Second)
	second := signed("checkout.abandoned", at2, `{"occurred_at":"`+at2.UTC().Format(time.RFC3339)+`","checkout":{"id":"chk_s2","customer":{"phone":"`+ixMariaPhone+`"}}}`)
	later.deliver(t, second, "dlv_s2")
	later.deliver(t, second, "dlv_s2_fresh")
	if n := later.obs.webhook("checkout.abandoned/duplicate"); n != 2 {
		t.Errorf("with the store down a replay observed as duplicate %d times in all, want 2", n)
	}
	if n := later.cartsOfMaria(t); n != 2 {
		t.Errorf("with the store down the Backend shows %d carts, want the one it read and its own", n)
	}
	st.setDown(false)
	if n := newIxEnv(t, withStore).cartsOfMaria(t); n != 1 {
		t.Errorf("a Backend started once the store is back shows %d carts, want the stored one", n)
	}
	// A completion while the store is down still hides the stored cart.
	st.setDown(true)
	done := at2.Add(time.Minute)
	later.deliver(t, signed("checkout.completed", done, `{"occurred_at":"`+done.UTC().Format(time.RFC3339)+`","checkout":{"id":"chk_s1","customer":{"phone":"`+ixMariaPhone+`"}}}`), "dlv_s3")
	st.setDown(false)
	if n := later.cartsOfMaria(t); n != 0 {
		t.Errorf("after checkout.completed with the store down the Backend shows %d carts", n)
	}
}

// A side panel reads a phone's carts from the store at most once a
// cartsRecheck: answers stay local, as the cache's do.
func TestWebhookStoreCartsReadOncePerRecheck(t *testing.T) {
	st := &memWebhookStore{state: map[string][]byte{}}
	e := newIxEnv(t, func(o *Options) { o.Shared.Webhooks = st })
	e.runReady(t)
	reads := func() int {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.reads[cartsKey(ixMariaPhone)]
	}
	for range 5 {
		e.cartsOfMaria(t)
	}
	if n := reads(); n != 1 {
		t.Errorf("five panels read the phone's carts from the store %d times, want 1", n)
	}
	e.clock.Advance(cartsRecheck + time.Second)
	e.cartsOfMaria(t)
	if n := reads(); n != 2 {
		t.Errorf("after cartsRecheck the carts were read %d times in all, want 2", n)
	}
}
