package phone

import "testing"

func TestRegion(t *testing.T) {
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
		if got := Region(tt.in); got != tt.want {
			t.Errorf("Region(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
