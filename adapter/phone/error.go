package phone

import (
	"fmt"
	"unicode/utf8"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

const (
	// maskFromDigits is the digit count from which a rejected input could
	// be a real number and is masked in errors.
	maskFromDigits = 7
	// maxErrorPhone bounds how much of a rejected input an error repeats.
	maxErrorPhone = 40
)

// Error says why a string was not accepted as a phone number. Its message
// names the input: as given when it is too short to be anyone's number
// (`phone "abc": not a phone number`), masked when it may be a real one,
// since errors reach logs (`phone "+1809*****34": too long`).
type Error struct {
	// Phone is the rejected input, shortened when very long.
	Phone string
	// Reason is a short phrase: "empty", "not a phone number", "too short",
	// "too long", "unknown country code", "no country code and no default
	// region", "missing area code", "invalid length".
	Reason string
}

func (e *Error) Error() string {
	shown := e.Phone
	if DigitCount(shown) >= maskFromDigits {
		// The same number reads the same in an error and in a log line.
		shown = wazion.MaskPhone(shown)
	}
	return fmt.Sprintf("phone %q: %s", shown, e.Reason)
}

func newError(raw, reason string) *Error {
	if len(raw) > maxErrorPhone {
		cut := maxErrorPhone
		for cut > 0 && !utf8.RuneStart(raw[cut]) {
			cut--
		}
		raw = raw[:cut] + "…"
	}
	return &Error{Phone: raw, Reason: reason}
}

// DigitCount is how many ASCII digits s holds: how much of a phone it
// could be.
func DigitCount(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}
