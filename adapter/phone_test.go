package adapter

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		raw, region string
		want        string
	}{
		// Dominican Republic (NANP).
		{"+1 809-555-1234", "", "+18095551234"},
		{"809-555-7777", "DO", "+18095557777"},
		{"809-555-7777", "do", "+18095557777"},
		{"(809) 555.7777", "DO", "+18095557777"},
		{"1 809 555 7777", "DO", "+18095557777"},
		{"+1 (809) 555-7777", "CO", "+18095557777"},
		{"809-555-7777 ext. 12", "DO", "+18095557777"},
		{"+18095550000", "", "+18095550000"},
		{"0034612345678", "DO", "+34612345678"},
		{"34612345678", "DO", "+34612345678"},
		{"5215512345678", "ES", "+5215512345678"},
		{"551187654321", "ES", "+551187654321"},
		{"011 34 612 345 678", "DO", "+34612345678"},
		// United States.
		{"(212) 555-1234", "US", "+12125551234"},
		{"+1.212.555.1234", "", "+12125551234"},
		// Colombia.
		{"3001234567", "CO", "+573001234567"},
		{"300 123 4567", "CO", "+573001234567"},
		{"+57 300 123 4567", "", "+573001234567"},
		// Spain.
		{"0034 612 345 678", "ES", "+34612345678"},
		{"0034612345678", "ES", "+34612345678"},
		{"0034612345678", "", "+34612345678"},
		{"00 34 612 34 56 78", "", "+34612345678"},
		{"612 345 678", "ES", "+34612345678"},
		{"34612345678", "ES", "+34612345678"},
		{"whatsapp:+34612345678", "", "+34612345678"},
		{"WhatsApp:+34 612 345 678", "", "+34612345678"},
		{"tel:+34-612-345-678", "", "+34612345678"},
		{"34612345678@s.whatsapp.net", "", "+34612345678"},
		{"34612345678@c.us", "DO", "+34612345678"},
		{"(+34) 612 345 678", "", "+34612345678"},
		{"＋34 612 345 678", "", "+34612345678"},
		{"  +34 612 345 678  ", "", "+34612345678"},
		// Mexico: the WhatsApp "1" is kept, the retired prefixes dropped.
		{"+5215512345678", "", "+5215512345678"},
		{"+52 1 55 1234 5678", "", "+5215512345678"},
		{"+525512345678", "", "+525512345678"},
		{"55 1234 5678", "MX", "+525512345678"},
		{"1 55 1234 5678", "MX", "+5215512345678"},
		{"044 55 1234 5678", "MX", "+525512345678"},
		{"01 55 1234 5678", "MX", "+525512345678"},
		{"5215512345678@s.whatsapp.net", "", "+5215512345678"},
		// Argentina: the national "15" forms become "+549".
		{"+5491123456789", "", "+5491123456789"},
		{"+541123456789", "", "+541123456789"},
		{"+54 9 11 2345-6789", "", "+5491123456789"},
		{"11 2345-6789", "AR", "+541123456789"},
		{"011 15 2345-6789", "AR", "+5491123456789"},
		{"11 15 2345 6789", "AR", "+5491123456789"},
		{"+54 11 15 2345 6789", "", "+5491123456789"},
		{"0351 15 234 5678", "AR", "+5493512345678"},
		// Brazil: pre-ninth-digit mobiles are kept.
		{"+5511987654321", "", "+5511987654321"},
		{"+551187654321", "", "+551187654321"},
		{"(11) 98765-4321", "BR", "+5511987654321"},
		{"(11) 8765-4321", "BR", "+551187654321"},
		{"0 21 11 98765 4321", "BR", "+5511987654321"},
		// Unknown regions read international numbers only.
		{"+34612345678", "XX", "+34612345678"},
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.raw, tt.region)
		if err != nil {
			t.Errorf("NormalizePhone(%q, %q): %v", tt.raw, tt.region, err)
			continue
		}
		if got != tt.want {
			t.Errorf("NormalizePhone(%q, %q) = %q, want %q", tt.raw, tt.region, got, tt.want)
		}
	}
}

