package adapter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/phone"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// Defaults applied to zero fields of IndexOptions.
const (
	DefaultIndexRefresh  = time.Minute
	DefaultIndexRebuild  = 6 * time.Hour
	DefaultIndexPageSize = 100
)

// States of the phone index, as IndexStatus reports them.
const (
	// IndexDisabled: Options.Index.Disabled; lookups always search.
	IndexDisabled = "disabled"
	// IndexBuilding: the first build has not finished (or Run has not
	// started); lookups search.
	IndexBuilding = "building"
	// IndexReady: built, and synced within MaxAge; lookups use it.
	IndexReady = "ready"
	// IndexStale: built, but no sync succeeded within MaxAge; lookups
	// search until one does.
	IndexStale = "stale"
	// IndexFailed: the first build failed; Run retries with backoff and
	// lookups search meanwhile.
	IndexFailed = "failed"
)

// IndexStates returns every state IndexStatus may report, for an enum
// gauge.
func IndexStates() []string {
	return []string{IndexDisabled, IndexBuilding, IndexReady, IndexStale, IndexFailed}
}

const (
	// indexOverlap is how far before the watermark an incremental refresh
	// keeps reading: updated_at has coarse precision and writes may commit
	// slightly out of order.
	indexOverlap = 10 * time.Second
	// indexPageTimeout bounds one page call, apart from waits for the rate
	// limit, which are background work's normal state.
	indexPageTimeout = 30 * time.Second
	// maxIndexCustomers bounds the index's memory: a store above it is
	// served by search, as before the index existed.
	maxIndexCustomers = 500_000
	// maxMissingChecks bounds the customers a rebuild asks for one by one
	// (recheckMissing); past it, as after a mass deletion, the rest leave
	// the index without asking.
	maxMissingChecks = 20
	// maxJournal bounds the webhook updates kept for replay while a build
	// runs; past it, the next refresh catches up instead.
	maxJournal = 10_000
	// maxRetryDelay caps the backoff between failed syncs.
	maxRetryDelay = 10 * time.Minute
)

// errIndexTooLarge ends Run's syncing for good: retrying would spend the
// budget on a build that cannot fit.
var errIndexTooLarge = errors.New("store has too many customers to index")

// IndexOptions configure the phone index that Run keeps. Zero fields take
// the defaults noted.
type IndexOptions struct {
	// Disabled turns the index off: lookups always search Whatalo.
	Disabled bool
	// RefreshInterval is how often customers updated since the last sync
	// are read (default 1m).
	RefreshInterval time.Duration
	// RebuildInterval is how often the whole index is rebuilt, which is
	// how deleted customers leave it: Whatalo has no deletion event or
	// deleted-since filter (default 6h).
	RebuildInterval time.Duration
	// PageSize is the customers read per call (default 100, Whatalo's
	// maximum).
	PageSize int
	// MaxAge is how long after its last successful sync the index still
	// answers; past it, lookups search until a sync succeeds (default
	// 3 × RefreshInterval).
	MaxAge time.Duration
	// ColdSearchesPerMinute rations the searches lookups make until the
	// index is first ready, so that they leave the build its budget;
	// lookups past it answer "phone index still building". Zero: half of
	// the interactive part of the key's budget; negative: no ration.
	ColdSearchesPerMinute int
}

func (o IndexOptions) withDefaults() IndexOptions {
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = DefaultIndexRefresh
	}
	if o.RebuildInterval <= 0 {
		o.RebuildInterval = DefaultIndexRebuild
	}
	if o.PageSize <= 0 || o.PageSize > 100 {
		o.PageSize = DefaultIndexPageSize
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 3 * o.RefreshInterval
	}
	return o
}

// IndexStatus describes the phone index, for readiness checks and metrics.
type IndexStatus struct {
	State     string    // one of the Index* states
	Customers int       // customers indexed
	Keys      int       // distinct phone keys plus distinct emails
	LastSync  time.Time // end of the last successful sync; zero before the first
	LastError string    // the last failed sync's error; empty once one succeeds
	// Role is the replica's part in a shared index (SharedOptions.Index):
	// IndexLeader syncs it, IndexFollower reads the leader's; empty when
	// the index is not shared or the shared store cannot be reached.
	Role string
}

