package cache

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"time"
)

// Shared is a cache level shared by replicas, below each Cache
// (Options.Shared). Keys are opaque and safe to log; values are encoded by
// the Cache (EncodeShared). Implementations bound every call with a short
// timeout and return an error rather than wait: the Cache then goes on as
// if there were no shared level.
type Shared interface {
	// Get returns the value of key, and false when there is none.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Write applies writes in order.
	Write(ctx context.Context, writes []SharedWrite) error
}

// SharedWrite is one write to a Shared level: Value with a time to live, or
// a deletion when Value is nil.
type SharedWrite struct {
	Key   string
	Value []byte
	TTL   time.Duration
}

// Bounds of the shared writer.
const (
	sharedQueue        = 8192 // writes waiting; past it new ones are dropped
	sharedBatch        = 256  // writes sent together
	sharedWriteTimeout = 2 * time.Second
	// SharedFlushTimeout bounds how long FlushShared waits for the writes
	// queued before it: a webhook waits that long at most for its deletions
	// to reach the shared level before it answers.
	SharedFlushTimeout = 250 * time.Millisecond
)

// sharedKey is the shared level's key for a cache key: the kind, readable
// for operators, and a hash of the rest, which may hold a phone or email and
// is unbounded in length.
func sharedKey(k string) string {
	kind, _, _ := strings.Cut(k, "\x00")
	sum := sha256.Sum256([]byte(k))
	return kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// sharedEnvelopeVersion starts every shared value: a version byte, the
// time the value became fresh (unix nanoseconds, big-endian), then the
// value as JSON of its kind's type.
const sharedEnvelopeVersion = 1

// errEnvelope reports a shared value too short or of an unknown version.
var errEnvelope = errors.New("read shared cache value: unknown envelope")

// EncodeShared is the shared level's encoding of v, fresh from at.
func EncodeShared(v any, at time.Time) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 9, 9+len(body))
	out[0] = sharedEnvelopeVersion
	binary.BigEndian.PutUint64(out[1:], uint64(at.UnixNano()))
	return append(out, body...), nil
}

// DecodeShared reads what EncodeShared wrote as a T, and the time it became
// fresh.
func DecodeShared[T any](data []byte) (T, time.Time, error) {
	var v T
	if len(data) < 9 || data[0] != sharedEnvelopeVersion {
		return v, time.Time{}, errEnvelope
	}
	at := time.Unix(0, int64(binary.BigEndian.Uint64(data[1:9])))
	if err := json.Unmarshal(data[9:], &v); err != nil {
		return v, time.Time{}, err
	}
	return v, at, nil
}

// decoder reads a shared value as its kind's type.
type decoder func([]byte) (any, time.Time, error)

// sharedDecoder is DecodeShared for T, or nil when c has no shared level,
// so that Fetch builds nothing for it.
func sharedDecoder[T any](c *Cache) decoder {
	if c.shared == nil {
		return nil
	}
	return decodeAny[T]
}

func decodeAny[T any](data []byte) (any, time.Time, error) {
	return DecodeShared[T](data)
}

// sharedWriter writes to the shared level in the background, in order and
// in batches, so requests never wait on it. Its queue is bounded: when the
// shared store is slow, writes are dropped (the values expire there on
// their own) rather than held in memory.
type sharedWriter struct {
	s         Shared
	lifetimes func(kind string, v any) (fresh, stale time.Duration)
	now       func() time.Time // Options.Now: at, like the entry's times, is on its clock
	ops       chan sharedOp
	stop      chan struct{}
	done      chan struct{}

	dropped atomic.Int64
	failed  atomic.Int64
}

type sharedOp struct {
	key     string // shared key
	val     any
	del     bool
	at      time.Time
	ttl     time.Duration
	flushed chan struct{} // set on a flush marker, closed once written
}

