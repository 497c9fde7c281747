package phone

import (
	"slices"
	"testing"
)

func TestKey(t *testing.T) {
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
		if got := Key(tt.in); got != tt.want {
			t.Errorf("Key(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := Key(Key(tt.in)); got != Key(tt.in) {
			t.Errorf("Key not idempotent on %q: %q", tt.in, got)
		}
	}
}

// Raw forms of one person's number, as WhatsApp, the store and the agent
// write it, must meet on one key.
func TestKeyMatchesAcrossForms(t *testing.T) {
	n := NewNormalizer(Options{})
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
			e164, err := n.Normalize(f, g.region)
			if err != nil {
				t.Errorf("%s: Normalize(%q): %v", g.region, f, err)
				continue
			}
			key := Key(e164)
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
	if Key("+551132654321") == Key("+5511932654321") {
		t.Error("Brazilian landline and mobile share a key")
	}
	if Key("+525512345678") == Key("+525512345679") {
		t.Error("different Mexican numbers share a key")
	}
}

func TestVariants(t *testing.T) {
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
		got := Variants(tt.in)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Variants(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for _, v := range got {
			if Key(v) != Key(tt.in) {
				t.Errorf("variant %q of %q has key %q, want %q", v, tt.in, Key(v), Key(tt.in))
			}
		}
	}
}
