package wazion

import (
	"bytes"
	"strings"
	"testing"
)

// An entry is found only by its own endpoint and query string, and a
// query the memo keeps nothing of is never hashed to one.
func TestRequestMemoMatchesWholeRequest(t *testing.T) {
	m := newRequestMemo()
	st := &store{name: "A"}
	q := []byte("token=t&phone=%2B34612345678")
	h, ok := m.hash(q)
	if !ok {
		t.Fatal("a WAzion query is not kept")
	}
	if m.get(h, EndpointCustomerInfo, q) != nil {
		t.Fatal("an empty memo found an entry")
	}
	given := bytes.Clone(q)
	m.put(&memoEntry{hash: h, endpoint: EndpointCustomerInfo, st: st, akey: "k"}, given)
	given[0] = 'T' // the memo holds its own copy
	e := m.get(h, EndpointCustomerInfo, q)
	if e == nil || e.st != st || e.akey != "k" {
		t.Fatalf("entry %+v", e)
	}
	if m.get(h, EndpointCustomerInitialInfo, q) != nil {
		t.Error("found under another endpoint")
	}
	other := []byte("token=u&phone=%2B34612345678")
	if m.get(h, EndpointCustomerInfo, other) != nil {
		t.Error("found for other bytes under the same hash")
	}
	if m.get(h+memoSlots, EndpointCustomerInfo, q) != nil {
		t.Error("found for another hash in the same slot")
	}
	// Another entry in the slot takes its place.
	m.put(&memoEntry{hash: h, endpoint: EndpointCustomerInfo}, other)
	if m.get(h, EndpointCustomerInfo, q) != nil || m.get(h, EndpointCustomerInfo, other) == nil {
		t.Error("the slot's new entry did not replace the old")
	}
	for _, q := range [][]byte{nil, []byte(strings.Repeat("a", memoMaxQuery+1))} {
		if _, ok := m.hash(q); ok {
			t.Errorf("query of %d bytes would be kept", len(q))
		}
	}
	var none *requestMemo
	if _, ok := none.hash(q); ok {
		t.Error("a nil memo would keep a query")
	}
}
