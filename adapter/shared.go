package adapter

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync/atomic"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// The interfaces below let several replicas of the service, each with its
// own Backend per store, act as one: a second-level cache (SharedCache), a
// bus carrying webhook effects (Bus) and a lease with the phone index it
// guards (IndexShare). All are optional: without them a Backend works
// alone, as before. Implementations (Redis) scope keys and channels to one
// store, bound every call with a short timeout, and return an error rather
// than wait; the adapter then goes on as a single process would.

// SharedCache is a cache level shared by replicas, below each Cache. Keys
// are opaque and safe to log; values are encoded by the Cache.
type SharedCache interface {
	// Get returns the value of key, and false when there is none.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Write applies writes in order.
	Write(ctx context.Context, writes []SharedWrite) error
}

// SharedWrite is one write to a SharedCache: Value with a time to live, or
// a deletion when Value is nil.
type SharedWrite struct {
	Key   string
	Value []byte
	TTL   time.Duration
}

// Bus carries messages between the replicas serving one store.
type Bus interface {
	// Publish sends msg to every replica subscribed, this one included.
	Publish(ctx context.Context, msg []byte) error
	// Subscribe hands each message to handle, one at a time, until ctx
	// ends; it reconnects by itself. Messages sent while a replica is
	// disconnected are lost to it.
	Subscribe(ctx context.Context, handle func(msg []byte)) error
}

// IndexShare lets one replica at a time sync a store's phone index (the
// lease holder) and the others read its result.
type IndexShare interface {
	// Acquire takes the lease for ttl, or extends it when this replica
	// holds it, and reports whether this replica holds it now.
	Acquire(ctx context.Context, ttl time.Duration) (bool, error)
	// Release gives the lease up if this replica holds it.
	Release(ctx context.Context) error
	// Save stores the holder's index: meta always, snapshot unless nil.
	Save(ctx context.Context, meta, snapshot []byte) error
	// Meta returns the last meta saved, or nil.
	Meta(ctx context.Context) ([]byte, error)
	// Snapshot returns the last snapshot saved, or nil.
	Snapshot(ctx context.Context) ([]byte, error)
}

// SharedOptions connect a Backend to the other replicas serving its store.
// The second-level cache is CacheOptions.Shared.
type SharedOptions struct {
	// Bus, if set, carries each verified webhook to the other replicas,
	// which apply it to their cache, index and carts, and the customers
	// fetched after a webhook, so only the receiving replica fetches them.
	Bus Bus
	// Index, if set, makes the phone index sync run on one replica at a
	// time; the others load its snapshots instead of reading Whatalo.
	Index IndexShare
	// Replica names this process in bus messages, so it can skip its own;
	// default a random name.
	Replica string
}

// Bounds of the shared cache writer.
const (
	sharedQueue        = 8192 // writes waiting; past it new ones are dropped
	sharedBatch        = 256  // writes sent together
	sharedWriteTimeout = 2 * time.Second
	// sharedFlushTimeout bounds how long a webhook waits for its deletions
	// to reach the shared level before it answers and tells the other
	// replicas.
	sharedFlushTimeout = 250 * time.Millisecond
	// busTimeout bounds a publication on the bus. With sharedFlushTimeout
	// it bounds what sharing adds to a webhook's answer, which Whatalo
	// wants within a second.
	busTimeout = 500 * time.Millisecond
)

// sharedKey is the shared level's key for a cache key: the kind, readable
// for operators, and a hash of the rest, which may hold a phone or email and
// is unbounded in length.
func sharedKey(k string) string {
	kind, _, _ := strings.Cut(k, "\x00")
	sum := sha256.Sum256([]byte(k))
	return kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// sharedEnvelope is the encoding of a shared value: a version byte, the
// time the value became fresh (unix nanoseconds, big-endian), then the
// value as JSON of its kind's type.
const sharedEnvelopeVersion = 1

func encodeShared(v any, at time.Time) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 9, 9+len(body))
	out[0] = sharedEnvelopeVersion
	binary.BigEndian.PutUint64(out[1:], uint64(at.UnixNano()))
	return append(out, body...), nil
}

