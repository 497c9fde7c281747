package wazion

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// A request is remembered by its query string and every header a token
// may come in, and only when it has no body.
func TestMemoKeyHoldsEveryTokenSource(t *testing.T) {
	m := newRequestMemo()
	headers := []string{"X-Shop-Token"}
	keyOf := func(uri string, set map[string]string, body string) ([]byte, bool) {
		var r fasthttp.Request
		r.SetRequestURI(uri)
		for k, v := range set {
			r.Header.Set(k, v)
		}
		if body != "" {
			r.SetBodyString(body)
		}
		var buf [memoMaxKey]byte
		k, ok := m.memoKey(&buf, &r, headers)
		return bytes.Clone(k), ok
	}
	base, ok := keyOf("/wazion/x?token=t&phone=1", nil, "")
	if !ok {
		t.Fatal("a bodyless request is not remembered")
	}
	seen := map[string]string{string(base): "base"}
	for name, tc := range map[string]struct {
		uri string
		set map[string]string
	}{
		"other query":          {"/wazion/x?token=t&phone=2", nil},
		"Authorization":        {"/wazion/x?token=t&phone=1", map[string]string{fiber.HeaderAuthorization: "Bearer u"}},
		HeaderToken:            {"/wazion/x?token=t&phone=1", map[string]string{HeaderToken: "u"}},
		"a store's header":     {"/wazion/x?token=t&phone=1", map[string]string{"X-Shop-Token": "u"}},
		"value moved across":   {"/wazion/x?token=t&phone=1", map[string]string{HeaderToken: "Bearer u"}},
		"query holding header": {"/wazion/x?token=t&phone=1%00Bearer%20u", nil},
	} {
		k, ok := keyOf(tc.uri, tc.set, "")
		if !ok {
			t.Errorf("%s: not remembered", name)
			continue
		}
		if other, dup := seen[string(k)]; dup {
			t.Errorf("%s: same key as %s", name, other)
		}
		seen[string(k)] = name
	}
	if k, _ := keyOf("/wazion/x?token=t&phone=1", map[string]string{"X-Other": "u"}, ""); !bytes.Equal(k, base) {
		t.Error("a header no token comes in changed the key")
	}
	if _, ok := keyOf("/wazion/x?token=t&phone=1", nil, `{"token":"u"}`); ok {
		t.Error("a request with a body is remembered")
	}
	if _, ok := keyOf("/wazion/x?q="+strings.Repeat("a", memoMaxKey), nil, ""); ok {
		t.Error("a query longer than the key's bound is remembered")
	}
	var none *requestMemo
	var buf [memoMaxKey]byte
	if _, ok := none.memoKey(&buf, new(fasthttp.Request), nil); ok {
		t.Error("a nil memo remembers")
	}
}

// An entry is found only by its own endpoint and key.
func TestRequestMemoMatchesWholeKey(t *testing.T) {
	m := newRequestMemo()
	st := &store{name: "A"}
	key := []byte("token=t&phone=%2B34612345678")
	h := m.hash(key)
	if m.get(h, EndpointCustomerInfo, key) != nil {
		t.Fatal("an empty memo found an entry")
	}
	given := bytes.Clone(key)
	m.put(&memoEntry{hash: h, endpoint: EndpointCustomerInfo, st: st, akey: "k"}, given)
	given[0] = 'T' // the memo holds its own copy
	e := m.get(h, EndpointCustomerInfo, key)
	if e == nil || e.st != st || e.akey != "k" {
		t.Fatalf("entry %+v", e)
	}
	if m.get(h, EndpointCustomerInitialInfo, key) != nil {
		t.Error("found under another endpoint")
	}
	other := []byte("token=u&phone=%2B34612345678")
	if m.get(h, EndpointCustomerInfo, other) != nil {
		t.Error("found for another key under the same hash")
	}
	if m.get(h+memoSlots, EndpointCustomerInfo, key) != nil {
		t.Error("found for another hash in the same slot")
	}
	// Another entry in the slot takes its place.
	m.put(&memoEntry{hash: h, endpoint: EndpointCustomerInfo}, other)
	if m.get(h, EndpointCustomerInfo, key) != nil || m.get(h, EndpointCustomerInfo, other) == nil {
		t.Error("the slot's new entry did not replace the old")
	}
}
