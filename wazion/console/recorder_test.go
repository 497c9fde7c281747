package console_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/wazion/console"
)

func TestRecorderKeepsTheLastErrorsNewestFirst(t *testing.T) {
	r := console.NewRecorder([]string{"a"})
	for i := range console.MaxErrors + 7 {
		r.ObserveAnswerError(wazion.AnswerError{Store: "a", Error: fmt.Sprint(i)})
	}
	r.ObserveAnswerError(wazion.AnswerError{Store: "unknown", Error: "dropped"})
	got := r.Errors("a")
	if len(got) != console.MaxErrors {
		t.Fatalf("kept %d, want %d", len(got), console.MaxErrors)
	}
	if got[0].Error != fmt.Sprint(console.MaxErrors+6) || got[len(got)-1].Error != "7" {
		t.Errorf("newest %s, oldest %s; want %d and 7", got[0].Error, got[len(got)-1].Error, console.MaxErrors+6)
	}
	if r.Errors("unknown") != nil {
		t.Error("a store outside the configuration was recorded")
	}
	var nilRec *console.Recorder
	nilRec.ObserveAnswerError(wazion.AnswerError{Store: "a"})
	nilRec.ObserveUpstream("a", time.Now())
	if nilRec.Errors("a") != nil || len(nilRec.UpstreamPerMinute("a", time.Now())) != console.UpstreamMinutes {
		t.Error("a nil Recorder must record nothing and report empty history")
	}
}

func TestRecorderCountsUpstreamCallsPerMinute(t *testing.T) {
	r := console.NewRecorder([]string{"a"})
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	r.ObserveUpstream("a", t0)
	r.ObserveUpstream("a", t0.Add(59*time.Second))
	r.ObserveUpstream("a", t0.Add(2*time.Minute))
	got := r.UpstreamPerMinute("a", t0.Add(2*time.Minute+time.Second))
	if n := len(got); n != console.UpstreamMinutes || got[n-1] != 1 || got[n-2] != 0 || got[n-3] != 2 {
		t.Errorf("per minute = %v, want ... 2 0 1", got)
	}
	// A slot written UpstreamMinutes ago is not counted again.
	later := t0.Add(console.UpstreamMinutes * time.Minute)
	r.ObserveUpstream("a", later)
	got = r.UpstreamPerMinute("a", later)
	if got[len(got)-1] != 1 {
		t.Errorf("current minute = %d, want 1 (the slot's old minute dropped)", got[len(got)-1])
	}
	sum := 0
	for _, v := range got {
		sum += v
	}
	if sum != 2 {
		t.Errorf("calls over the window = %d, want 2 (t0's minute is out of it)", sum)
	}
}
