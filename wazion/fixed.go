package wazion

import (
	"bytes"
	"fmt"
)

// Error messages of answers given without the Backend, whose bodies are
// built once (see fixedAnswers).
var (
	msgRateLimited = "too many requests for this token: slow down"
	msgShortQuery  = fmt.Sprintf("query must be at least %d characters", MinQueryRunes)
)

// fixedMessages are the messages of the answers that depend on nothing
// the request holds: the per-token bound, the bad request shapes and the
// short query checks ("" for search_Products' empty page).
func fixedMessages() []string {
	msgs := []string{"", msgRateLimited, msgShortQuery, "bad request"}
	for _, pe := range parseErrors {
		msgs = append(msgs, pe.Error())
	}
	return msgs
}

// fixedAnswers holds the encoded answers that depend only on the endpoint,
// the store's labels, an error message known at start and, for
// search_Products, the format: a refused request (a flood past the
// per-token bound, a malformed body) is answered with a copy of bytes
// built by NewServer instead of shaping and encoding one. Stores with the
// same labels share one set.
type fixedAnswers struct {
	byStore map[*store]map[fixedKey][]byte
}

type fixedKey struct {
	endpoint string
	variant  string // what the shape reads of the request (fixedVariant)
	msg      string
}

// newFixedAnswers encodes, for every store of ts and route, each message
// of fixedMessages in each variant of the route. An answer that fails to
// encode is left out: it is then built per request, which reports why.
// With Options.JSONEncoder set nothing is built: that encoder is then
// called for each answer and only then, as its callers expect. The sets
// of prev (nil at start) are reused for the labels they were built for.
func newFixedAnswers(s *Server, ts *Tenants, prev *fixedAnswers) *fixedAnswers {
	f := &fixedAnswers{byStore: make(map[*store]map[fixedKey][]byte, len(ts.stores))}
	if s.encoder != nil {
		return f
	}
	shared := map[Labels]map[fixedKey][]byte{}
	if prev != nil {
		for st, set := range prev.byStore {
			shared[*st.labels] = set
		}
	}
	msgs := fixedMessages()
	var buf bytes.Buffer
	for _, st := range ts.stores {
		if set, ok := shared[*st.labels]; ok {
			f.byStore[st] = set
			continue
		}
		set := map[fixedKey][]byte{}
		for _, r := range s.routes {
			for _, variant := range r.variants {
				for _, msg := range msgs {
					buf.Reset()
					if s.encode(&buf, r.errorBody(st.labels, variant, msg)) != nil {
						continue
					}
					set[fixedKey{r.name, variant, msg}] = bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
				}
			}
		}
		shared[*st.labels] = set
		f.byStore[st] = set
	}
	return f
}

// lookup returns the bytes built for the error answer of r to req with
// msg, or nil when there are none for it.
func (f *fixedAnswers) lookup(st *store, r *route, req Request, msg string) []byte {
	variant, ok := "", true
	if r.variantOf != nil {
		variant, ok = r.variantOf(req)
	}
	if !ok {
		return nil
	}
	return f.byStore[st][fixedKey{r.name, variant, msg}]
}

// productVariant is what search_Products' error answers read of the
// request: its format, and its target locale, for which nothing is built.
func productVariant(req Request) (string, bool) {
	return req.Format, req.TargetLocale == ""
}