func TestNormalizePhoneErrors(t *testing.T) {
	tests := []struct {
		raw, region string
		reason      string
	}{
		{"", "DO", "empty"},
		{"   ", "DO", "empty"},
		{"abc", "DO", "not a phone number"},
		{"n/a", "", "not a phone number"},
		{"no tiene", "CO", "not a phone number"},
		{"1-800-FLOWERS", "US", "not a phone number"},
		{"+34abc612345678", "", "not a phone number"},
		{"john@example.com", "ES", "not a phone number"},
		{"---", "ES", "not a phone number"},
		{"123", "", "too short"},
		{"123", "DO", "too short"},
		{"+34 6", "", "too short"},
		{"+1 809", "", "too short"},
		{"1234567890123456789012", "DO", "too long"},
		{"+1234567890123456789", "", "too long"},
		{"+34 612 34 56 78 99", "", "too long"},
		{"3001234567891", "CO", "too long"},
		{strings.Repeat("5", 200), "DO", "too long"},
		{"555-7777", "DO", "missing area code"},
		{"809-555-7777", "", "no country code and no default region"},
		{"809-555-7777", "XX", "no country code and no default region"},
		{"+999 1234 5678", "", "unknown country code"},
		{"00999 1234 5678", "", "unknown country code"},
		{"+910000000000", "", "not a phone number"}, // reads back as another number
		{"3001234567", "ES", "too long"},            // a CO mobile is no Spanish number, nor +30…
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.raw, tt.region)
		if err == nil {
			t.Errorf("NormalizePhone(%q, %q) = %q, want error %q", tt.raw, tt.region, got, tt.reason)
			continue
		}
		var pe *PhoneError
		if !errors.As(err, &pe) {
			t.Errorf("NormalizePhone(%q, %q) error %T, want *PhoneError", tt.raw, tt.region, err)
			continue
		}
		if pe.Reason != tt.reason {
			t.Errorf("NormalizePhone(%q, %q) reason %q, want %q", tt.raw, tt.region, pe.Reason, tt.reason)
		}
		shown := tt.raw
		if digitCount(tt.raw) >= maskFromDigits {
			shown = wazion.MaskPhone(tt.raw)
			if strings.Contains(err.Error(), tt.raw) {
				t.Errorf("NormalizePhone(%q, %q) error %q shows a possible real number unmasked", tt.raw, tt.region, err)
			}
		}
		if len(tt.raw) <= maxErrorPhone && !strings.Contains(err.Error(), `phone "`+shown+`"`) {
			t.Errorf("NormalizePhone(%q, %q) error %q does not name the phone", tt.raw, tt.region, err)
		}
	}
}

func TestPhoneErrorMessage(t *testing.T) {
	_, err := NormalizePhone("abc", "DO")
	if got, want := err.Error(), `phone "abc": not a phone number`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	_, err = NormalizePhone("123", "")
	if got, want := err.Error(), `phone "123": too short`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	long := strings.Repeat("é", 300)
	_, err = NormalizePhone(long, "ES")
	if err == nil || len(err.Error()) > 80 || !strings.Contains(err.Error(), "…") {
		t.Errorf("error for a long input = %v, want a shortened quote", err)
	}
}

func TestPhoneKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+5215512345678", "+525512345678"},
		{"+525512345678", "+525512345678"},
		{"+5491123456789", "+541123456789"},
		{"+541123456789", "+541123456789"},
		{"+5493512345678", "+543512345678"},
		{"+551187654321", "+5511987654321"},
		{"+5511987654321", "+5511987654321"},
		{"+551132654321", "+551132654321"}, // São Paulo landline: no ninth digit
		{"+18095550000", "+18095550000"},
		{"+18095557777", "+18095557777"},
		{"+34612345678", "+34612345678"},
		{"+573001234567", "+573001234567"},
		{"+12125551234", "+12125551234"},
		{"", ""},
		{"+", "+"},
		{"+1", "+1"},
		{"809-555-7777", "809-555-7777"},
	}
	for _, tt := range tests {
		if got := PhoneKey(tt.in); got != tt.want {
			t.Errorf("PhoneKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := PhoneKey(PhoneKey(tt.in)); got != PhoneKey(tt.in) {
			t.Errorf("PhoneKey not idempotent on %q: %q", tt.in, got)
		}
	}
}

// Raw forms of one person's number, as WhatsApp, the store and the agent
// write it, must meet on one key.
func TestPhoneKeyMatchesAcrossForms(t *testing.T) {
	groups := []struct {
		region string
		forms  []string
	}{
		{"DO", []string{"809-555-7777", "+18095557777", "(809) 555 7777", "1-809-555-7777", "18095557777@s.whatsapp.net"}},
		{"MX", []string{"+5215512345678", "+525512345678", "55 1234 5678", "044 55 1234 5678", "5215512345678@c.us"}},
		{"AR", []string{"+5491123456789", "+541123456789", "11 2345-6789", "011 15 2345-6789", "+54 9 11 2345 6789"}},
		{"BR", []string{"+5511987654321", "+551187654321", "(11) 98765-4321", "(11) 8765-4321"}},
		{"CO", []string{"3001234567", "+57 300 123 4567", "0057 300 123 4567"}},
		{"ES", []string{"612 345 678", "+34612345678", "0034 612 345 678", "whatsapp:+34612345678"}},
	}
	for _, g := range groups {
		var want string
		for i, f := range g.forms {
			e164, err := NormalizePhone(f, g.region)
			if err != nil {
				t.Errorf("%s: NormalizePhone(%q): %v", g.region, f, err)
				continue
			}
			key := PhoneKey(e164)
			if i == 0 {
				want = key
				continue
			}
			if key != want {
				t.Errorf("%s: key of %q = %q, key of %q = %q", g.region, f, key, g.forms[0], want)
			}
		}
	}
	// Different people stay apart.
	if PhoneKey("+551132654321") == PhoneKey("+5511932654321") {
		t.Error("Brazilian landline and mobile share a key")
	}
	if PhoneKey("+525512345678") == PhoneKey("+525512345679") {
		t.Error("different Mexican numbers share a key")
	}
}

