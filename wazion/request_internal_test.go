package wazion

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

func TestParseRaw(t *testing.T) {
	tests := []struct {
		name        string
		raw         rawRequest
		wantPhone   string
		wantRelated []string
		wantToken   string // the token that won
		wantErr     error
	}{
		{
			name:      "unescaped plus in query",
			raw:       rawRequest{query: []byte("phone=+34612345678&token=t")},
			wantPhone: "+34612345678", wantRelated: []string{}, wantToken: "t",
		},
		{
			name:        "unescaped plus in JSON-array string",
			raw:         rawRequest{query: []byte(`relatedphones=["+34698765432"," 34600111222"]`)},
			wantRelated: []string{"+34698765432", "+34600111222"},
		},
		{
			name:        "unquoted array falls back to a list",
			raw:         rawRequest{query: []byte(`relatedphones=[%2B34698765432, %2B34600111222]`)},
			wantRelated: []string{"+34698765432", "+34600111222"},
		},
		{
			name:        "space kept where it is not a lost plus",
			raw:         rawRequest{contentType: "application/json", body: []byte(`{"phone":" 809-555-7777 ","relatedphones":" 8095557777"}`)},
			wantPhone:   "809-555-7777",
			wantRelated: []string{"8095557777"},
		},
		{
			name:        "dedupe by digits keeps the first form",
			raw:         rawRequest{query: []byte("relatedphones=%2B34 612 345 678,%2B34612345678,34-612-345-678")},
			wantRelated: []string{"+34 612 345 678"},
		},
		{
			name:        "body token wins",
			raw:         rawRequest{query: []byte("token=q"), contentType: "application/json", body: []byte(`{"token":"b"}`)},
			wantRelated: []string{}, wantToken: "b",
		},
		{
			name:        "null body",
			raw:         rawRequest{query: []byte("phone=1"), contentType: "application/json", body: []byte(" null ")},
			wantPhone:   "1",
			wantRelated: []string{},
		},
		{
			name:        "empty JSON body",
			raw:         rawRequest{query: []byte("phone=1"), contentType: "application/json", body: []byte("  ")},
			wantPhone:   "1",
			wantRelated: []string{},
		},
		{
			name:        "sniffed JSON without content type",
			raw:         rawRequest{body: []byte(`{"phone":"2"}`)},
			wantPhone:   "2",
			wantRelated: []string{},
		},
		{
			name:        "sniffed form as text/plain",
			raw:         rawRequest{contentType: "text/plain", body: []byte(`phone=3&relatedphones[]=4`)},
			wantPhone:   "3",
			wantRelated: []string{"4"},
		},
		{
			name:        "JSON content type with charset and +json",
			raw:         rawRequest{contentType: "application/vnd.api+json; charset=utf-8", body: []byte(`{"phone":"5"}`)},
			wantPhone:   "5",
			wantRelated: []string{},
		},
		{
			name:        "nested values inside the related array are skipped",
			raw:         rawRequest{contentType: "application/json", body: []byte(`{"relatedphones":["1",{"x":["2"]},["3"],null,true,4]}`)},
			wantRelated: []string{"1", "4"},
		},
		{
			name:        "bad body keeps the query and drops the body token",
			raw:         rawRequest{query: []byte("phone=6&token=q"), contentType: "application/json", body: []byte(`{"token":"b","phone":`)},
			wantPhone:   "6",
			wantRelated: []string{},
			wantToken:   "q",
			wantErr:     ErrInvalidJSON,
		},
		{
			name:        "invalid UTF-8 in the query",
			raw:         rawRequest{query: []byte("token=q&phone=%FF")},
			wantRelated: []string{},
			wantToken:   "q",
			wantErr:     ErrInvalidUTF8,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseRaw(EndpointCustomerInfo, tt.raw, 0)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if p.req.Phone != tt.wantPhone {
				t.Errorf("phone %q, want %q", p.req.Phone, tt.wantPhone)
			}
			if !reflect.DeepEqual(p.req.RelatedPhones, tt.wantRelated) {
				t.Errorf("related %q, want %q", p.req.RelatedPhones, tt.wantRelated)
			}
			if got := firstNonEmpty(p.bodyToken, p.queryToken); got != tt.wantToken {
				t.Errorf("token %q, want %q", got, tt.wantToken)
			}
		})
	}
}

func TestRelatedPhonesCapIsCheap(t *testing.T) {
	var b strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&b, "+3460%07d,", i)
	}
	var ps paramSet
	if err := ps.addRelatedString(b.String(), false); err != nil {
		t.Fatal(err)
	}
	if len(ps.related) != MaxRelatedPhones || ps.related[MaxRelatedPhones-1] != "+34600000049" {
		t.Errorf("kept %d, last %q", len(ps.related), ps.related[len(ps.related)-1])
	}
	allocs := testing.AllocsPerRun(5, func() {
		var ps paramSet
		_ = ps.addRelatedString(b.String(), false)
	})
	// Stopping at the cap means the work does not grow with the input.
	if allocs > 4*MaxRelatedPhones {
		t.Errorf("%v allocations for a capped list", allocs)
	}
}