func decodeShared(data []byte) (time.Time, []byte, bool) {
	if len(data) < 9 || data[0] != sharedEnvelopeVersion {
		return time.Time{}, nil, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(data[1:9]))), data[9:], true
}

// sharedDecoder reads a shared value as T, or is nil when c has no shared
// level, so that Fetch builds nothing for it.
func sharedDecoder[T any](c *Cache) func([]byte) (any, error) {
	if c.shared == nil {
		return nil
	}
	return decodeAs[T]
}

func decodeAs[T any](b []byte) (any, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

// sharedWriter writes to the shared level in the background, in order and
// in batches, so requests never wait on it. Its queue is bounded: when the
// shared store is slow, writes are dropped (the values expire there on
// their own) rather than held in memory.
type sharedWriter struct {
	s      SharedCache
	ttl    func(kind string) time.Duration
	negTTL time.Duration
	ops    chan sharedOp
	stop   chan struct{}
	done   chan struct{}

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

func newSharedWriter(s SharedCache, ttl func(string) time.Duration, negTTL time.Duration) *sharedWriter {
	w := &sharedWriter{
		s: s, ttl: ttl, negTTL: negTTL,
		ops:  make(chan sharedOp, sharedQueue),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go w.run()
	return w
}

// read returns a value of the shared level that is still fresh at now.
// Failures of the shared store are misses: the caller loads instead.
func (w *sharedWriter) read(ctx context.Context, kind, k string, decode func([]byte) (any, error), now time.Time) (any, time.Time, bool) {
	data, ok, err := w.s.Get(ctx, sharedKey(k))
	if err != nil || !ok {
		return nil, time.Time{}, false
	}
	at, body, ok := decodeShared(data)
	if !ok {
		return nil, time.Time{}, false
	}
	v, err := decode(body)
	if err != nil {
		return nil, time.Time{}, false
	}
	fresh := w.ttl(kind)
	if isEmpty(v) {
		fresh = w.negTTL
	}
	if !now.Before(at.Add(fresh)) {
		return nil, time.Time{}, false
	}
	return v, at, true
}

// set queues v, fresh from at, for the shared level.
func (w *sharedWriter) set(kind, k string, v any, at time.Time) {
	ttl := w.ttl(kind)
	if isEmpty(v) {
		ttl = w.negTTL
	}
	w.enqueue(sharedOp{key: sharedKey(k), val: v, at: at, ttl: ttl})
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
			data, err := encodeShared(op.val, op.at)
			if err != nil {
				w.failed.Add(1)
				continue
			}
			ttl := op.ttl - time.Since(op.at)
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

// flushShared waits, briefly, for the writes queued so far to reach the
// shared level.
func (c *Cache) flushShared(ctx context.Context) {
	if c.shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, sharedFlushTimeout)
	defer cancel()
	c.shared.flush(ctx)
}

// SharedCacheStats counts the writes to the shared level that were lost.
type SharedCacheStats struct {
	Dropped int64 // not queued: the queue was full
	Failed  int64 // not written: the shared store failed or a value would not encode
}

// SharedStats returns the Cache's shared-level counters (zero without one).
func (c *Cache) SharedStats() SharedCacheStats {
	if c.shared == nil {
		return SharedCacheStats{}
	}
	return SharedCacheStats{Dropped: c.shared.dropped.Load(), Failed: c.shared.failed.Load()}
}

// newReplicaName is a random name for a replica, unique enough to tell
// replicas apart on a bus.
func newReplicaName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Types of bus messages.
const (
	busDelivery = "delivery" // a verified webhook delivery
	busCustomer = "customer" // a customer fetched after a webhook
	busRemoved  = "removed"  // a customer Whatalo no longer has
)

// busMessage is what replicas tell each other. A delivery travels as it
// was read, after its signature was verified by the replica that got it.
type busMessage struct {
	Origin   string            `json:"origin"`
	Type     string            `json:"type"`
	ID       string            `json:"id,omitempty"`
	Event    string            `json:"event,omitempty"`
	At       time.Time         `json:"at,omitzero"`
	Entity   json.RawMessage   `json:"entity,omitempty"`
	Side     json.RawMessage   `json:"side,omitempty"`
	Customer *whatalo.Customer `json:"customer,omitempty"`
	Removed  string            `json:"removed,omitempty"`
}

// publish sends m to the other replicas, if there is a bus. The cache's
// shared deletions go first, so that a replica told of a change does not
// read the old value back from the shared level.
func (b *Backend) publish(ctx context.Context, m busMessage) {
	if b.opts.Shared.Bus == nil {
		return
	}
	b.cache.flushShared(ctx)
	b.send(ctx, m)
}

// send publishes m on the bus, if there is one, without waiting for the
// shared level: for callers that just did.
func (b *Backend) send(ctx context.Context, m busMessage) {
	bus := b.opts.Shared.Bus
	if bus == nil {
		return
	}
	m.Origin = b.replica
	msg, err := json.Marshal(m)
	if err != nil {
		b.log.Warn("encode message for the other replicas", "type", m.Type, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), busTimeout)
	defer cancel()
	if err := bus.Publish(ctx, msg); err != nil {
		b.busErrors.Add(1)
		b.log.Warn("tell the other replicas of a change; they catch up when their cache expires", "type", m.Type, "err", err)
	}
}

// publishDelivery tells the other replicas of a delivery this one applied
// and whose shared deletions it flushed.
func (b *Backend) publishDelivery(ctx context.Context, d delivery) {
	b.send(ctx, busMessage{Type: busDelivery, ID: d.id, Event: d.event, At: d.at, Entity: d.entity, Side: d.customer})
}

// listen applies the other replicas' messages until ctx ends.
func (b *Backend) listen(ctx context.Context) {
	for ctx.Err() == nil {
		err := b.opts.Shared.Bus.Subscribe(ctx, b.applyMessage)
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("replica bus subscription ended; retrying", "err", err)
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// applyMessage applies what another replica did. Deliveries go through the
// same checks and effects as here, except the customer fetches, which the
// replica that got the delivery makes and shares.
func (b *Backend) applyMessage(msg []byte) {
	var m busMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		b.log.Warn("unreadable message from another replica", "err", err)
		return
	}
	if m.Origin == b.replica {
		return
	}
	b.busReceived.Add(1)
	switch m.Type {
	case busDelivery:
		d := delivery{id: deliveryKey(m.ID), event: m.Event, at: m.At, entity: m.Entity, customer: m.Side, remote: true}
		if d.id != "" && !b.webhooks.add(d.id, time.Now()) {
			return
		}
		apply, err := b.planDelivery(d)
		if err != nil {
			b.log.Warn("unusable delivery from another replica", "event", eventLabel(d.event), "err", err)
			return
		}
		apply()
	case busCustomer:
		if m.Customer != nil && m.Customer.ID != "" {
			b.storeCustomer(*m.Customer)
		}
	case busRemoved:
		if m.Removed != "" {
			b.removeCustomer(m.Removed)
		}
	default:
		return
	}
	b.changed()
}

// BusStats counts the messages exchanged with other replicas.
type BusStats struct {
	Received int64 // messages from other replicas applied
	Errors   int64 // publications that failed
}

// BusStats returns the Backend's bus counters.
func (b *Backend) BusStats() BusStats {
	return BusStats{Received: b.busReceived.Load(), Errors: b.busErrors.Load()}
}

// CacheSharedStats returns the counters of the Backend's shared cache level.
func (b *Backend) CacheSharedStats() SharedCacheStats { return b.cache.SharedStats() }
