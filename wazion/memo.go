package wazion

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"sync/atomic"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

const (
	// memoSlots is how many requests a requestMemo keeps: more distinct
	// panels a second than a busy deployment's agents open.
	memoSlots = 4096
	// memoMaxKey bounds what a request is remembered by: its query
	// string and token headers. WAzion's, a token and a phone or two, are
	// a sixth of it.
	memoMaxKey = 768
)

// requestMemo remembers what recent requests were. A request that came
// without a body is known by its query string and the headers a token may
// come in: they are all that parsing it and finding its store read. For
// one that selected a store, the memo keeps the store and token, the
// Request it parsed to and the answer past the token's bound; for one
// that selected none, that it is unauthorized. WAzion asks again and
// again with the same few requests (a panel reopened, several agents on
// one chat, a retry), and so does a flood: a request found here skips
// parsing and the token's digest, which are most of what answering from
// a recent answer, or refusing, costs besides the network.
//
// It is a table of slots chosen by a seeded hash of that key; a new
// entry takes the place of any other in its slot, so a flood of distinct
// requests costs a slot each and never grows it. Reads take no lock. An
// entry is found only when its full hash and its key both match, so a
// request crafted to land in a slot learns nothing of the one there. A
// requestMemo belongs to one tenantSet: a reload starts an empty one, and
// an entry never outlives the stores and tokens it names.
type requestMemo struct {
	seed  maphash.Seed
	slots [memoSlots]atomic.Pointer[memoEntry]
}

// memoEntry is what a request was found to be: remembered or not, never
// changed once made.
type memoEntry struct {
	hash     uint64
	endpoint string
	mkey     []byte // a copy of memoKey's, when remembered
	st       *store // nil: unauthorized
	key      *tokenKey
	req      Request
	akey     string // answerKey(req), when the store keeps answers
	masked   string // MaskPhone(req.Phone)
	limited  []byte // the answer past the token's bound, when built at start
}

func newRequestMemo() *requestMemo {
	return &requestMemo{seed: maphash.MakeSeed()}
}

// memoKey is what a bodyless request r is remembered by, built in buf:
// its query string, then each header a token may come in (Authorization,
// HeaderToken, then headers, the stores' own), each after its length. ok
// is false when the memo keeps nothing of r: a nil memo, a body, or a key
// longer than memoMaxKey.
func (m *requestMemo) memoKey(buf *[memoMaxKey]byte, r *fasthttp.Request, headers []string) (key []byte, ok bool) {
	if m == nil || len(r.Body()) > 0 {
		return nil, false
	}
	key = buf[:0]
	add := func(v []byte) bool {
		if len(key)+binary.MaxVarintLen64+len(v) > len(buf) {
			return false
		}
		key = append(binary.AppendUvarint(key, uint64(len(v))), v...)
		return true
	}
	if !add(r.URI().QueryString()) || !add(r.Header.Peek(fiber.HeaderAuthorization)) || !add(r.Header.Peek(HeaderToken)) {
		return nil, false
	}
	for _, name := range headers {
		if !add(r.Header.Peek(name)) {
			return nil, false
		}
	}
	return key, true
}

// hash is the memo's hash of key.
func (m *requestMemo) hash(key []byte) uint64 {
	return maphash.Bytes(m.seed, key)
}

// get returns the entry of endpoint's request with key, hashed to h.
func (m *requestMemo) get(h uint64, endpoint string, key []byte) *memoEntry {
	e := m.slots[h%memoSlots].Load()
	if e == nil || e.hash != h || e.endpoint != endpoint || !bytes.Equal(e.mkey, key) {
		return nil
	}
	return e
}

// put remembers e as the request with key, hashed to e.hash.
func (m *requestMemo) put(e *memoEntry, key []byte) {
	e.mkey = bytes.Clone(key)
	m.slots[e.hash%memoSlots].Store(e)
}