// indexedCustomer is a customer as the index holds it, with the keys it is
// indexed under (kept so an update can remove them). It is compact, for
// 100,000 customers to fit in a few tens of megabytes: its six strings end
// to end in one (one allocation, not six, each rounded up to its size
// class), dates as unix nanoseconds, the total as an int64 coefficient
// when it fits, and no display_contact, which the adapter does not read.
// Entries are replaced, never modified, once in the index.
type indexedCustomer struct {
	// text is id, name, email, phone, notes and last order id end to end;
	// ends[i] is where the i-th of the first five ends (see field).
	text string
	ends [5]uint32

	phoneKey string // canonical phone.Key, "" when the phone does not parse
	emailKey string // lowercase email, "" when none

	created, updated, lastOrderAt int64 // unix nanoseconds; 0: unset

	spentCoef   int64 // total_spent = spentCoef × 10^spentExp
	spentExp    int32
	ordersCount int32
	hasEmail    bool
	hasPhone    bool
	spentBig    *whatalo.Money // total_spent when it does not fit spentCoef
}

// Fields of indexedCustomer.text, in order.
const (
	fieldID = iota
	fieldName
	fieldEmail
	fieldPhone
	fieldNotes
	fieldLastOrderID
)

// field returns the i-th string of e.text.
func (e *indexedCustomer) field(i int) string {
	start, end := uint32(0), uint32(len(e.text))
	if i > 0 {
		start = e.ends[i-1]
	}
	if i < len(e.ends) {
		end = e.ends[i]
	}
	return e.text[start:end]
}

func (e *indexedCustomer) id() string          { return e.field(fieldID) }
func (e *indexedCustomer) name() string        { return e.field(fieldName) }
func (e *indexedCustomer) email() string       { return e.field(fieldEmail) }
func (e *indexedCustomer) phone() string       { return e.field(fieldPhone) }
func (e *indexedCustomer) notes() string       { return e.field(fieldNotes) }
func (e *indexedCustomer) lastOrderID() string { return e.field(fieldLastOrderID) }

// compact copies c into an entry without its keys (see withKeys).
func compact(c *whatalo.Customer) *indexedCustomer {
	e := &indexedCustomer{
		created:     nanos(c.CreatedAt),
		updated:     nanos(c.UpdatedAt),
		ordersCount: int32(min(max(c.OrdersCount, 0), 1<<31-1)),
		hasEmail:    c.HasEmail,
		hasPhone:    c.HasPhone,
	}
	fields := [...]string{c.ID, c.Name, c.Email, c.Phone, c.Notes, c.LastOrderID}
	n := 0
	for _, f := range fields {
		n += len(f)
	}
	var b strings.Builder
	b.Grow(n)
	for i, f := range fields {
		b.WriteString(f)
		if i < len(e.ends) {
			e.ends[i] = uint32(b.Len())
		}
	}
	e.text = b.String()
	if c.LastOrderAt != nil {
		e.lastOrderAt = nanos(*c.LastOrderAt)
	}
	if coef := c.TotalSpent.Coefficient(); coef.IsInt64() {
		e.spentCoef, e.spentExp = coef.Int64(), c.TotalSpent.Exponent()
	} else {
		m := c.TotalSpent
		e.spentBig = &m
	}
	return e
}

// withKeys computes the entry's phone key (in region) and email key.
func (e *indexedCustomer) withKeys(region string) *indexedCustomer {
	e.emailKey = strings.ToLower(strings.TrimSpace(e.email()))
	e.phoneKey = ""
	if p := e.phone(); p != "" {
		// Not through the Backend's Normalizer: a sync reads every
		// customer once, and would only push out the phones in use.
		if e164, err := phone.Normalize(p, region); err == nil {
			e.phoneKey = phone.Key(e164)
			if e.phoneKey == p {
				e.phoneKey = p // share the bytes
			}
		}
	}
	return e
}

// newIndexed prepares c for the index.
func newIndexed(c whatalo.Customer, region string) *indexedCustomer {
	return compact(&c).withKeys(region)
}

// sameData reports whether o holds the same customer data as e (keys
// aside), so a rebuild can keep e instead of normalising its phone again.
func (e *indexedCustomer) sameData(o *indexedCustomer) bool {
	return e.text == o.text && e.ends == o.ends &&
		e.created == o.created && e.updated == o.updated && e.lastOrderAt == o.lastOrderAt &&
		e.ordersCount == o.ordersCount && e.hasEmail == o.hasEmail && e.hasPhone == o.hasPhone &&
		e.spent().Equal(o.spent().Decimal)
}

