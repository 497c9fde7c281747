package wazion

import (
	"strings"
	"sync"
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
// The map is golang-lru's simplelru, bounded and O(1), under this type's
// own lock, which also keeps put and forget in step. golang-lru's
// expirable.LRU does not fit: in v2 every one starts a cleanup goroutine
// that nothing can stop (its Close is left out), which would outlive its
// Tenants, and it reads the clock itself. Reading with Peek leaves the
// order that of the writes, and with one lifetime for every answer that is
// (but for writes racing by microseconds) the order they expire in: put
// drops expired answers from the old end, each once.
type answers struct {
	ttl time.Duration

	mu  sync.RWMutex
	gen uint64 // bumped by forget; an answer begun before it is not kept
	m   *simplelru.LRU[string, answer]
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
	m, err := simplelru.NewLRU[string, answer](maxAnswers, nil)
	if err != nil {
		panic("wazion: " + err.Error()) // only for a size below 1
	}
	return &answers{ttl: ttl, m: m}
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
	a.mu.RLock()
	v, ok := a.m.Peek(key)
	a.mu.RUnlock()
	if !ok || !now.Before(v.until) {
		return answer{}, false
	}
	return v, true
}

// generation is read before the Backend is asked; put keeps the answer
// only if no forget came in between.
func (a *answers) generation() uint64 {
	if a == nil {
		return 0
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.gen
}

// put keeps body for key until now + ttl, in place of the oldest answer
// when the map is full.
func (a *answers) put(key string, gen uint64, body []byte, found bool, now time.Time) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if gen != a.gen {
		return
	}
	for {
		_, v, ok := a.m.GetOldest()
		if !ok || now.Before(v.until) {
			break
		}
		a.m.RemoveOldest()
	}
	// Add moves a key written again to the new end, so the order stays
	// that of expiry.
	a.m.Add(key, answer{body: body, found: found, until: now.Add(a.ttl)})
}

// forget drops every kept answer.
func (a *answers) forget() {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.gen++
	a.m.Purge()
	a.mu.Unlock()
}

// len is the number of answers held, expired ones included.
func (a *answers) len() int {
	if a == nil {
		return 0
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.m.Len()
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
