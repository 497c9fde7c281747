package phone

import (
	"strings"
	"testing"
)

func TestNationalNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+18095551234", "8095551234"},
		{"+34612345678", "612345678"},
		{"+525512345678", "5512345678"},
		{"+5491123456789", "91123456789"},
		{"+5511987654321", "11987654321"},
		{"+999", "999"}, // does not parse: the digits as given
		{"", ""},
	}
	for _, tt := range tests {
		if got := NationalNumber(tt.in); got != tt.want {
			t.Errorf("NationalNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Every written form of a number holds its national number.
	for _, form := range []string{"+1 809-555-1234", "809-555-1234", "+18095551234", "1 (809) 555 1234"} {
		if digits := strings.Map(keepDigit, form); !strings.Contains(digits, NationalNumber("+18095551234")) {
			t.Errorf("%q: digits %q do not hold the national number", form, digits)
		}
	}
}

func keepDigit(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}

func TestSearchTextIsSharedByEveryVariant(t *testing.T) {
	for _, e164 := range []string{"+5215512345678", "+5491123456789", "+5521987654321", "+18095551234"} {
		want := SearchText(e164)
		if len(want) != 8 {
			t.Errorf("SearchText(%q) = %q, want 8 digits", e164, want)
		}
		for _, v := range Variants(e164) {
			if got := SearchText(v); got != want {
				t.Errorf("variant %s of %s searches %q, want %q", v, e164, got, want)
			}
		}
	}
}
