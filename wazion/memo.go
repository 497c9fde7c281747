package wazion

import (
	"bytes"
	"hash/maphash"
	"sync/atomic"
)

const (
	// memoSlots is how many requests a requestMemo keeps: more distinct
	// panels a second than a busy deployment's agents open.
	memoSlots = 4096
	// memoMaxQuery is the longest query string kept; WAzion's, a token
	// and a phone or two, are a tenth of it.
	memoMaxQuery = 512
)

// requestMemo remembers what recent requests were. For a query string
// that came without a body and carried a known token, it keeps the store
// and token it selected, the Request it parsed to and the answer past
// the token's bound; for one that selected no store and came with no
// token header, that it is unauthorized. WAzion asks again and again
// with the same few query strings (a panel reopened, several agents on
// one chat, a retry), and so does a flood: a request found here skips
// parsing and the token's digest, which are most of what answering from
// a recent answer, or refusing, costs besides the network.
//
// It is a table of slots chosen by a seeded hash of the query string;
// a new entry takes the place of any other in its slot, so a flood of
// distinct queries costs a slot each and never grows it. Reads take no
// lock. An entry is found only when its full hash and its bytes both
// match, so a query crafted to land in a slot learns nothing of the
// query there. A requestMemo belongs to one tenantSet: a reload starts an
// empty one, and an entry never outlives the stores and tokens it names.
type requestMemo struct {
	seed  maphash.Seed
	slots [memoSlots]atomic.Pointer[memoEntry]
}

// memoEntry is what a request was found to be: remembered or not, never
// changed once made.
type memoEntry struct {
	hash     uint64
	endpoint string
	query    []byte // a copy, when remembered
	st       *store // nil: unauthorized, when no header holds a token
	key      *tokenKey
	req      Request
	akey     string // answerKey(req), when the store keeps answers
	masked   string // MaskPhone(req.Phone)
	limited  []byte // the answer past the token's bound, when built at start
}

func newRequestMemo() *requestMemo {
	return &requestMemo{seed: maphash.MakeSeed()}
}

// hash is the memo's hash of query, and whether query may be kept at all
// (never in a nil memo).
func (m *requestMemo) hash(query []byte) (uint64, bool) {
	if m == nil || len(query) == 0 || len(query) > memoMaxQuery {
		return 0, false
	}
	return maphash.Bytes(m.seed, query), true
}

// get returns the entry of endpoint's request with query, hashed to h.
func (m *requestMemo) get(h uint64, endpoint string, query []byte) *memoEntry {
	e := m.slots[h%memoSlots].Load()
	if e == nil || e.hash != h || e.endpoint != endpoint || !bytes.Equal(e.query, query) {
		return nil
	}
	return e
}

// put remembers e as the request with query, hashed to e.hash.
func (m *requestMemo) put(e *memoEntry, query []byte) {
	e.query = bytes.Clone(query)
	m.slots[e.hash%memoSlots].Store(e)
}
