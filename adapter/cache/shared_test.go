package cache

import (
	"context"
	"sync"
	"testing"
	"time"
)

// memShared is a Shared level in memory.
type memShared struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemShared() *memShared { return &memShared{m: map[string][]byte{}} }

func (s *memShared) Get(ctx context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok, nil
}

func (s *memShared) Write(ctx context.Context, writes []SharedWrite) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range writes {
		if w.Value == nil {
			delete(s.m, w.Key)
			continue
		}
		s.m[w.Key] = w.Value
	}
	return nil
}

func TestSharedEnvelope(t *testing.T) {
	type value struct {
		Name  string
		Items []int
	}
	at := time.Unix(1700000000, 5)
	data, err := EncodeShared(&value{"Ana", []int{1, 2}}, at)
	if err != nil {
		t.Fatal(err)
	}
	v, gotAt, err := DecodeShared[*value](data)
	if err != nil || !gotAt.Equal(at) || v.Name != "Ana" || len(v.Items) != 2 {
		t.Errorf("read back %+v at %v, %v", v, gotAt, err)
	}
	for _, bad := range [][]byte{nil, {1, 2, 3}, append([]byte{9}, data[1:]...)} {
		if _, _, err := DecodeShared[*value](bad); err == nil {
			t.Errorf("envelope % x was read", bad)
		}
	}
}

// A second replica's cold cache takes what the first one loaded from the
// shared level, fresh as of the first load, without loading.
func TestSharedLevelServesAnotherCache(t *testing.T) {
	type customer struct{ ID string }
	shared := newMemShared()
	a, clock, _ := newTestCache(t, Options{DefaultTTL: time.Minute, Shared: shared})
	b, _, obs := newTestCache(t, Options{DefaultTTL: time.Minute, Shared: shared, Now: clock.Now})
	load := func(context.Context) (*customer, error) { return &customer{ID: "1"}, nil }
	if _, res, err := Fetch(context.Background(), a, KindCustomer, "1", load); err != nil || res != ResultMiss {
		t.Fatalf("first cache: %q, %v", res, err)
	}
	a.FlushShared(t.Context())

	clock.Advance(30 * time.Second)
	never := func(context.Context) (*customer, error) {
		t.Error("the second cache loaded what the shared level held")
		return nil, nil
	}
	v, res, err := Fetch(context.Background(), b, KindCustomer, "1", never)
	if err != nil || res != ResultSharedHit || v.ID != "1" {
		t.Fatalf("second cache: %+v, %q, %v; want shared_hit", v, res, err)
	}
	if got := obs.count("customer/shared_hit"); got != 1 {
		t.Errorf("observed shared_hit = %d, want 1", got)
	}
	clock.Advance(30 * time.Second)
	if _, res, _ := Fetch(context.Background(), b, KindCustomer, "1", load); res != ResultStale {
		t.Errorf("past the first load's TTL: %q, want stale", res)
	}
	if st := b.SharedStats(); st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("lost writes %+v", st)
	}
}

// BenchmarkFetchHitShared compares a hit with and without a shared level: a hit
// never touches the shared level, so the two should cost the same.
func BenchmarkFetchHitShared(b *testing.B) {
	type customer struct{ ID string }
	for _, shared := range []bool{false, true} {
		name := "alone"
		opts := Options{}
		if shared {
			name = "shared"
			opts.Shared = newMemShared()
		}
		b.Run(name, func(b *testing.B) {
			c := New(opts)
			defer c.Close()
			ctx := context.Background()
			load := func(context.Context) (*customer, error) { return &customer{ID: "1"}, nil }
			if _, _, err := Fetch(ctx, c, KindCustomer, "1", load); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, res, _ := Fetch(ctx, c, KindCustomer, "1", load); res != ResultHit {
					b.Fatalf("result %s", res)
				}
			}
		})
	}
}
