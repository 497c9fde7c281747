package adapter

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// Roles of a replica in a shared phone index, as IndexStatus.Role reports
// them.
const (
	IndexLeader   = "leader"
	IndexFollower = "follower"
)

const (
	// indexShareTimeout bounds publishing or reading a snapshot, which
	// may be megabytes: background work, not a request.
	indexShareTimeout = 30 * time.Second
	// leaseCallTimeout bounds taking, extending or giving up the lease.
	leaseCallTimeout = 2 * time.Second
	// maxSnapshotBytes bounds a snapshot once decompressed.
	maxSnapshotBytes = 1 << 30
)

// leaseTTL is how long the index lease lasts without being extended: two
// refresh intervals, so the holder extends it at each sync, and a holder
// that died is replaced soon after its index would go stale.
func leaseTTL(o IndexOptions) time.Duration {
	return min(max(2*o.RefreshInterval, time.Second), 2*time.Minute)
}

// followInterval is how often a follower looks for the leader's result,
// and for a lease left free.
// followFirstInterval is how often a follower that holds no index yet
// looks for the leader's first one.
const followFirstInterval = 2 * time.Second

func followInterval(o IndexOptions) time.Duration {
	return min(max(o.RefreshInterval/2, 50*time.Millisecond), 30*time.Second)
}

// indexShareState is the Backend's part in a shared index.
type indexShareState struct {
	mu        sync.Mutex
	role      string    // IndexLeader, IndexFollower or "" (alone)
	loaded    string    // version of the published index this replica holds
	published uint64    // phoneIndex.version when this replica last published or loaded
	builtAt   time.Time // when the index held was last built in full
}

func (s *indexShareState) currentRole() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.role
}

func (s *indexShareState) built(at time.Time) {
	s.mu.Lock()
	s.builtAt = at
	s.mu.Unlock()
}

// indexMeta describes a published index. The snapshot starts with it too,
// so a snapshot read just after a newer meta is still read consistently.
type indexMeta struct {
	Version   string    `json:"version"`
	LastSync  time.Time `json:"last_sync"`
	BuiltAt   time.Time `json:"built_at"`
	Region    string    `json:"region"`
	Watermark time.Time `json:"watermark"`
	Customers int       `json:"customers"`
}

// takeIndexLease takes or extends the lease and returns this replica's
// role. Without a shared index, or when it cannot be reached, the replica
// syncs alone, as a single process does.
func (b *Backend) takeIndexLease(ctx context.Context) string {
	ix := b.opts.Shared.Index
	if ix == nil {
		return ""
	}
	lctx, cancel := context.WithTimeout(ctx, leaseCallTimeout)
	held, err := ix.Acquire(lctx, leaseTTL(b.opts.Index))
	cancel()
	role := IndexFollower
	switch {
	case err != nil:
		role = ""
	case held:
		role = IndexLeader
	}
	b.share.mu.Lock()
	prev := b.share.role
	b.share.role = role
	b.share.mu.Unlock()
	if role != prev {
		switch {
		case err != nil:
			b.log.Warn("shared phone index unreachable; syncing alone", "err", err)
		case role == IndexLeader:
			b.log.Info("phone index lease taken; this replica syncs the index")
		default:
			b.log.Info("phone index synced by another replica; following it")
		}
	}
	return role
}

