package phone

import (
	"fmt"
	"strings"
	"unicode/utf8"
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
	if digitCount(shown) >= maskFromDigits {
		shown = mask(shown)
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

// mask hides the middle of a phone the way the service's logs do: the first
// four and last two digits stay, with a leading "+" when there is one, so
// the same number reads the same in an error and in a log line.
func mask(phone string) string {
	phone = strings.TrimSpace(phone)
	if phone == "" {
		return ""
	}
	var digits strings.Builder
	for i := 0; i < len(phone); i++ {
		if c := phone[i]; c >= '0' && c <= '9' {
			digits.WriteByte(c)
		}
	}
	d := digits.String()
	if d == "" {
		return "***"
	}
	var b strings.Builder
	b.Grow(len(d) + 1)
	if phone[0] == '+' {
		b.WriteByte('+')
	}
	if len(d) <= 6 {
		b.WriteString(strings.Repeat("*", len(d)))
		return b.String()
	}
	b.WriteString(d[:4])
	b.WriteString(strings.Repeat("*", len(d)-6))
	b.WriteString(d[len(d)-2:])
	return b.String()
}

func digitCount(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}