func (e *indexedCustomer) spent() whatalo.Money {
	if e.spentBig != nil {
		return *e.spentBig
	}
	return whatalo.Money{Decimal: decimal.New(e.spentCoef, e.spentExp)}
}

// customer returns the entry as a customer of the client's type.
func (e *indexedCustomer) customer() whatalo.Customer {
	c := whatalo.Customer{
		ID: e.id(), Name: e.name(), Email: e.email(), Phone: e.phone(), Notes: e.notes(), LastOrderID: e.lastOrderID(),
		HasEmail: e.hasEmail, HasPhone: e.hasPhone,
		CreatedAt: fromNanos(e.created), UpdatedAt: fromNanos(e.updated),
		OrdersCount: int(e.ordersCount), TotalSpent: e.spent(),
	}
	if e.lastOrderAt != 0 {
		t := fromNanos(e.lastOrderAt)
		c.LastOrderAt = &t
	}
	return c
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// newer reports whether the index holds a later version than e. Without
// both dates there is no telling, and the incoming one wins.
func newer(held, e *indexedCustomer) bool {
	return held != nil && held.updated != 0 && e.updated != 0 && held.updated > e.updated
}

// keyMap maps a key to customer ids. Nearly every phone and email belongs
// to one customer, so that case is a plain string, without a slice.
type keyMap struct {
	one  map[string]string   // key -> its only id
	many map[string][]string // key -> ids, when more than one
}

func newKeyMap(n int) keyMap {
	return keyMap{one: make(map[string]string, n), many: map[string][]string{}}
}

func (m keyMap) add(key, id string) {
	if key == "" {
		return
	}
	if ids, ok := m.many[key]; ok {
		m.many[key] = append(ids, id)
		return
	}
	if first, ok := m.one[key]; ok {
		delete(m.one, key)
		m.many[key] = []string{first, id}
		return
	}
	m.one[key] = id
}

func (m keyMap) del(key, id string) {
	if key == "" {
		return
	}
	if ids, ok := m.many[key]; ok {
		ids = slices.DeleteFunc(ids, func(x string) bool { return x == id })
		if len(ids) == 1 {
			delete(m.many, key)
			m.one[key] = ids[0]
		} else {
			m.many[key] = ids
		}
		return
	}
	if m.one[key] == id {
		delete(m.one, key)
	}
}

// ids returns the ids under key; the slice may be the map's own.
func (m keyMap) ids(key string) []string {
	if id, ok := m.one[key]; ok {
		return []string{id}
	}
	return m.many[key]
}

func (m keyMap) len() int { return len(m.one) + len(m.many) }

// indexData is one generation of the index: customers by id and the ids of
// each phone key and email.
type indexData struct {
	customers map[string]*indexedCustomer
	byPhone   keyMap
	byEmail   keyMap
}

func newIndexData(n int) *indexData {
	return &indexData{
		customers: make(map[string]*indexedCustomer, n),
		byPhone:   newKeyMap(n),
		byEmail:   newKeyMap(n),
	}
}

// put stores e, replacing the customer with its id and that one's keys.
func (d *indexData) put(e *indexedCustomer) {
	if old := d.customers[e.id()]; old != nil {
		if old.phoneKey == e.phoneKey && old.emailKey == e.emailKey {
			d.customers[e.id()] = e
			return
		}
		d.unlink(old)
	}
	d.customers[e.id()] = e
	d.byPhone.add(e.phoneKey, e.id())
	d.byEmail.add(e.emailKey, e.id())
}

// remove drops the customer id, if held, and returns it.
func (d *indexData) remove(id string) *indexedCustomer {
	old := d.customers[id]
	if old != nil {
		d.unlink(old)
		delete(d.customers, id)
	}
	return old
}

func (d *indexData) unlink(e *indexedCustomer) {
	d.byPhone.del(e.phoneKey, e.id())
	d.byEmail.del(e.emailKey, e.id())
}

func (d *indexData) keys() int { return d.byPhone.len() + d.byEmail.len() }

// journalEntry is an update made while a build runs, replayed onto the
// build's result so the swap does not lose it.
type journalEntry struct {
	e *indexedCustomer // nil: the customer was removed
}

// phoneIndex maps phone keys and emails to customers, for one store.
// Lookups copy customers out under the read lock; entries are replaced,
// never modified.
type phoneIndex struct {
	disabled bool

	mu        sync.RWMutex
	data      *indexData
	built     bool
	region    string    // region the phones were read in
	lastSync  time.Time // Options.Now at the end of the last successful sync
	watermark time.Time // latest updated_at seen by a sync (Whatalo's clock)
	lastErr   string
	journal   map[string]journalEntry // non-nil while a build runs
	version   uint64                  // counts changes to data, for sharing it
}

func newPhoneIndex(disabled bool) *phoneIndex {
	return &phoneIndex{disabled: disabled, data: newIndexData(0)}
}

// freshLocked reports whether lookups may use the index. Callers hold mu.
func (ix *phoneIndex) freshLocked(now time.Time, maxAge time.Duration) bool {
	return !ix.disabled && ix.built && now.Sub(ix.lastSync) <= maxAge
}

// lookup returns the customers under a phone key (or, with email, a
// lowercase email), newest first as Whatalo's search lists them, and
// whether the index could answer: an empty answer from a fresh index is a
// real "not found".
func (ix *phoneIndex) lookup(email bool, key string, now time.Time, maxAge time.Duration) ([]whatalo.Customer, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if !ix.freshLocked(now, maxAge) {
		return nil, false
	}
	ids := ix.data.byPhone.ids(key)
	if email {
		ids = ix.data.byEmail.ids(key)
	}
	if len(ids) == 0 {
		return nil, true
	}
	out := make([]whatalo.Customer, 0, len(ids))
	for _, id := range ids {
		if e := ix.data.customers[id]; e != nil {
			out = append(out, e.customer())
		}
	}
	slices.SortFunc(out, func(a, b whatalo.Customer) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, true
}

// get returns the indexed entry of id, or nil.
func (ix *phoneIndex) get(id string) *indexedCustomer {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.data.customers[id]
}

// idsByPhone returns the ids under a phone key, whether or not the index is
// fresh: webhooks use it to find whom an event concerns.
func (ix *phoneIndex) idsByPhone(key string) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return slices.Clone(ix.data.byPhone.ids(key))
}

// upsert stores e unless the index holds a newer version, and returns the
// entry it replaced and whether e was stored.
func (ix *phoneIndex) upsert(e *indexedCustomer) (old *indexedCustomer, stored bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	old = ix.data.customers[e.id()]
	if newer(old, e) {
		return old, false
	}
	ix.data.put(e)
	ix.version++
	ix.journalLocked(e.id(), journalEntry{e: e})
	return old, true
}

// remove drops a customer Whatalo no longer has.
func (ix *phoneIndex) remove(id string) *indexedCustomer {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.journalLocked(id, journalEntry{})
	old := ix.data.remove(id)
	if old != nil {
		ix.version++
	}
	return old
}

func (ix *phoneIndex) journalLocked(id string, j journalEntry) {
	if ix.journal == nil {
		return
	}
	if _, ok := ix.journal[id]; ok || len(ix.journal) < maxJournal {
		ix.journal[id] = j
	}
}

// beginBuild starts journaling updates for the build about to run.
func (ix *phoneIndex) beginBuild() {
	ix.mu.Lock()
	ix.journal = map[string]journalEntry{}
	ix.mu.Unlock()
}

// endBuild stops journaling for a build that failed.
func (ix *phoneIndex) endBuild() {
	ix.mu.Lock()
	ix.journal = nil
	ix.mu.Unlock()
}

// swap installs a finished build, replaying the updates made while it ran.
func (ix *phoneIndex) swap(d *indexData, region string, watermark, now time.Time) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for id, j := range ix.journal {
		switch {
		case j.e == nil:
			d.remove(id)
		case !newer(d.customers[id], j.e):
			d.put(j.e)
		}
	}
	ix.journal = nil
	ix.data = d
	ix.version++
	ix.built = true
	ix.region = region
	ix.watermark = watermark
	ix.lastSync = now
	ix.lastErr = ""
}

