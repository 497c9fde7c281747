package wazion

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// A bound refuses until its bucket holds a token again, and not after;
// a refusal inside that time does not ask the limiter.
func TestTokenBoundRefusesUntilRefilled(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	b := &tokenBound{lim: rate.NewLimiter(2, 2)} // a token each 500 ms
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for i, step := range []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {0, true}, // the burst
		{0, false},
		{100 * time.Millisecond, false},
		{499 * time.Millisecond, false},
		{500 * time.Millisecond, true},
		{600 * time.Millisecond, false},
		{time.Second, true},
		{time.Second, false},
	} {
		if got := b.allow(at(step.at)); got != step.want {
			t.Fatalf("step %d at +%s: allow %v, want %v", i, step.at, got, step.want)
		}
	}
	if got, want := time.Unix(0, b.closed.Load()), at(1500*time.Millisecond); !got.Equal(want) {
		t.Errorf("closed until %s, want %s", got, want)
	}
	// Inside the closed time the limiter is not asked: a limiter that
	// would allow changes nothing.
	b.lim.SetBurstAt(at(time.Second), 100)
	b.lim.SetLimitAt(at(time.Second), rate.Inf)
	if b.allow(at(1200 * time.Millisecond)) {
		t.Error("allowed inside the closed time")
	}

	slow := &tokenBound{lim: rate.NewLimiter(1e-9, 1)}
	slow.allow(t0)
	if slow.allow(t0) {
		t.Fatal("second request of a burst of one allowed")
	}
	if got := time.Unix(0, slow.closed.Load()); got.After(t0.Add(maxClosed)) {
		t.Errorf("closed until %s, past %s", got, maxClosed)
	}
}
