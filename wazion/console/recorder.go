package console

import (
	"sync"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// Bounds of a Recorder's history, per store.
const (
	// MaxErrors is how many answers with an error are kept.
	MaxErrors = 50
	// UpstreamMinutes is how many minutes of upstream calls are kept.
	UpstreamMinutes = 30
)

// Recorder keeps, per store, what the status page shows and /metrics does
// not: the last answers that carried an error, and Whatalo calls per
// minute. It is fed by the service's observers and holds a fixed amount of
// memory per configured store; events of other stores are dropped. A nil
// *Recorder records nothing.
type Recorder struct {
	stores map[string]*history // read-only after NewRecorder
}

// history is one store's part of a Recorder.
type history struct {
	mu      sync.Mutex
	errs    [MaxErrors]wazion.AnswerError // a ring; next is the oldest once full
	next    int
	n       int
	minutes [UpstreamMinutes]minuteCount // by minute number modulo UpstreamMinutes
}

// minuteCount is the calls of one minute; minute tells a slot's current
// minute from one UpstreamMinutes ago.
type minuteCount struct {
	minute int64
	calls  int
}

// NewRecorder returns a Recorder for the named stores.
func NewRecorder(stores []string) *Recorder {
	r := &Recorder{stores: make(map[string]*history, len(stores))}
	for _, s := range stores {
		r.stores[s] = &history{}
	}
	return r
}

func (r *Recorder) history(store string) *history {
	if r == nil {
		return nil
	}
	return r.stores[store]
}

// ObserveAnswerError implements wazion.ErrorObserver.
func (r *Recorder) ObserveAnswerError(e wazion.AnswerError) {
	h := r.history(e.Store)
	if h == nil {
		return
	}
	h.mu.Lock()
	h.errs[h.next] = e
	h.next = (h.next + 1) % MaxErrors
	h.n = min(h.n+1, MaxErrors)
	h.mu.Unlock()
}

// ObserveUpstream counts one Whatalo call (an attempt, retries included, as
// /metrics counts them) of store at t.
func (r *Recorder) ObserveUpstream(store string, t time.Time) {
	h := r.history(store)
	if h == nil {
		return
	}
	m := t.Unix() / 60
	h.mu.Lock()
	slot := &h.minutes[m%UpstreamMinutes]
	if slot.minute != m {
		*slot = minuteCount{minute: m}
	}
	slot.calls++
	h.mu.Unlock()
}

// Errors returns store's last answers with an error, newest first.
func (r *Recorder) Errors(store string) []wazion.AnswerError {
	h := r.history(store)
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]wazion.AnswerError, 0, h.n)
	for i := 1; i <= h.n; i++ {
		out = append(out, h.errs[(h.next-i+MaxErrors)%MaxErrors])
	}
	return out
}

// UpstreamPerMinute returns store's Whatalo calls in each of the last
// UpstreamMinutes minutes up to now, oldest first; the last is the current,
// unfinished minute.
func (r *Recorder) UpstreamPerMinute(store string, now time.Time) []int {
	out := make([]int, UpstreamMinutes)
	h := r.history(store)
	if h == nil {
		return out
	}
	last := now.Unix() / 60
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range out {
		m := last - int64(UpstreamMinutes-1-i)
		if slot := h.minutes[m%UpstreamMinutes]; slot.minute == m {
			out[i] = slot.calls
		}
	}
	return out
}
