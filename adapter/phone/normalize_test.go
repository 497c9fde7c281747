package phone

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

func TestNormalize(t *testing.T) {
	n := NewNormalizer(Options{})
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
		got, err := n.Normalize(tt.raw, tt.region)
		if err != nil {
			t.Errorf("Normalize(%q, %q): %v", tt.raw, tt.region, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Normalize(%q, %q) = %q, want %q", tt.raw, tt.region, got, tt.want)
		}
	}
}

func TestNormalizeErrors(t *testing.T) {
	n := NewNormalizer(Options{})
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
		got, err := n.Normalize(tt.raw, tt.region)
		if err == nil {
			t.Errorf("Normalize(%q, %q) = %q, want error %q", tt.raw, tt.region, got, tt.reason)
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Normalize(%q, %q) error %T, want *Error", tt.raw, tt.region, err)
			continue
		}
		if pe.Reason != tt.reason {
			t.Errorf("Normalize(%q, %q) reason %q, want %q", tt.raw, tt.region, pe.Reason, tt.reason)
		}
		shown := tt.raw
		if DigitCount(tt.raw) >= maskFromDigits {
			shown = wazion.MaskPhone(tt.raw)
			if strings.Contains(err.Error(), tt.raw) {
				t.Errorf("Normalize(%q, %q) error %q shows a possible real number unmasked", tt.raw, tt.region, err)
			}
		}
		if len(tt.raw) <= maxErrorPhone && !strings.Contains(err.Error(), `phone "`+shown+`"`) {
			t.Errorf("Normalize(%q, %q) error %q does not name the phone", tt.raw, tt.region, err)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	n := NewNormalizer(Options{})
	_, err := n.Normalize("abc", "DO")
	if got, want := err.Error(), `phone "abc": not a phone number`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	_, err = n.Normalize("123", "")
	if got, want := err.Error(), `phone "123": too short`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	_, err = n.Normalize("+34 612 34 56 78 99", "")
	if got, want := err.Error(), `phone "+3461*******99": too long`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	long := strings.Repeat("é", 300)
	_, err = n.Normalize(long, "ES")
	if err == nil || len(err.Error()) > 80 || !strings.Contains(err.Error(), "…") {
		t.Errorf("error for a long input = %v, want a shortened quote", err)
	}
}

func FuzzNormalize(f *testing.F) {
	n := NewNormalizer(Options{})
	for _, s := range []string{"+1 809-555-1234", "809-555-7777", "+5215512345678", "0034612345678", "011 15 2345-6789", "abc", "123"} {
		f.Add(s, "DO")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := n.Normalize(raw, region)
		if pure, pureErr := Normalize(raw, region); pure != got || fmt.Sprint(pureErr) != fmt.Sprint(err) {
			t.Fatalf("Normalize(%q, %q) = %q, %v; through the memo %q, %v", raw, region, pure, pureErr, got, err)
		}
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Reason == "" {
				t.Fatalf("Normalize(%q, %q) error %v is not a *Error with a reason", raw, region, err)
			}
			return
		}
		if _, ok := e164Digits(got); !ok {
			t.Fatalf("Normalize(%q, %q) = %q, not E.164", raw, region, got)
		}
		again, err := n.Normalize(got, region)
		if err != nil {
			t.Fatalf("Normalize(%q) of its own output %q: %v", raw, got, err)
		}
		if Key(again) != Key(got) {
			t.Fatalf("key changed: %q -> %q (%q), %q -> %q (%q)", raw, got, Key(got), got, again, Key(again))
		}
		for _, v := range Variants(got) {
			if Key(v) != Key(got) {
				t.Fatalf("variant %q of %q: key %q, want %q", v, got, Key(v), Key(got))
			}
		}
		_ = Region(got)
	})
}
