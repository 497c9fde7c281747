package phone

import (
	"errors"
	"strconv"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

const (
	// maxInput bounds what is handed to phonenumbers: nothing a person
	// types as a phone number is longer, and the library's regular
	// expressions should not see kilobytes of junk.
	maxInput = 100
	// minDigits is below any national number worth looking up; it turns
	// "123" into "too short" whatever the region.
	minDigits = 5
	// maxDigits is E.164's 15 digits plus a "00" prefix and slack for the
	// WhatsApp forms that carry an extra mobile digit.
	maxDigits = 19
)

// Normalize returns raw in E.164 ("+18095557777"). National numbers are
// read in region (ISO 3166 alpha-2, e.g. the store's country); with an empty
// or unknown region only international forms ("+…", "00…") parse. Errors
// are *Error.
//
// Acceptance is by possible length, not by phonenumbers' validity, because
// WhatsApp and stores hold forms the library calls invalid: Mexico's
// "+521…", Brazil's pre-ninth-digit mobiles. Those forms are kept as given;
// Key makes them comparable. Other inputs it understands: "whatsapp:",
// "tel:" and similar prefixes, WhatsApp JIDs ("34612345678@s.whatsapp.net"),
// extensions (dropped), and, when a region is set, bare international digits
// that do not form a national number ("34612345678" in a DO store).
//
// Normalize parses every time; a Normalizer remembers the phones in use.
func Normalize(raw, region string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", newError(raw, "empty")
	}
	if len(s) > maxInput {
		return "", newError(raw, "too long")
	}
	s, jid := stripWrapping(s)
	number, _ := phonenumbers.MaybeSeparateExtensionFromPhone(s)
	if strings.IndexFunc(number, unicode.IsLetter) >= 0 {
		// phonenumbers reads letters as keypad digits (1-800-FLOWERS); in
		// a customer's phone field they mean "n/a" or a typo.
		return "", newError(raw, "not a phone number")
	}
	digits := phonenumbers.NormalizeDigitsOnly(number)
	switch {
	case digits == "":
		return "", newError(raw, "not a phone number")
	case len(digits) < minDigits:
		return "", newError(raw, "too short")
	case len(digits) > maxDigits:
		return "", newError(raw, "too long")
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	if region != "" && phonenumbers.GetCountryCodeForRegion(region) == 0 {
		region = ""
	}

	if jid || hasLeadingPlus(number) {
		n, err := phonenumbers.Parse("+"+digits, "")
		if err != nil {
			return "", newError(raw, parseReason(err))
		}
		e164, reason := acceptStable(n)
		if reason != "" {
			return "", newError(raw, reason)
		}
		return e164, nil
	}

	// National first: it is what a store's own customers type.
	var national *phonenumbers.PhoneNumber
	var nationalErr error
	if region != "" {
		national, nationalErr = phonenumbers.Parse(number, region)
		if nationalErr == nil && phonenumbers.IsValidNumber(national) {
			if e164, reason := acceptStable(national); reason == "" {
				return e164, nil
			}
		}
	}
	// "00" is the international prefix almost everywhere but not in every
	// region's metadata (NANP dials 011), so "0034…" needs help in a DO store.
	var iddReason string
	if rest, ok := strings.CutPrefix(digits, "00"); ok {
		idd, err := phonenumbers.Parse("+"+rest, "")
		if err != nil {
			iddReason = parseReason(err)
		} else {
			e164, reason := acceptStable(idd)
			if reason == "" {
				return e164, nil
			}
			iddReason = reason
		}
	}
	if region == "" {
		if iddReason != "" {
			return "", newError(raw, iddReason)
		}
		return "", newError(raw, "no country code and no default region")
	}
	if nationalErr != nil {
		return "", newError(raw, parseReason(nationalErr))
	}
	e164, reason := acceptStable(national)
	if reason == "" {
		return e164, nil
	}
	// A WhatsApp ID without its "+": only taken when it is a valid number
	// (in its canonical form, for "521…"), so a mistyped national number is
	// not read as a foreign one.
	if !strings.HasPrefix(digits, "0") {
		if n, err := phonenumbers.Parse("+"+digits, ""); err == nil {
			if e164, r := acceptStable(n); r == "" && valid(Key(e164)) {
				return e164, nil
			}
		}
	}
	return "", newError(raw, reason)
}

// acceptStable is accept for numbers that also read back as
// themselves. phonenumbers strips what looks like a trunk prefix even from
// international input, so for numbers such as "+910000000000" every pass
// loses a digit; an output that would not survive its own normalization is
// not a number worth keeping.
func acceptStable(n *phonenumbers.PhoneNumber) (string, string) {
	e164, reason := accept(n)
	if reason != "" {
		return "", reason
	}
	again, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return "", "not a phone number"
	}
	if e, r := accept(again); r != "" || e != e164 {
		return "", "not a phone number"
	}
	return e164, ""
}