// merge stores the customers an incremental refresh read and returns what
// changed.
func (ix *phoneIndex) merge(es []*indexedCustomer, watermark, now time.Time) []cacheChange {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var changes []cacheChange
	for _, e := range es {
		old := ix.data.customers[e.id()]
		if newer(old, e) {
			continue
		}
		ix.data.put(e)
		if ch, ok := changeOf(old, e); ok {
			ix.version++
			changes = append(changes, ch)
		}
	}
	ix.watermark = later(ix.watermark, watermark)
	ix.lastSync = now
	ix.lastErr = ""
	return changes
}

// fail records a failed sync; the index keeps answering until MaxAge.
func (ix *phoneIndex) fail(err error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.lastErr = err.Error()
}

// syncState returns what an incremental refresh starts from.
func (ix *phoneIndex) syncState() (built bool, region string, watermark time.Time) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.built, ix.region, ix.watermark
}

// size is how many customers the index holds.
func (ix *phoneIndex) size() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.data.customers)
}

// knownRegion is the region the last build read phones in, or "".
func (ix *phoneIndex) knownRegion() string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.region
}

func (ix *phoneIndex) status(now time.Time, maxAge time.Duration) IndexStatus {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s := IndexStatus{
		Customers: len(ix.data.customers),
		Keys:      ix.data.keys(),
		LastSync:  ix.lastSync,
		LastError: ix.lastErr,
	}
	switch {
	case ix.disabled:
		s.State = IndexDisabled
	case !ix.built && ix.lastErr != "":
		s.State = IndexFailed
	case !ix.built:
		s.State = IndexBuilding
	case ix.freshLocked(now, maxAge):
		s.State = IndexReady
	default:
		s.State = IndexStale
	}
	return s
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// cacheChange is what an index update makes stale in the cache: the phone
// and email lookups of the old and new entries' keys, and the customer
// itself. It points at the entries (never modified) rather than copying
// their keys: a first build makes one change per customer, all held at
// the moment the build's memory peaks.
type cacheChange struct {
	id  string
	old *indexedCustomer // nil: new to the index
	e   *indexedCustomer // nil: removed
}

// keys returns the phone and email keys the change makes stale, "" for
// none: the old entry's, then the new one's.
func (ch cacheChange) keys() (phones, emails [2]string) {
	if ch.old != nil {
		phones[0], emails[0] = ch.old.phoneKey, ch.old.emailKey
	}
	if ch.e != nil {
		phones[1], emails[1] = ch.e.phoneKey, ch.e.emailKey
	}
	return phones, emails
}

// changeOf describes replacing old by e, or reports that nothing a lookup
// shows changed.
func changeOf(old, e *indexedCustomer) (cacheChange, bool) {
	ch := cacheChange{id: e.id(), old: old, e: e}
	if old == nil {
		return ch, true
	}
	return ch, old.updated != e.updated || old.phoneKey != e.phoneKey || old.emailKey != e.emailKey
}

// applyCacheChanges drops the lookups an index update made stale. Customers
// are refreshed in the cache only when already held there and older, so a
// build does not flood the cache; force stores them regardless, as for a
// webhook, which is newer than anything cached. The cache's shared level,
// if any, is changed too.
func (b *Backend) applyCacheChanges(changes []cacheChange, force bool) {
	b.applyChanges(changes, force, true)
}

// applyIndexChanges is applyCacheChanges for an index sync, which every
// replica sees (by syncing or loading the leader's index): only this
// replica's cache is changed, so a sync does not flood the shared level.
func (b *Backend) applyIndexChanges(changes []cacheChange) {
	b.applyChanges(changes, false, false)
}

func (b *Backend) applyChanges(changes []cacheChange, force, shared bool) {
	if len(changes) > 0 {
		defer b.changed()
	}
	del, set := b.cache.Delete, b.cache.Set
	if !shared {
		del, set = b.cache.DeleteLocal, b.cache.SetLocal
	}
	for _, ch := range changes {
		phones, emails := ch.keys()
		for _, k := range phones {
			if k != "" {
				del(cache.KindPhone, k)
			}
		}
		for _, k := range emails {
			if k != "" {
				del(cache.KindEmail, k)
			}
		}
		if ch.e == nil {
			del(cache.KindCustomer, ch.id)
			continue
		}
		if !force {
			cached := b.cachedCustomer(ch.id)
			if cached == nil || nanos(cached.UpdatedAt) >= ch.e.updated {
				continue
			}
		}
		c := ch.e.customer()
		set(cache.KindCustomer, ch.id, &c)
	}
}

// IndexStatus reports the phone index's state.
func (b *Backend) IndexStatus() IndexStatus {
	s := b.index.status(b.now(), b.opts.Index.MaxAge)
	s.Role = b.share.currentRole()
	return s
}

func (b *Backend) observeIndex() {
	if b.opts.Observer == nil {
		return
	}
	s := b.IndexStatus()
	b.opts.Observer.ObserveIndex(b.opts.Name, s.Customers, s.Keys, s.LastSync)
}

// indexedByPhone answers a phone lookup from the index when it is fresh.
func (b *Backend) indexedByPhone(key string) ([]whatalo.Customer, bool) {
	return b.index.lookup(false, key, b.now(), b.opts.Index.MaxAge)
}

// indexedByEmail answers an email lookup (lowercase) from the index when
// it is fresh.
func (b *Backend) indexedByEmail(email string) ([]whatalo.Customer, bool) {
	return b.index.lookup(true, email, b.now(), b.opts.Index.MaxAge)
}

// Run does the store's background work until ctx ends: it builds the phone
// index, refreshes it every RefreshInterval and rebuilds it every
// RebuildInterval, and polls the order feed (see orderFeed) as often, all
// at Background priority in the rate limiter. A failed
// sync keeps the index as it was and is retried with backoff. Run returns
// when ctx is done; a second concurrent Run only waits for its ctx.
func (b *Backend) Run(ctx context.Context) {
	if b.opts.Shared.Bus != nil {
		defer alongside(ctx, &b.listening, b.listen)()
	}
	var armFeed func()    // set until the order feed is armed
	wakeFeed := func() {} // brings the feed's retry forward
	if b.feedEnabled() && b.feedRunning.CompareAndSwap(false, true) {
		arm, wake, stop := b.orderFeedTimer(ctx)
		defer func() {
			stop()
			b.feedRunning.Store(false)
		}()
		armFeed, wakeFeed = arm, wake
	}
	if b.index.disabled || !b.running.CompareAndSwap(false, true) {
		b.firstSyncDone()
		<-ctx.Done()
		return
	}
	defer b.firstSyncDone() // also when ctx ends before the first sync
	defer b.running.Store(false)
	defer b.releaseIndexLease()
	ctx = whatalo.WithPriority(ctx, whatalo.Background)
	o := b.opts.Index
	timer := time.NewTimer(0)
	defer timer.Stop()
	var nextRebuild time.Time
	failures, rebuildFailures := 0, 0
	var lastTry time.Time
	for {
		if armFeed != nil {
			if built, _, _ := b.index.syncState(); built {
				// The order feed starts once the index is built.
				armFeed()
				armFeed = nil
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-b.resume.feed.wake:
			// Whatalo answered a lookup while the order feed was failing.
			wakeFeed()
			continue
		case <-b.resume.index.wake:
			// Whatalo answered a lookup while the syncs were failing.
			if d := woken(o.RefreshInterval, lastTry, time.Now()); d > 0 {
				timer.Reset(d)
				continue
			}
		}
		if b.takeIndexLease(ctx) == IndexFollower {
			// Another replica syncs; read its result.
			if builtAt := b.followIndex(ctx); !builtAt.IsZero() {
				nextRebuild = builtAt.Add(o.RebuildInterval)
			}
			next := followInterval(o)
			if built, _, _ := b.index.syncState(); !built {
				// Nothing loaded yet (the leader is still building):
				// look again soon, lookups search Whatalo meanwhile.
				next = min(next, followFirstInterval)
			}
			b.firstSyncDone()
			timer.Reset(next)
			continue
		}
		built, _, _ := b.index.syncState()
		full := !built || !time.Now().Before(nextRebuild)
		b.syncingAlone()
		sctx, lost, release := b.holdIndexLease(ctx)
		var err error
		if full {
			err = b.buildIndex(sctx)
		} else {
			err = b.refreshIndex(sctx)
		}
		release()
		lastTry = time.Now()
		if ctx.Err() != nil {
			return
		}
		if lost() {
			// Another replica took the lease over, or held it while this
			// one synced alone; it syncs from now on. A replica that synced
			// alone holds no published version: it loads the leader's at
			// once.
			next := followInterval(o)
			if b.share.currentRole() == "" {
				next = 0
			}
			timer.Reset(next)
			continue
		}
		switch {
		case err == nil:
			failures = 0
			b.resume.index.succeeded()
			if full {
				rebuildFailures = 0
				nextRebuild = time.Now().Add(o.RebuildInterval)
			}
			b.publishIndex(ctx)
			timer.Reset(o.RefreshInterval)
		case errors.Is(err, errIndexTooLarge):
			b.index.fail(err)
			b.observeIndex()
			b.log.Error("phone index given up; lookups search Whatalo", "err", err)
			<-ctx.Done()
			return
		case full && built:
			// The index in place is still good: keep refreshing it and
			// try the rebuild again later.
			rebuildFailures++
			b.index.fail(err)
			delay := retryDelay(o.RefreshInterval, rebuildFailures, true)
			nextRebuild = time.Now().Add(delay)
			b.log.Warn("phone index rebuild failed", "failures", rebuildFailures, "retry_in", delay, "err", err)
			timer.Reset(o.RefreshInterval)
		default:
			failures++
			if !full {
				// A refresh is cheap enough to try again as soon as
				// Whatalo answers; a build keeps its backoff.
				b.resume.index.failed()
			}
			b.index.fail(err)
			var staleAt time.Time
			if st := b.index.status(b.now(), o.MaxAge); built && !st.LastSync.IsZero() {
				staleAt = st.LastSync.Add(o.MaxAge)
			}
			delay := resumeDelay(o.RefreshInterval, failures, built, staleAt, b.now())
			b.log.Warn("phone index sync failed", "build", full, "failures", failures, "retry_in", delay, "err", err)
			timer.Reset(delay)
		}
		if err != nil {
			b.observeIndex()
		}
		b.firstSyncDone()
	}
}

// FirstSync is closed once Run's first index sync has ended, whether it
// succeeded or failed (a failed one is retried with backoff), or at once
// when the index is disabled; also when Run ends before it. A service
// starting many stores waits on it to start the next one.
func (b *Backend) FirstSync() <-chan struct{} { return b.firstSync }

func (b *Backend) firstSyncDone() { b.firstSyncOnce.Do(func() { close(b.firstSync) }) }

// retryDelay is the wait after the n-th failed sync in a row: doubling from
// the refresh interval (from at most 5 s before the first build, so the
// index is not long delayed by one bad start), capped at maxRetryDelay or
// the interval if that is longer.
func retryDelay(every time.Duration, n int, built bool) time.Duration {
	base := every
	if !built {
		base = min(every, 5*time.Second)
	}
	return min(base<<min(n-1, 8), max(every, maxRetryDelay))
}

// alongside runs fn(ctx) in its own goroutine unless running says one
// already does, and returns what waits for it to end and clears running.
func alongside(ctx context.Context, running *atomic.Bool, fn func(context.Context)) (wait func()) {
	if !running.CompareAndSwap(false, true) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	return func() {
		<-done
		running.Store(false)
	}
}

// indexRegion is the region phones are read in: the configured one, else
// the store's country. Without either, national numbers cannot be indexed,
// so the sync fails rather than answer "not found" for them.
func (b *Backend) indexRegion(ctx context.Context) (string, error) {
	if b.opts.Region != "" {
		return b.opts.Region, nil
	}
	// Interactive: the load is shared with any lookup that needs it too,
	// which should not wait on the background share.
	s, err := b.storeInfo(whatalo.WithPriority(ctx, whatalo.Interactive))
	if err != nil {
		return "", fmt.Errorf("read store country for the phone index: %w", err)
	}
	return strings.ToUpper(s.CountryCode), nil
}

// buildIndex reads every customer into a new index and swaps it in whole,
// which is how deleted customers leave it.
func (b *Backend) buildIndex(ctx context.Context) error {
	defer b.holdShareForFirstBuild()()
	region, err := b.indexRegion(ctx)
	if err != nil {
		return err
	}
	b.index.beginBuild()
	// Sized as the index in place: a rebuild mostly finds the same
	// customers, and the maps then never grow (copying) while it runs.
	d := newIndexData(b.index.size())
	var watermark time.Time
	for c, lerr := range b.customersNewestFirst(ctx) {
		if lerr != nil {
			err = lerr
			break
		}
		d.put(b.index.reuse(compact(c), region))
		watermark = later(watermark, c.UpdatedAt)
		if len(d.customers) > maxIndexCustomers {
			err = fmt.Errorf("%w (more than %d)", errIndexTooLarge, maxIndexCustomers)
			break
		}
	}
	if err == nil {
		err = b.recheckMissing(ctx, d, region)
	}
	if err != nil {
		b.index.endBuild()
		return fmt.Errorf("build phone index: %w", err)
	}
	changes := b.index.diff(d)
	b.index.swap(d, region, watermark, b.now())
	b.applyIndexChanges(changes)
	b.share.built(b.now())
	b.observeIndex()
	return nil
}

// recheckMissing asks Whatalo again, one by one, for the customers the
// index holds that a rebuild did not list. Most were deleted; but a
// customer deleted or updated while the rebuild paged shifts the later
// pages by one, and the customer the shift skipped must not leave the
// index. Customers Whatalo no longer has stay out of d; on any other
// failure the held entry is kept until the next rebuild.
func (b *Backend) recheckMissing(ctx context.Context, d *indexData, region string) error {
	missing := b.index.missingFrom(d)
	if len(missing) > maxMissingChecks {
		missing = missing[:maxMissingChecks]
	}
	for _, held := range missing {
		cctx, cancel := context.WithTimeout(ctx, indexPageTimeout)
		c, _, err := b.client.Customers.Get(cctx, held.id())
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, whatalo.ErrNotFound):
		case err != nil:
			d.put(held)
		default:
			c.ID = held.id()
			d.put(b.index.reuse(compact(c), region))
		}
	}
	return nil
}