func TestPhoneVariants(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"+5215512345678", []string{"+5215512345678", "+525512345678"}},
		{"+525512345678", []string{"+525512345678", "+5215512345678"}},
		{"+5491123456789", []string{"+5491123456789", "+541123456789"}},
		{"+541123456789", []string{"+541123456789", "+5491123456789"}},
		{"+551187654321", []string{"+551187654321", "+5511987654321"}},
		{"+5511987654321", []string{"+5511987654321", "+551187654321"}},
		{"+5511912345678", []string{"+5511912345678"}}, // 9 then 1: never had an 8-digit form
		{"+551132654321", []string{"+551132654321"}},
		{"+18095557777", []string{"+18095557777"}},
		{"+34612345678", []string{"+34612345678"}},
		{"garbage", []string{"garbage"}},
	}
	for _, tt := range tests {
		got := PhoneVariants(tt.in)
		if !slices.Equal(got, tt.want) {
			t.Errorf("PhoneVariants(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for _, v := range got {
			if PhoneKey(v) != PhoneKey(tt.in) {
				t.Errorf("variant %q of %q has key %q, want %q", v, tt.in, PhoneKey(v), PhoneKey(tt.in))
			}
		}
	}
}

func TestPhoneRegion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+18095557777", "DO"},
		{"+18295557777", "DO"},
		{"+12125551234", "US"},
		{"+573001234567", "CO"},
		{"+5215512345678", "MX"},
		{"+525512345678", "MX"},
		{"+5491123456789", "AR"},
		{"+541123456789", "AR"},
		{"+551187654321", "BR"},
		{"+5511987654321", "BR"},
		{"+34612345678", "ES"},
		{"+34000000000", "ES"}, // invalid, but Spain is alone on +34
		{"+11235550000", ""},   // unassigned NANP area code: which of 25 regions?
		{"+80012345678", ""},   // non-geographic
		{"+9991234567", ""},    // no such country code
		{"809-555-7777", ""},   // not E.164
		{"", ""},
	}
	for _, tt := range tests {
		if got := PhoneRegion(tt.in); got != tt.want {
			t.Errorf("PhoneRegion(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWarmPhoneMetadata(t *testing.T) {
	WarmPhoneMetadata()
	WarmPhoneMetadata("PE", "ZZ", "")
	if got, err := NormalizePhone("987 654 321", "PE"); err != nil || got != "+51987654321" {
		t.Errorf("after warm-up NormalizePhone = %q, %v", got, err)
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+1 809-555-1234", "809-555-7777", "+5215512345678", "0034612345678", "011 15 2345-6789", "abc", "123"} {
		f.Add(s, "DO")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := NormalizePhone(raw, region)
		if err != nil {
			var pe *PhoneError
			if !errors.As(err, &pe) || pe.Reason == "" {
				t.Fatalf("NormalizePhone(%q, %q) error %v is not a *PhoneError with a reason", raw, region, err)
			}
			return
		}
		if _, ok := e164Digits(got); !ok {
			t.Fatalf("NormalizePhone(%q, %q) = %q, not E.164", raw, region, got)
		}
		again, err := NormalizePhone(got, region)
		if err != nil {
			t.Fatalf("NormalizePhone(%q) of its own output %q: %v", raw, got, err)
		}
		if PhoneKey(again) != PhoneKey(got) {
			t.Fatalf("key changed: %q -> %q (%q), %q -> %q (%q)", raw, got, PhoneKey(got), got, again, PhoneKey(again))
		}
		for _, v := range PhoneVariants(got) {
			if PhoneKey(v) != PhoneKey(got) {
				t.Fatalf("variant %q of %q: key %q, want %q", v, got, PhoneKey(v), PhoneKey(got))
			}
		}
		_ = PhoneRegion(got)
	})
}

func TestNormalizePhoneMemo(t *testing.T) {
	inputs := []struct{ raw, region string }{
		{"809-555-1234", "DO"}, {"+1 809 555 1234", ""}, {"whatsapp:+5215512345678", ""},
		{"n/a", "DO"}, {"12", "CO"}, {"", "DO"}, {"3001234567", "CO"}, {"3001234567", "DO"},
	}
	for _, in := range inputs {
		want, wantErr := normalizePhone(in.raw, in.region)
		for range 2 { // a miss, then a hit
			got, err := NormalizePhone(in.raw, in.region)
			if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q, %v", in.raw, in.region, got, err, want, wantErr)
			}
		}
	}
	// The region is part of the key: the same digits read differently.
	co, _ := NormalizePhone("3001234567", "CO")
	do, _ := NormalizePhone("3001234567", "DO")
	if co == do {
		t.Errorf("3001234567 read the same in CO and DO: %q", co)
	}

	// A flood of distinct phones keeps the memo bounded.
	for i := range phoneMemoSize + 500 {
		NormalizePhone(fmt.Sprintf("+1809%07d", i), "")
	}
	phones.mu.RLock()
	n := len(phones.m)
	phones.mu.RUnlock()
	if n == 0 || n > phoneMemoSize {
		t.Errorf("memo holds %d entries, want 1..%d", n, phoneMemoSize)
	}
}
