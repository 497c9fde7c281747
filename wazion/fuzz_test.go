package wazion

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkRequest asserts what every parsed Request must satisfy, whatever the
// input.
func checkRequest(t *testing.T, req Request) {
	t.Helper()
	if req.RelatedPhones == nil || len(req.RelatedPhones) > MaxRelatedPhones {
		t.Fatalf("related phones: nil or %d > cap", len(req.RelatedPhones))
	}
	checkPhones(t, req.RelatedPhones)
	for name, v := range map[string]string{
		"phone": req.Phone, "order": req.Order, "email": req.Email, "query": req.Query, "target_locale": req.TargetLocale,
	} {
		if !utf8.ValidString(v) || v != strings.TrimSpace(v) {
			t.Fatalf("%s %q: invalid UTF-8 or untrimmed", name, v)
		}
	}
	if req.Format != "" && req.Format != "ai" {
		t.Fatalf("format %q", req.Format)
	}
}

func checkPhones(t *testing.T, phones []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, p := range phones {
		if p == "" || p != strings.TrimSpace(p) || !utf8.ValidString(p) || strings.Contains(p, ",") {
			t.Fatalf("bad phone %q", p)
		}
		if k := phoneKey(p); seen[k] {
			t.Fatalf("duplicate phone %q", p)
		} else {
			seen[k] = true
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add("application/json", "token=t&phone=+34612345678", []byte(`{"phone":34612345678,"relatedphones":["+34698765432"],"test":true}`))
	f.Add("application/x-www-form-urlencoded", "", []byte(`relatedphones[]=%2B1&relatedphones[]=%2B2&q=ab`))
	f.Add("multipart/form-data; boundary=b", "", []byte("--b\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n+1\r\n--b--\r\n"))
	f.Add("", `relatedphones=["+34698765432"]`, []byte(`{"a":[[[[{}]]]]}`))
	f.Fuzz(func(t *testing.T, contentType, query string, body []byte) {
		raw := rawRequest{contentType: contentType, query: []byte(query), body: body}
		p, err := parseRaw(EndpointSearchProducts, raw, 4096)
		checkRequest(t, p.req)
		if err != nil {
			if msg := publicParseError(err); msg == "bad request" {
				t.Fatalf("error without a public message: %v", err)
			}
		}
		var fromBody paramSet
		if readBody(&fromBody, raw, 4096) != nil && p.bodyToken != "" {
			t.Fatal("body token kept from a body that failed")
		}
		if len(body) > 4096 && !errors.Is(err, ErrBodyTooLarge) {
			t.Fatalf("%d-byte body accepted", len(body))
		}
		// Parsing is a pure function of its input.
		again, err2 := parseRaw(EndpointSearchProducts, raw, 4096)
		if (err == nil) != (err2 == nil) || again.req.Phone != p.req.Phone || len(again.req.RelatedPhones) != len(p.req.RelatedPhones) {
			t.Fatal("parse is not deterministic")
		}
	})
}

func FuzzRelatedPhones(f *testing.F) {
	f.Add(`["+34698765432","+34600111222"]`, false)
	f.Add(" 34698765432, 34600111222,,", true)
	f.Add(`[+34698765432]`, true)
	f.Add(`[["x"],{"y":1},2]`, false)
	f.Fuzz(func(t *testing.T, s string, plusDecoded bool) {
		var ps paramSet
		err := ps.addRelatedString(s, plusDecoded)
		if utf8.ValidString(s) != (err == nil) {
			t.Fatalf("valid UTF-8 %v, error %v", utf8.ValidString(s), err)
		}
		if len(ps.related) > MaxRelatedPhones {
			t.Fatalf("%d phones kept", len(ps.related))
		}
		checkPhones(t, ps.related)
		// A plain list without brackets keeps every distinct item.
		if err == nil && !strings.ContainsAny(s, `[]"'`) && !plusDecoded {
			want := 0
			seen := map[string]bool{}
			for rest, n := s, 0; rest != "" && n < maxRelatedItems; n++ {
				var item string
				item, rest, _ = strings.Cut(rest, ",")
				item = strings.TrimSpace(item)
				if item != "" && !seen[phoneKey(item)] {
					seen[phoneKey(item)] = true
					want++
				}
			}
			if got := len(ps.related); got != min(want, MaxRelatedPhones) {
				t.Fatalf("kept %d of %d distinct items", got, want)
			}
		}
	})
}
