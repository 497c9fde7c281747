package phone

import (
	"fmt"
	"sync"
	"testing"
)

func TestNormalizerMemo(t *testing.T) {
	n := NewNormalizer(Options{})
	inputs := []struct{ raw, region string }{
		{"809-555-1234", "DO"}, {"+1 809 555 1234", ""}, {"whatsapp:+5215512345678", ""},
		{"n/a", "DO"}, {"12", "CO"}, {"", "DO"}, {"3001234567", "CO"}, {"3001234567", "DO"},
	}
	for _, in := range inputs {
		want, wantErr := Normalize(in.raw, in.region)
		for range 2 { // a miss, then a hit
			got, err := n.Normalize(in.raw, in.region)
			if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Errorf("Normalize(%q, %q) = %q, %v; want %q, %v", in.raw, in.region, got, err, want, wantErr)
			}
		}
	}
	// The region is part of the key: the same digits read differently.
	co, _ := n.Normalize("3001234567", "CO")
	do, _ := n.Normalize("3001234567", "DO")
	if co == do {
		t.Errorf("3001234567 read the same in CO and DO: %q", co)
	}

	// A flood of distinct phones keeps the memo bounded.
	for i := range DefaultMemoSize + 500 {
		n.Normalize(fmt.Sprintf("+1809%07d", i), "")
	}
	if got := n.memo.Len(); got == 0 || got > DefaultMemoSize {
		t.Errorf("memo holds %d entries, want 1..%d", got, DefaultMemoSize)
	}
}

// Past its bound the memo forgets the phone used longest ago, and keeps
// the ones read again since, whatever the flood.
func TestNormalizerMemoBounded(t *testing.T) {
	const size = 8
	n := NewNormalizer(Options{MemoSize: size})
	hot := memoKey{"809-555-1234", "DO"}
	n.Normalize(hot.raw, hot.region)
	first := memoKey{"+18095550000", ""}
	n.Normalize(first.raw, first.region)
	for i := range 10 * size {
		n.Normalize(fmt.Sprintf("+1809%07d", i+1), "")
		if got := n.memo.Len(); got > size {
			t.Fatalf("after %d distinct phones the memo holds %d entries, want at most %d", i+3, got, size)
		}
		n.Normalize(hot.raw, hot.region) // in use all along
	}
	if got := n.memo.Len(); got != size {
		t.Errorf("memo holds %d entries, want %d", got, size)
	}
	if !n.memo.Contains(hot) {
		t.Errorf("the phone in use (%q) was forgotten", hot.raw)
	}
	if n.memo.Contains(first) {
		t.Errorf("a phone read once before the flood (%q) is still remembered", first.raw)
	}
	if got, err := n.Normalize(first.raw, first.region); err != nil || got != first.raw {
		t.Errorf("Normalize(%q) after it was forgotten = %q, %v", first.raw, got, err)
	}
}

// Two Normalizers remember separately: what one holds, even a wrong
// answer planted in it, is not what the other answers, and filling one
// leaves the other as it was.
func TestNormalizersShareNothing(t *testing.T) {
	a := NewNormalizer(Options{MemoSize: 4})
	b := NewNormalizer(Options{MemoSize: 4})
	a.memo.Add(memoKey{"809-555-7777", "DO"}, memoResult{e164: "+10000000000"})
	if got, _ := a.Normalize("809-555-7777", "DO"); got != "+10000000000" {
		t.Fatalf("a = %q, want the planted answer: the memo is not read", got)
	}
	if got, err := b.Normalize("809-555-7777", "DO"); err != nil || got != "+18095557777" {
		t.Errorf("b = %q, %v; want +18095557777, read afresh", got, err)
	}
	for i := range 10 {
		a.Normalize(fmt.Sprintf("+1809555%04d", i), "")
	}
	if got := b.memo.Len(); got != 1 {
		t.Errorf("b holds %d entries after a was filled, want its own 1", got)
	}
	if !b.memo.Contains(memoKey{"809-555-7777", "DO"}) {
		t.Error("filling a pushed b's entry out")
	}
}

// One Normalizer serves concurrent callers (run with -race).
func TestNormalizerConcurrent(t *testing.T) {
	n := NewNormalizer(Options{MemoSize: 16})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				raw := fmt.Sprintf("+1809555%04d", (g*7+i)%40)
				if got, err := n.Normalize(raw, "DO"); err != nil || got != raw {
					t.Errorf("Normalize(%q) = %q, %v", raw, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNormalizerKeyOf(t *testing.T) {
	n := NewNormalizer(Options{})
	tests := []struct{ raw, region, want string }{
		{"+5215512345678", "", "+525512345678"},
		{"55 1234 5678", "MX", "+525512345678"},
		{"809-555-7777", "DO", "+18095557777"},
		{"809-555-7777", "", ""}, // no region: does not parse
		{"n/a", "DO", ""},
		{"", "DO", ""},
		{"   ", "DO", ""},
	}
	for _, tt := range tests {
		if got := n.KeyOf(tt.raw, tt.region); got != tt.want {
			t.Errorf("KeyOf(%q, %q) = %q, want %q", tt.raw, tt.region, got, tt.want)
		}
	}
	if n.memo.Contains(memoKey{"   ", "DO"}) || n.memo.Contains(memoKey{"", "DO"}) {
		t.Error("blank phones took places in the memo")
	}
}

var benchPhones = []struct{ raw, region string }{
	{"809-555-1234", "DO"}, {"+5215512345678", ""}, {"whatsapp:+34612345678", ""}, {"3001234567", "CO"},
}

// The memo's hit, the path of every cached answer.
func BenchmarkNormalizerHit(b *testing.B) {
	n := NewNormalizer(Options{})
	for i := range b.N {
		p := benchPhones[i%len(benchPhones)]
		n.Normalize(p.raw, p.region)
	}
}

func BenchmarkNormalizerHitParallel(b *testing.B) {
	n := NewNormalizer(Options{})
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			p := benchPhones[i%len(benchPhones)]
			n.Normalize(p.raw, p.region)
			i++
		}
	})
}

// A parse, what a miss costs.
func BenchmarkNormalize(b *testing.B) {
	for i := range b.N {
		p := benchPhones[i%len(benchPhones)]
		Normalize(p.raw, p.region)
	}
}
