package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the asynchronous log writer.
const (
	// asyncLogInterval is the longest a line waits before it is written.
	asyncLogInterval = 100 * time.Millisecond
	// asyncLogCapacity bounds the bytes waiting to be written: about
	// 3,000 access log lines, a tenth of a second at the busiest rate this
	// service reaches on one machine.
	asyncLogCapacity = 1 << 20
)

// asyncLog is the io.Writer under the service's logger. A request only
// copies its encoded line into a bounded buffer; one goroutine writes what
// gathered, in order, in one write, at least every interval and once a
// batch (half the capacity) gathered. A line that does not fit is dropped,
// never waited for: a slow or stuck standard output (a full pipe, a paused
// log shipper) must not stall WAzion's answers. Dropped lines are counted
// (Dropped, for the metric) and said in the log once it can write again.
//
// Each Write must hold whole lines, as slog's handlers write one record per
// call. Close writes what is left and waits for the goroutine; later writes
// go straight to the underlying writer, so a line logged during shutdown is
// not lost.
type asyncLog struct {
	out      io.Writer
	capacity int
	// batch is the size at which the writer is woken before its
	// interval: half the capacity, so that the other half takes the lines
	// that come while the batch is written. Side by side, batches of half
	// the capacity cost about a microsecond less per request than batches
	// of 64 KiB kept small enough to stay in the processor's cache, more
	// than the writes' own share measured (about 0.1 µs a request); the
	// wake-ups of the writer and of the reader, once per batch, are the
	// likely rest.
	batch int
	wake  chan struct{} // buffered 1: a batch gathered
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
	total atomic.Uint64 // lines dropped ever

	mu      sync.Mutex
	buf     []byte // lines waiting, at most capacity bytes
	dropped uint64 // lines dropped since the last note
	closed  bool

	// Owned by the writer goroutine (by Close after it ended).
	spare []byte
	note  bytes.Buffer
	notes *slog.Logger
}

// newAsyncLog starts the writer goroutine of an asyncLog over out, writing
// at least every interval and holding at most capacity bytes.
func newAsyncLog(out io.Writer, interval time.Duration, capacity int) *asyncLog {
	l := &asyncLog{
		out:      out,
		capacity: capacity,
		batch:    capacity / 2,
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		buf:      make([]byte, 0, capacity),
		spare:    make([]byte, 0, capacity),
	}
	l.notes = slog.New(slog.NewJSONHandler(&l.note, nil))
	go l.run(interval)
	return l
}

// Write queues p, or drops it when the buffer has no room for it. It never
// blocks on the underlying writer before Close, and never fails.
func (l *asyncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	if l.closed {
		defer l.mu.Unlock()
		return l.out.Write(p)
	}
	if len(l.buf)+len(p) > l.capacity {
		l.dropped++
		l.mu.Unlock()
		l.total.Add(1)
		return len(p), nil
	}
	l.buf = append(l.buf, p...)
	full := len(l.buf) >= l.batch
	l.mu.Unlock()
	if full {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// Dropped returns how many lines were dropped since the start.
func (l *asyncLog) Dropped() uint64 { return l.total.Load() }

// Close writes the waiting lines, stops the writer goroutine and waits for
// it. It is safe to call more than once.
func (l *asyncLog) Close() error {
	l.once.Do(func() {
		close(l.quit)
		<-l.done
		l.mu.Lock()
		defer l.mu.Unlock()
		l.closed = true
		l.writeBatch(l.buf, l.dropped)
		l.buf, l.dropped = nil, 0
	})
	return nil
}

func (l *asyncLog) run(interval time.Duration) {
	defer close(l.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-l.wake:
		case <-l.quit:
			l.flush()
			return
		}
		l.flush()
	}
}

// flush swaps the buffers and writes the full one, so writers wait only
// for the swap, never for the write.
func (l *asyncLog) flush() {
	l.mu.Lock()
	batch, dropped := l.buf, l.dropped
	l.buf, l.dropped = l.spare[:0], 0
	l.mu.Unlock()
	l.spare = l.writeBatch(batch, dropped)[:0]
}

// writeBatch writes batch, then the note of dropped lines if any, and
// returns the batch's memory for reuse. Lines the writer refused count as
// dropped, and are said in the next note.
func (l *asyncLog) writeBatch(batch []byte, dropped uint64) []byte {
	lines := len(batch)
	if dropped > 0 {
		l.note.Reset()
		l.notes.Warn(fmt.Sprintf("dropped %d log lines", dropped), "dropped", dropped)
		batch = append(batch, l.note.Bytes()...)
	}
	if len(batch) == 0 {
		return batch
	}
	if _, err := l.out.Write(batch); err != nil {
		lost := uint64(bytes.Count(batch[:lines], []byte{'\n'}))
		l.total.Add(lost)
		if !l.closed {
			l.mu.Lock()
			l.dropped += lost + dropped
			l.mu.Unlock()
		}
	}
	return batch
}
