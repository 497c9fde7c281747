package adapter

import (
	"testing"
	"time"
)

func TestResumeDelay(t *testing.T) {
	const every = time.Minute
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		n       int
		built   bool
		staleAt time.Time
		want    time.Duration
	}{
		{"first build, nothing to keep", 1, false, time.Time{}, 5 * time.Second},
		{"many failed builds: capped at the interval", 9, false, time.Time{}, every},
		{"fresh for long: the interval", 1, true, now.Add(2 * every), every},
		{"second failure: capped at the interval, not doubled", 2, true, now.Add(3 * every), every},
		{"stale in 57 s: before it, with a sixth to spare", 2, true, now.Add(57 * time.Second), 47 * time.Second},
		{"stale in 8 s: a twelfth of the interval at least", 3, true, now.Add(8 * time.Second), 5 * time.Second},
		{"already stale: the interval", 4, true, now.Add(-time.Second), every},
	}
	for _, tt := range tests {
		if got := resumeDelay(every, tt.n, tt.built, tt.staleAt, now); got != tt.want {
			t.Errorf("%s: resumeDelay = %s, want %s", tt.name, got, tt.want)
		}
	}
}