func TestRepeatedRelatedPhonesAreCheap(t *testing.T) {
	for name, v := range map[string]string{
		"list":       strings.Repeat("+34600000001,", 20000),
		"json array": "[" + strings.Repeat("1,", 20000) + "2]",
		"nulls":      "[" + strings.Repeat("null,", 20000) + "2]",
	} {
		var ps paramSet
		if err := ps.addRelatedString(v, false); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ps.items > maxRelatedItems {
			t.Errorf("%s: looked at %d items, cap %d", name, ps.items, maxRelatedItems)
		}
		// The 2 after the cap is never reached.
		for _, p := range ps.related {
			if p == "2" {
				t.Errorf("%s: read past the item cap", name)
			}
		}
	}
}

// FuzzPlainStrings checks the in-place reading of short string arrays
// against encoding/json: whenever plainStrings accepts an input, the
// decoder must accept it too and give the same strings.
func FuzzPlainStrings(f *testing.F) {
	for _, s := range []string{`["+34698765432"]`, ` [ "a" , "b" ] `, `[]`, `["a\"b"]`, `["a",]`, `[1]`, "[\v\"a\"]", `["\u00e9"]`, `["a""b"]`, `["a"]x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		got, ok := plainStrings(s)
		if !ok {
			return
		}
		var want []string
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("plainStrings(%q) = %q, but it is not a JSON array of strings: %v", s, got, err)
		}
		if len(got) != len(want) || (len(got) > 0 && !slices.Equal(got, want)) {
			t.Fatalf("plainStrings(%q) = %q, json gives %q", s, got, want)
		}
	})
}

// FuzzDigitsOf checks the copy-free digitsOf against the plain definition.
func FuzzDigitsOf(f *testing.F) {
	for _, s := range []string{"+34612345678", "+34 612 345", "abc", "", "12a", "a12", "1a2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want []byte
		for i := 0; i < len(s); i++ {
			if s[i] >= '0' && s[i] <= '9' {
				want = append(want, s[i])
			}
		}
		if got := digitsOf(s); got != string(want) {
			t.Fatalf("digitsOf(%q) = %q, want %q", s, got, want)
		}
	})
}

// formPairs is what readForm reads from data: its decoded pairs in order.
func formPairs(data []byte) [][2]string {
	var out [][2]string
	for len(data) > 0 {
		var k, v []byte
		k, v, data = nextFormPair(data)
		if len(k) == 0 && len(v) == 0 {
			continue
		}
		out = append(out, [2]string{string(decodeFormAppend(nil, k)), string(decodeFormAppend(nil, v))})
	}
	return out
}

// argsPairs is what fasthttp.Args reads from data.
func argsPairs(data []byte) [][2]string {
	var a fasthttp.Args
	a.ParseBytes(data)
	var out [][2]string
	a.VisitAll(func(k, v []byte) { out = append(out, [2]string{string(k), string(v)}) })
	return out
}

func checkFormPairs(t *testing.T, data string) {
	t.Helper()
	if got, want := formPairs([]byte(data)), argsPairs([]byte(data)); !slices.Equal(got, want) {
		t.Fatalf("%q: read %q, fasthttp.Args reads %q", data, got, want)
	}
}

func TestFormPairsAsFasthttpArgs(t *testing.T) {
	for _, data := range []string{
		"token=t&phone=%2B34612345678", "phone=+34612345678", "a&b=&=c&&=", "k=v=w&x",
		"p=%zz%2&q=%4", "p=%41%4a%4A%", "%50HONE=1", "relatedphones[]=%2B1&relatedphones[]=%2B2",
		"q=caf%C3%A9+con+leche", "&&&", "=", "%", "a=%%41", "a+b=c+d",
	} {
		checkFormPairs(t, data)
	}
}

func FuzzFormPairs(f *testing.F) {
	f.Add("token=t&phone=%2B34612345678")
	f.Add("a&b=&=c&&=%zz%4")
	f.Fuzz(func(t *testing.T, data string) { checkFormPairs(t, data) })
}

func TestLookupParamBytes(t *testing.T) {
	for _, name := range []string{
		"phone", " Phone ", "TOKEN", "q", "relatedphones", "RelatedPhones[]", "relatedphones[3]",
		"related_phones", "target_locale", "unknown", "", "relatedphones[x", "a-much-longer-name-than-any",
		"to\u212Aen", "RELATEDPHONES[" + strings.Repeat("9", 40) + "]", "\u00e9mail",
	} {
		p, r, ok := lookupParam(name)
		bp, br, bok := lookupParamBytes([]byte(name))
		if p != bp || r != br || ok != bok {
			t.Errorf("%q: lookupParam %v %v %v, lookupParamBytes %v %v %v", name, p, r, ok, bp, br, bok)
		}
	}
}