// holdIndexLease keeps the lease extended while the leader syncs. The
// context it returns ends if the lease is lost to another replica (lost
// then reports true), so that two syncs never run at once. release stops
// the extending.
func (b *Backend) holdIndexLease(ctx context.Context) (sctx context.Context, lost func() bool, release func()) {
	ix := b.opts.Shared.Index
	if ix == nil || b.share.currentRole() != IndexLeader {
		return ctx, func() bool { return false }, func() {}
	}
	sctx, cancel := context.WithCancel(ctx)
	var gone bool
	var mu sync.Mutex
	done := make(chan struct{})
	stopped := make(chan struct{})
	ttl := leaseTTL(b.opts.Index)
	go func() {
		defer close(stopped)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-sctx.Done():
				return
			case <-t.C:
			}
			lctx, lcancel := context.WithTimeout(sctx, leaseCallTimeout)
			held, err := ix.Acquire(lctx, ttl)
			lcancel()
			if err == nil && !held {
				mu.Lock()
				gone = true
				mu.Unlock()
				b.log.Warn("phone index lease lost during a sync; stopping it")
				cancel()
				return
			}
		}
	}()
	lost = func() bool {
		mu.Lock()
		defer mu.Unlock()
		return gone
	}
	release = func() {
		close(done)
		<-stopped
		cancel()
	}
	return sctx, lost, release
}

// releaseIndexLease gives the lease up when Run ends, so another replica
// takes the sync over at once.
func (b *Backend) releaseIndexLease() {
	ix := b.opts.Shared.Index
	if ix == nil || b.share.currentRole() != IndexLeader {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaseCallTimeout)
	defer cancel()
	if err := ix.Release(ctx); err != nil {
		b.log.Debug("release the phone index lease", "err", err)
	}
	b.share.mu.Lock()
	b.share.role = ""
	b.share.mu.Unlock()
}

// publishIndex shares the leader's index after a successful sync: the
// whole snapshot when the index changed since it was last shared, else
// only the meta, which carries the time of the sync that keeps the
// followers' copies fresh.
func (b *Backend) publishIndex(ctx context.Context) {
	ix := b.opts.Shared.Index
	if ix == nil || b.share.currentRole() != IndexLeader {
		return
	}
	entries, m, version := b.index.snapshot()
	b.share.mu.Lock()
	m.BuiltAt = b.share.builtAt
	loaded := b.share.loaded
	unchanged := loaded != "" && b.share.published == version
	b.share.mu.Unlock()
	if unchanged && !b.sharedIndexIs(ctx, loaded) {
		// Redis lost it (a restart) or another replica replaced it:
		// replicas starting now need the whole snapshot.
		unchanged = false
	}
	if unchanged {
		m.Version = loaded
	} else {
		m.Version = b.replica + "-" + strconv.FormatUint(version, 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}

	meta, err := json.Marshal(m)
	if err != nil {
		b.log.Warn("encode the phone index meta", "err", err)
		return
	}
	var snap []byte
	if !unchanged {
		if snap, err = encodeSnapshot(m, entries); err != nil {
			b.log.Warn("encode the phone index snapshot", "err", err)
			return
		}
	}
	pctx, cancel := context.WithTimeout(ctx, indexShareTimeout)
	defer cancel()
	if err := ix.Save(pctx, meta, snap); err != nil {
		b.log.Warn("share the phone index with the other replicas", "err", err)
		return
	}
	b.share.mu.Lock()
	b.share.loaded, b.share.published = m.Version, version
	b.share.mu.Unlock()
}

// sharedIndexIs reports whether the index published is version.
func (b *Backend) sharedIndexIs(ctx context.Context, version string) bool {
	mctx, cancel := context.WithTimeout(ctx, indexShareTimeout)
	defer cancel()
	raw, err := b.opts.Shared.Index.Meta(mctx)
	if err != nil || raw == nil {
		return false
	}
	var m indexMeta
	return json.Unmarshal(raw, &m) == nil && m.Version == version
}

// followIndex loads the leader's index when it is newer than the one held,
// and returns when the leader last built it in full (zero when unknown).
func (b *Backend) followIndex(ctx context.Context) time.Time {
	ix := b.opts.Shared.Index
	fctx, cancel := context.WithTimeout(ctx, indexShareTimeout)
	defer cancel()
	raw, err := ix.Meta(fctx)
	if err != nil {
		b.log.Debug("read the shared phone index meta", "err", err)
		return time.Time{}
	}
	if raw == nil {
		return time.Time{} // the leader has not finished its first build
	}
	var m indexMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		b.log.Warn("read the shared phone index meta", "err", err)
		return time.Time{}
	}
	b.share.mu.Lock()
	same := m.Version == b.share.loaded
	b.share.mu.Unlock()
	if same {
		b.index.touch(m.LastSync)
		b.observeIndex()
		return m.BuiltAt
	}
	snap, err := ix.Snapshot(fctx)
	if err != nil || snap == nil {
		b.log.Warn("read the shared phone index snapshot", "err", err)
		return time.Time{}
	}
	d, sm, err := b.decodeSnapshot(snap)
	if err != nil {
		b.log.Warn("read the shared phone index snapshot", "err", err)
		return time.Time{}
	}
	changes, version := b.index.adopt(d, sm)
	b.applyIndexChanges(changes)
	b.share.mu.Lock()
	b.share.loaded, b.share.published, b.share.builtAt = sm.Version, version, sm.BuiltAt
	b.share.mu.Unlock()
	b.observeIndex()
	return sm.BuiltAt
}

