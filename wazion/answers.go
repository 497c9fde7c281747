package wazion

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// maxAnswers bounds the recent answers kept per store. At the default
// one-second lifetime it is more distinct requests a second than a store's
// agents make; past it, expired answers are dropped and, if that is not
// enough, the oldest.
const maxAnswers = 4096

// answers keeps the encoded answers of a store's recent error-free
// requests for a short time (Tenant.AnswerTTL), so that the same request
// repeated within it (a panel reopened, several agents on one chat, a
// retry) costs a map lookup instead of rebuilding and encoding the answer.
// Forget drops them all when the store's data changes (a webhook).
//
// Reads take no lock and write nothing shared: two cores answering at
// once would otherwise pass a lock's cache line back and forth on every
// request. The answers are in a sync.Map for the reads; the writes (put,
// forget) go under a mutex, which keeps them in step, and bound the map by
// golang-lru's simplelru of the keys, whose evictions delete from it.
// golang-lru's expirable.LRU does not fit: in v2 every one starts a cleanup
// goroutine that nothing can stop (its Close is left out), which would
// outlive its Tenants, and it reads the clock itself. With one lifetime for
// every answer the order of the writes is (but for writes racing by
// microseconds) the order they expire in: put drops expired answers from
// the old end, each once.
type answers struct {
	ttl  time.Duration
	read sync.Map      // key → answer
	gen  atomic.Uint64 // bumped by forget; an answer begun before it is not kept

	mu    sync.Mutex
	order *simplelru.LRU[string, time.Time] // key → until, in the order of writes
}

type answer struct {
	body  []byte
	found bool
	until time.Time
}

func newAnswers(ttl time.Duration) *answers {
	if ttl <= 0 {
		return nil
	}
	a := &answers{ttl: ttl}
	order, err := simplelru.NewLRU(maxAnswers, func(key string, _ time.Time) { a.read.Delete(key) })
	if err != nil {
		panic("wazion: " + err.Error()) // only for a size below 1
	}
	a.order = order
	return a
}

// answerKey identifies a request by everything its answer depends on.
func answerKey(req Request) string {
	var b strings.Builder
	n := len(req.Endpoint) + len(req.Phone) + len(req.Order) + len(req.Email) +
		len(req.Query) + len(req.Format) + len(req.TargetLocale) + 8
	for _, p := range req.RelatedPhones {
		n += len(p) + 1
	}
	b.Grow(n)
	for _, f := range []string{req.Endpoint, req.Phone, req.Order, req.Email, req.Query, req.Format, req.TargetLocale} {
		b.WriteString(f)
		b.WriteByte(0)
	}
	for _, p := range req.RelatedPhones {
		b.WriteString(p)
		b.WriteByte(0x1f)
	}
	return b.String()
}

// get returns the answer kept for key, if still fresh at now.
func (a *answers) get(key string, now time.Time) (answer, bool) {
	if a == nil {
		return answer{}, false
	}
	v, ok := a.read.Load(key)
	if !ok {
		return answer{}, false
	}
	ans := v.(answer)
	if !now.Before(ans.until) {
		return answer{}, false
	}
	return ans, true
}

// generation is read before the Backend is asked; put keeps the answer
// only if no forget came in between.
func (a *answers) generation() uint64 {
	if a == nil {
		return 0
	}
	return a.gen.Load()
}

// put keeps body for key until now + ttl, in place of the oldest answer
// when the map is full.
func (a *answers) put(key string, gen uint64, body []byte, found bool, now time.Time) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if gen != a.gen.Load() {
		return
	}
	for {
		_, until, ok := a.order.GetOldest()
		if !ok || now.Before(until) {
			break
		}
		a.order.RemoveOldest()
	}
	// Add moves a key written again to the new end, so the order stays
	// that of expiry.
	until := now.Add(a.ttl)
	a.order.Add(key, until)
	a.read.Store(key, answer{body: body, found: found, until: until})
}

// forget drops every kept answer.
func (a *answers) forget() {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.gen.Add(1)
	a.order.Purge() // its evictions delete every answer from read
	a.mu.Unlock()
}

// len is the number of answers held, expired ones included.
func (a *answers) len() int {
	if a == nil {
		return 0
	}
	n := 0
	a.read.Range(func(any, any) bool {
		n++
		return true
	})
	return n
}

// Forget drops the recent answers of the named store (see
// Tenant.AnswerTTL), so the next request of each kind is answered from the
// Backend: call it when the store's data changed. Unknown names are
// ignored.
func (ts *Tenants) Forget(store string) {
	for _, st := range ts.stores {
		if st.name == store {
			st.answers.forget()
		}
	}
}

// AnswerObserver is implemented by an Observer that also counts, per
// request the Backend would answer, whether a recent answer was reused.
type AnswerObserver interface {
	ObserveAnswer(endpoint, store string, reused bool)
}
