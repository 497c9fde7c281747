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