func valid(e164 string) bool {
	n, err := phonenumbers.Parse(e164, "")
	return err == nil && phonenumbers.IsValidNumber(n)
}

// stripWrapping removes URI schemes ("tel:", "whatsapp:") and WhatsApp
// JID domains. jid reports a JID, whose digits are international without "+".
func stripWrapping(s string) (out string, jid bool) {
	for _, scheme := range []string{"whatsapp:", "tel:", "wa:", "sms:", "callto:"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			s = strings.TrimSpace(s[len(scheme):])
			s = strings.TrimPrefix(s, "//")
			break
		}
	}
	if user, domain, ok := strings.Cut(s, "@"); ok {
		switch strings.ToLower(strings.TrimSpace(domain)) {
		case "s.whatsapp.net", "c.us":
			return strings.TrimSpace(user), true
		}
	}
	return s, false
}

// hasLeadingPlus reports whether the first sign of a number is a plus,
// allowing "(+34) …" and the full-width plus of some keyboards.
func hasLeadingPlus(s string) bool {
	t := strings.TrimLeft(s, " \t([-.")
	return strings.HasPrefix(t, "+") || strings.HasPrefix(t, "＋")
}

// accept returns n in E.164 when its length is possible for its
// country, or the reason it is not. Mexico's WhatsApp "1" and the old
// national prefixes are accepted here because the library rejects them.
func accept(n *phonenumbers.PhoneNumber) (string, string) {
	cc := strconv.Itoa(int(n.GetCountryCode()))
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	if cc == ccMexico {
		if e164, ok := mexicanForm(nsn); ok {
			return e164, ""
		}
	}
	switch phonenumbers.IsPossibleNumberWithReason(n) {
	case phonenumbers.IS_POSSIBLE:
		return phonenumbers.Format(n, phonenumbers.E164), ""
	case phonenumbers.TOO_SHORT:
		return "", "too short"
	case phonenumbers.TOO_LONG:
		return "", "too long"
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", "unknown country code"
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return "", "missing area code"
	default:
		return "", "invalid length"
	}
}

// mexicanForm accepts Mexican national numbers the library calls too long:
// WhatsApp's "1"+10 digits (kept, Key folds it) and the "01", "044"
// and "045" prefixes retired in 2019 (dropped).
func mexicanForm(nsn string) (string, bool) {
	var ten string
	switch {
	case len(nsn) == 11 && nsn[0] == '1':
		ten = nsn[1:]
	case len(nsn) == 12 && strings.HasPrefix(nsn, "01"):
		ten = nsn[2:]
	case len(nsn) == 13 && (strings.HasPrefix(nsn, "044") || strings.HasPrefix(nsn, "045")):
		ten = nsn[3:]
	default:
		return "", false
	}
	n, err := phonenumbers.Parse("+"+ccMexico+ten, "")
	if err != nil || phonenumbers.IsPossibleNumberWithReason(n) != phonenumbers.IS_POSSIBLE {
		return "", false
	}
	if len(nsn) == 11 {
		return "+" + ccMexico + nsn, true
	}
	return "+" + ccMexico + ten, true
}

func parseReason(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return "unknown country code"
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "too short"
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "too long"
	default:
		return "not a phone number"
	}
}

// e164Digits returns the digits of "+<digits>", or false for anything else.
func e164Digits(s string) (string, bool) {
	d, ok := strings.CutPrefix(s, "+")
	if !ok || d == "" || len(d) > maxDigits {
		return "", false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return "", false
		}
	}
	return d, true
}