func newSharedWriter(s Shared, lifetimes func(string, any) (time.Duration, time.Duration), now func() time.Time) *sharedWriter {
	w := &sharedWriter{
		s: s, lifetimes: lifetimes, now: now,
		ops:  make(chan sharedOp, sharedQueue),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go w.run()
	return w
}

// read returns a value of the shared level that is still fresh at now.
// Failures of the shared store are misses: the caller loads instead.
func (w *sharedWriter) read(ctx context.Context, kind, k string, decode decoder, now time.Time) (any, time.Time, bool) {
	data, ok, err := w.s.Get(ctx, sharedKey(k))
	if err != nil || !ok {
		return nil, time.Time{}, false
	}
	v, at, err := decode(data)
	if err != nil {
		return nil, time.Time{}, false
	}
	if fresh, _ := w.lifetimes(kind, v); !now.Before(at.Add(fresh)) {
		return nil, time.Time{}, false
	}
	return v, at, true
}

// set queues v, fresh from at, for the shared level, where it lives as long
// as it is fresh.
func (w *sharedWriter) set(kind, k string, v any, at time.Time) {
	fresh, _ := w.lifetimes(kind, v)
	w.enqueue(sharedOp{key: sharedKey(k), val: v, at: at, ttl: fresh})
}

// del queues the deletion of k from the shared level.
func (w *sharedWriter) del(k string) {
	w.enqueue(sharedOp{key: sharedKey(k), del: true})
}

func (w *sharedWriter) enqueue(op sharedOp) {
	select {
	case w.ops <- op:
	default:
		w.dropped.Add(1)
	}
}

// flush waits until the writes queued before it are done, or ctx ends.
func (w *sharedWriter) flush(ctx context.Context) {
	marker := make(chan struct{})
	select {
	case w.ops <- sharedOp{flushed: marker}:
	case <-ctx.Done():
		return
	case <-w.done:
		return
	}
	select {
	case <-marker:
	case <-ctx.Done():
	case <-w.done:
	}
}

func (w *sharedWriter) close() {
	close(w.stop)
	<-w.done
}

func (w *sharedWriter) run() {
	defer close(w.done)
	batch := make([]sharedOp, 0, sharedBatch)
	for {
		select {
		case <-w.stop:
			return
		case op := <-w.ops:
			batch = append(batch[:0], op)
		}
	more:
		for len(batch) < sharedBatch {
			select {
			case op := <-w.ops:
				batch = append(batch, op)
			default:
				break more
			}
		}
		w.write(batch)
	}
}

func (w *sharedWriter) write(batch []sharedOp) {
	writes := make([]SharedWrite, 0, len(batch))
	for _, op := range batch {
		switch {
		case op.flushed != nil:
		case op.del:
			writes = append(writes, SharedWrite{Key: op.key})
		default:
			data, err := EncodeShared(op.val, op.at)
			if err != nil {
				w.failed.Add(1)
				continue
			}
			ttl := op.ttl - w.now().Sub(op.at)
			if ttl <= 0 {
				continue
			}
			writes = append(writes, SharedWrite{Key: op.key, Value: data, TTL: ttl})
		}
	}
	if len(writes) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), sharedWriteTimeout)
		if err := w.s.Write(ctx, writes); err != nil {
			w.failed.Add(int64(len(writes)))
		}
		cancel()
	}
	for _, op := range batch {
		if op.flushed != nil {
			close(op.flushed)
		}
	}
}

// FlushShared waits, for SharedFlushTimeout at most, until the writes
// queued so far reach the shared level.
func (c *Cache) FlushShared(ctx context.Context) {
	if c.shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, SharedFlushTimeout)
	defer cancel()
	c.shared.flush(ctx)
}

// SharedStats counts the writes to the shared level that were lost.
type SharedStats struct {
	Dropped int64 // not queued: the queue was full
	Failed  int64 // not written: the shared store failed or a value would not encode
}

// SharedStats returns the Cache's shared-level counters (zero without one).
func (c *Cache) SharedStats() SharedStats {
	if c.shared == nil {
		return SharedStats{}
	}
	return SharedStats{Dropped: c.shared.dropped.Load(), Failed: c.shared.failed.Load()}
}
