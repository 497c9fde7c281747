package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// lockedBuffer is a bytes.Buffer safe for the writer goroutine and the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// gatedWriter blocks every Write until the test sends on open, as a full
// pipe would.
type gatedWriter struct {
	open chan struct{}
	lockedBuffer
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	<-w.open
	return w.lockedBuffer.Write(p)
}

func TestAsyncLogKeepsOrderAndCloseFlushes(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		l := newAsyncLog(&out, 100*time.Millisecond, 4096)
		var want strings.Builder
		for i := range 2000 { // many times the capacity, in many flushes
			line := fmt.Sprintf("line %d\n", i)
			want.WriteString(line)
			if _, err := l.Write([]byte(line)); err != nil {
				t.Fatal(err)
			}
			if i%100 == 99 {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if l.Dropped() != 0 {
			t.Fatalf("%d lines dropped with the writer free", l.Dropped())
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if got := out.String(); got != want.String() {
			t.Fatalf("written out of order or incompletely: %d bytes, want %d", len(got), len(want.String()))
		}
		// After Close a line still reaches the output, at once.
		l.Write([]byte("late\n"))
		if !strings.HasSuffix(out.String(), "late\n") {
			t.Error("a line written after Close was lost")
		}
		if err := l.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

// TestAsyncLogCloseFlushesAtOnce: Close writes what waits without waiting
// for the interval.
func TestAsyncLogCloseFlushesAtOnce(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var out lockedBuffer
	l := newAsyncLog(&out, time.Hour, 4096)
	l.Write([]byte("one\n"))
	l.Close()
	if got := out.String(); got != "one\n" {
		t.Errorf("after Close the output is %q", got)
	}
}

func TestAsyncLogFlushesWithinInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		l := newAsyncLog(&out, 100*time.Millisecond, 4096)
		defer l.Close()
		l.Write([]byte("one\n"))
		synctest.Wait()
		if got := out.String(); got != "" {
			t.Fatalf("written before the interval: %q", got)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if got := out.String(); got != "one\n" {
			t.Fatalf("after the interval the output is %q, want the line", got)
		}
	})
}

// TestAsyncLogWritesABatchAtOnce: once a batch (half the capacity)
// gathered, the writer does not wait for its interval, so the lines
// that come while it writes find room.
func TestAsyncLogWritesABatchAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		l := newAsyncLog(&out, time.Hour, asyncLogCapacity)
		defer l.Close()
		const batch = asyncLogCapacity / 2
		line := []byte(strings.Repeat("x", 1023) + "\n")
		for range batch/len(line) - 1 {
			l.Write(line)
		}
		synctest.Wait()
		if n := len(out.String()); n != 0 {
			t.Fatalf("%d bytes written before a batch gathered", n)
		}
		l.Write(line)
		synctest.Wait()
		if n := len(out.String()); n != batch {
			t.Fatalf("after a batch %d bytes are written, want %d", n, batch)
		}
	})
}

func TestAsyncLogCountsAndReportsDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &gatedWriter{open: make(chan struct{})}
		const lineLen = 10 // "line 0000\n"
		l := newAsyncLog(out, 100*time.Millisecond, 5*lineLen)
		l.Write([]byte("first 000\n"))
		time.Sleep(100 * time.Millisecond)
		synctest.Wait() // the writer now holds "first" and is stuck writing it
		start := time.Now()
		for i := range 8 {
			l.Write(fmt.Appendf(nil, "line %04d\n", i))
		}
		if time.Since(start) != 0 {
			t.Error("Write waited for the stuck writer")
		}
		if got := l.Dropped(); got != 3 {
			t.Fatalf("Dropped = %d, want 3 (8 lines, room for 5)", got)
		}
		close(out.open)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != 7 {
			t.Fatalf("got %d lines, want first, 5 kept and the note:\n%s", len(lines), out.String())
		}
		for i, want := range []string{"first 000", "line 0000", "line 0004"} {
			if idx := []int{0, 1, 5}[i]; lines[idx] != want {
				t.Errorf("line %d = %q, want %q", idx, lines[idx], want)
			}
		}
		var note struct {
			Level   string `json:"level"`
			Msg     string `json:"msg"`
			Dropped int    `json:"dropped"`
		}
		if err := json.Unmarshal([]byte(lines[6]), &note); err != nil {
			t.Fatalf("the note is not a JSON log line: %v: %s", err, lines[6])
		}
		if note.Msg != "dropped 3 log lines" || note.Dropped != 3 || note.Level != "WARN" {
			t.Errorf("note = %+v, want a warning of 3 dropped lines", note)
		}
		// Said once: the next flush has no note.
		l.Write([]byte("after 000\n"))
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(out.String(), `"msg":"dropped`); n != 1 {
			t.Errorf("the drop is said %d times, want once:\n%s", n, out.String())
		}
		if !strings.HasSuffix(out.String(), "after 000\n") {
			t.Errorf("Close lost the last line:\n%s", out.String())
		}
	})
}

// failingWriter refuses every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestAsyncLogCountsLinesTheWriterRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newAsyncLog(failingWriter{}, 100*time.Millisecond, 4096)
		l.Write([]byte("a\n"))
		l.Write([]byte("b\n"))
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if got := l.Dropped(); got != 2 {
			t.Errorf("Dropped = %d, want the 2 refused lines", got)
		}
		l.Close()
	})
}

// TestAsyncLogUnderSlog: the lines slog writes through the buffer are the
// lines it writes directly.
func TestAsyncLogUnderSlog(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var direct, queued lockedBuffer
	l := newAsyncLog(&queued, asyncLogInterval, asyncLogCapacity)
	at := time.Date(2025, 1, 10, 14, 30, 0, 0, time.UTC)
	for _, w := range []*slog.Logger{slog.New(slog.NewJSONHandler(&direct, nil)), slog.New(slog.NewJSONHandler(l, nil))} {
		r := slog.NewRecord(at, slog.LevelInfo, "wazion request", 0)
		r.AddAttrs(slog.String("endpoint", "sidePanel_CustomerInfo"), slog.Float64("latency_ms", 0.25))
		if err := w.Handler().Handle(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	if direct.String() != queued.String() {
		t.Errorf("through the buffer:\n%s\ndirect:\n%s", queued.String(), direct.String())
	}
}

// TestServeExportsLogDrops: the program as run logs through the buffer and
// exports its drop counter, and on shutdown the access log line reaches
// the output.
func TestServeExportsLogDrops(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	addr := freeAddr(t)
	env := map[string]string{
		"WHATALO_API_KEY": fake.APIKey, "WAZION_TOKEN": testToken, "WHATALO_BASE_URL": fake.APIURL,
		"DEFAULT_REGION": "DO", "LISTEN_ADDR": addr,
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() {
		runErr <- run(ctx, []string{"whatalo-wazion", "serve"}, func(k string) string { return env[k] }, &logs, &logs)
	}()
	base := "http://" + addr
	waitUp(t, http.DefaultClient, base+"/healthz")
	if status, _ := doRequest(t, http.MethodGet, base+wazionPath(wazion.EndpointCustomerInfo, "phone", demoPhone), "", nil); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	m := scrapeURL(t, base+"/metrics")
	if mf := m["whatalo_wazion_log_lines_dropped_total"]; mf == nil || len(mf.GetMetric()) != 1 {
		t.Errorf("/metrics has no whatalo_wazion_log_lines_dropped_total")
	} else if v := mf.GetMetric()[0].GetCounter().GetValue(); v != 0 {
		t.Errorf("%v lines dropped with a free output", v)
	}
	cancel()
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"wazion request"`) || !strings.HasSuffix(strings.TrimSpace(out), `"msg":"stopped"}`) {
		t.Errorf("the log lacks the access line or ends before the stop line:\n%s", out)
	}
}