// missingFrom returns the customers the index holds that d lacks, most
// recently updated first.
func (ix *phoneIndex) missingFrom(d *indexData) []*indexedCustomer {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []*indexedCustomer
	for id, e := range ix.data.customers {
		if d.customers[id] == nil {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *indexedCustomer) int { return cmp.Compare(b.updated, a.updated) })
	return out
}

// reuse returns the entry the index holds for e's customer when nothing
// changed, so a rebuild holds one copy of unchanged customers and skips
// normalising their phones; otherwise e with its keys.
func (ix *phoneIndex) reuse(e *indexedCustomer, region string) *indexedCustomer {
	ix.mu.RLock()
	held := ix.data.customers[e.id()]
	same := held != nil && ix.region == region && held.sameData(e)
	ix.mu.RUnlock()
	if same {
		return held
	}
	return e.withKeys(region)
}

// diff lists what replacing the index by d changes, for the cache. It reads
// the current index under the read lock; d is not shared yet.
func (ix *phoneIndex) diff(d *indexData) []cacheChange {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return changesBetween(ix.data, d)
}

// changesBetween lists what replacing the index data old by d changes.
func changesBetween(old, d *indexData) []cacheChange {
	// Counted first, so the slice is made once at its size: on a first
	// build it holds every customer, and growing it by appending would copy
	// it over and over at the moment the build's memory peaks.
	n := 0
	for id, e := range d.customers {
		if _, ok := changeOf(old.customers[id], e); ok {
			n++
		}
	}
	for id := range old.customers {
		if d.customers[id] == nil {
			n++
		}
	}
	changes := make([]cacheChange, 0, n)
	for id, e := range d.customers {
		if ch, ok := changeOf(old.customers[id], e); ok {
			changes = append(changes, ch)
		}
	}
	for id, was := range old.customers {
		if d.customers[id] == nil {
			changes = append(changes, cacheChange{id: id, old: was})
		}
	}
	return changes
}

