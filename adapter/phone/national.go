package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NationalNumber returns the national significant number of an E.164
// number ("8095551234" for +18095551234), which is a substring of the
// digits of every written form of it ("+1 809-555-1234", "809-555-1234"):
// the text to search for it where phones are stored as typed. What does not
// parse comes back without its "+".
func NationalNumber(e164 string) string {
	if n, err := phonenumbers.Parse(e164, ""); err == nil {
		return phonenumbers.GetNationalSignificantNumber(n)
	}
	return strings.TrimPrefix(e164, "+")
}

// SearchText is the text to search for a number and all of its WhatsApp
// variants where phones are stored as typed: the last 8 digits of its
// national significant number. Every written form of the number contains
// them ("+1 809-555-1234", "809-555-1234"), and so does every variant,
// since they differ only before them: Mexico's mobile "1" (+52 1 55…),
// Argentina's "9" and "15" (+54 9 11…, 011 15…), Brazil's ninth digit
// (+55 21 9 8765…). What it finds must still be filtered by Key.
func SearchText(e164 string) string {
	nsn := NationalNumber(e164)
	if len(nsn) > 8 {
		return nsn[len(nsn)-8:]
	}
	return nsn
}