// encodeSnapshot writes m and then each customer as JSON values, gzipped,
// one at a time so that no second copy of the index is held while encoding.
func encodeSnapshot(m indexMeta, entries []*indexedCustomer) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	enc := json.NewEncoder(zw)
	m.Customers = len(entries)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode snapshot meta: %w", err)
	}
	for _, e := range entries {
		c := e.customer()
		if err := enc.Encode(&c); err != nil {
			return nil, fmt.Errorf("encode snapshot customer: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeSnapshot reads a snapshot into new index data.
func (b *Backend) decodeSnapshot(data []byte) (*indexData, indexMeta, error) {
	var m indexMeta
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, m, fmt.Errorf("decompress snapshot: %w", err)
	}
	dec := json.NewDecoder(io.LimitReader(zr, maxSnapshotBytes))
	if err := dec.Decode(&m); err != nil {
		return nil, m, fmt.Errorf("decode snapshot meta: %w", err)
	}
	d := newIndexData(min(max(m.Customers, 0), maxIndexCustomers))
	for {
		var c whatalo.Customer
		err := dec.Decode(&c)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, m, fmt.Errorf("decode snapshot customer: %w", err)
		}
		if len(d.customers) >= maxIndexCustomers {
			return nil, m, fmt.Errorf("decode snapshot: %w (more than %d)", errIndexTooLarge, maxIndexCustomers)
		}
		d.put(b.index.reuse(compact(&c), m.Region))
	}
	return d, m, nil
}

// snapshot returns the index's entries (shared, never modified), its meta
// and its version.
func (ix *phoneIndex) snapshot() ([]*indexedCustomer, indexMeta, uint64) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	entries := make([]*indexedCustomer, 0, len(ix.data.customers))
	for _, e := range ix.data.customers {
		entries = append(entries, e)
	}
	m := indexMeta{LastSync: ix.lastSync, Region: ix.region, Watermark: ix.watermark}
	return entries, m, ix.version
}

// touch records a sync the leader made without changing the index.
func (ix *phoneIndex) touch(lastSync time.Time) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.built && lastSync.After(ix.lastSync) {
		ix.lastSync = lastSync
		ix.lastErr = ""
	}
}

// adopt installs the leader's index d, keeping what this replica learned
// since the leader read it (webhooks reach every replica): customers held
// here in a newer version, and customers updated after the snapshot's
// watermark. It returns what changed, for the cache, and the new version.
func (ix *phoneIndex) adopt(d *indexData, m indexMeta) ([]cacheChange, uint64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	wm := nanos(m.Watermark)
	for id, e := range ix.data.customers {
		held := d.customers[id]
		if (held != nil && newer(e, held)) || (held == nil && e.updated > wm) {
			d.put(e)
		}
	}
	changes := changesBetween(ix.data, d)
	ix.data = d
	ix.version++
	ix.built = true
	ix.region = m.Region
	ix.watermark = m.Watermark
	ix.lastSync = m.LastSync
	ix.lastErr = ""
	return changes, ix.version
}
