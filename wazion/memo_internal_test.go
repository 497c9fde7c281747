package wazion

import (
	"bufio"
	"bytes"
	"encoding/binary"
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

// The memo reads each token header as authenticate does, with Peek: the
// first of a repeated header, any case of its name, and a store's header
// among others. Past memoMaxHeaders store headers nothing is remembered.
func TestMemoKeyReadsHeadersAsPeek(t *testing.T) {
	m := newRequestMemo()
	headers := []string{"X-Shop-Token", "X-Other-Token"}
	peekKey := func(r *fasthttp.Request) []byte {
		var key []byte
		for _, v := range [][]byte{r.URI().QueryString(), r.Header.Peek(fiber.HeaderAuthorization), r.Header.Peek(HeaderToken),
			r.Header.Peek(headers[0]), r.Header.Peek(headers[1])} {
			key = append(binary.AppendUvarint(key, uint64(len(v))), v...)
		}
		return key
	}
	for name, raw := range map[string]string{
		"repeated Authorization": "Authorization: Bearer first\r\nAuthorization: Bearer second\r\n",
		"lower-case names":       "authorization: Bearer a\r\nx-wazion-token: b\r\nx-shop-token: c\r\n",
		"store header among":     "User-Agent: wazion\r\nX-Other-Token: d\r\nAccept: */*\r\nX-Shop-Token: e\r\nX-Other-Token: f\r\n",
		"none":                   "Accept: */*\r\n",
	} {
		var r fasthttp.Request
		if err := r.Read(bufio.NewReader(strings.NewReader("GET /wazion/x?phone=1 HTTP/1.1\r\nHost: h\r\n" + raw + "\r\n"))); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var buf [memoMaxKey]byte
		k, ok := m.memoKey(&buf, &r, headers)
		if want := peekKey(&r); !ok || !bytes.Equal(k, want) {
			t.Errorf("%s: key %q (%v), Peek reads %q", name, k, ok, want)
		}
	}
	var r fasthttp.Request
	r.SetRequestURI("/wazion/x?phone=1")
	var buf [memoMaxKey]byte
	if _, ok := m.memoKey(&buf, &r, make([]string, memoMaxHeaders+1)); ok {
		t.Errorf("a request is remembered by %d store headers", memoMaxHeaders+1)
	}
	if _, ok := m.memoKey(&buf, &r, make([]string, memoMaxHeaders)); !ok {
		t.Errorf("a request is not remembered by %d store headers", memoMaxHeaders)
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