// refreshIndex reads the customers updated since the last sync, newest
// first, until one is older than the watermark.
func (b *Backend) refreshIndex(ctx context.Context) error {
	_, region, watermark := b.index.syncState()
	cutoff := watermark.Add(-indexOverlap)
	var es []*indexedCustomer
	seen := watermark
	for c, err := range b.customersNewestFirst(ctx) {
		if err != nil {
			return fmt.Errorf("refresh phone index: %w", err)
		}
		if c.UpdatedAt.Before(cutoff) {
			break
		}
		es = append(es, compact(c).withKeys(region))
		seen = later(seen, c.UpdatedAt)
		if len(es) > maxIndexCustomers {
			return fmt.Errorf("refresh phone index: %w (more than %d)", errIndexTooLarge, maxIndexCustomers)
		}
	}
	b.applyIndexChanges(b.index.merge(es, seen, b.now()))
	b.observeIndex()
	return nil
}

// customersNewestFirst walks the store's customers by updated_at, newest
// first, as background work (backgroundWait). Pages are decoded one
// customer at a time and the *Customer is reused: the index keeps only its
// compact entries, never a page.
func (b *Backend) customersNewestFirst(ctx context.Context) iter.Seq2[*whatalo.Customer, error] {
	opts := &whatalo.CustomerListOptions{
		Sort:    whatalo.CustomerSortUpdatedAt,
		Order:   whatalo.SortDesc,
		PerPage: b.opts.Index.PageSize,
	}
	return b.client.Customers.Stream(ctx, opts, whatalo.WaitOutRateLimits(backgroundWait()))
}

// backgroundWait is how the index sync and the order feed meet the rate
// limit: being rate limited is not a failure for background work, which
// waits its turn and asks again. Each call is bounded by indexPageTimeout
// apart from those waits.
func backgroundWait() whatalo.RateLimitWait {
	return whatalo.RateLimitWait{TryTimeout: indexPageTimeout}
}
