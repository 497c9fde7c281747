package adapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// The interfaces below let several replicas of the service, each with its
// own Backend per store, act as one: a second-level cache (cache.Shared), a
// bus carrying webhook effects (Bus) and a lease with the phone index it
// guards (IndexShare). All are optional: without them a Backend works
// alone, as before. Implementations (Redis) scope keys and channels to one
// store, bound every call with a short timeout, and return an error rather
// than wait; the adapter then goes on as a single process would.

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

// WebhookStore keeps what a store's webhooks told, for every replica and
// across restarts: the deliveries seen, so that a redelivery or replay is
// applied once, and the abandoned carts and completed checkouts, which
// Whatalo's API cannot give back. Values arrive encoded; every key is
// kept for the ttl given, after which the store forgets it.
type WebhookStore interface {
	// Remember records key for ttl unless it is recorded already, and
	// reports whether it was not.
	Remember(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// ReadState returns the value under key, or nil when there is none.
	ReadState(ctx context.Context, key string) ([]byte, error)
	// WriteState stores value under key for ttl; a nil value deletes key.
	WriteState(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// SharedOptions connect a Backend to the other replicas serving its store.
// The second-level cache is cache.Options.Shared.
type SharedOptions struct {
	// Bus, if set, carries each verified webhook to the other replicas,
	// which apply it to their cache, index and carts, and the customers
	// fetched after a webhook, so only the receiving replica fetches them.
	Bus Bus
	// Index, if set, makes the phone index sync run on one replica at a
	// time; the others load its snapshots instead of reading Whatalo.
	Index IndexShare
	// Webhooks, if set, keeps the deliveries seen and the abandoned carts
	// where every replica reads them and a restart finds them; without it
	// they live in this process's memory only.
	Webhooks WebhookStore
	// Replica names this process in bus messages, so it can skip its own;
	// default a random name.
	Replica string
}

// busTimeout bounds a publication on the bus. With
// cache.SharedFlushTimeout it bounds what sharing adds to a webhook's
// answer, which Whatalo wants within a second.
const busTimeout = 500 * time.Millisecond

// webhookStoreTimeout bounds one call to the WebhookStore, on a webhook's
// path or a side panel's, past which this process's memory answers. It is
// a backstop: Redis' own call timeout (redis.timeout, at most 1 s) is
// shorter, and unlike a deadline set here it makes the calls that follow a
// failure fail at once, so a hung Redis delays a webhook once, not at each
// call.
const webhookStoreTimeout = time.Second

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
	Legacy   bool              `json:"legacy,omitempty"`
	Signed   time.Time         `json:"signed,omitzero"`
	Key      string            `json:"key,omitempty"`
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
	b.cache.FlushShared(ctx)
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
	b.send(ctx, busMessage{Type: busDelivery, ID: d.ID, Event: d.Event, At: d.OccurredAt, Entity: d.Entity, Side: d.SideCustomer,
		Legacy: d.legacy, Signed: d.signedAt, Key: d.replayKey})
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
		d := newDelivery(whatalo.WebhookDelivery{ID: m.ID, Event: m.Event, OccurredAt: m.At, Entity: m.Entity, SideCustomer: m.Side}, true)
		d.legacy, d.signedAt, d.replayKey = m.Legacy, m.Signed, m.Key
		// This replica's memory only: the sender recorded the delivery in
		// the WebhookStore, where it would read as a duplicate.
		if b.seenHere(d) {
			return
		}
		apply, err := b.planDelivery(d)
		if err != nil {
			b.log.Warn("unusable delivery from another replica", "event", whatalo.WebhookEventLabel(d.Event), "err", err)
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
func (b *Backend) CacheSharedStats() cache.SharedStats { return b.cache.SharedStats() }
