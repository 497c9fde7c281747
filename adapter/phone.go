package adapter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// Country calling codes whose WhatsApp and store forms of one number differ.
const (
	ccMexico    = "52"
	ccArgentina = "54"
	ccBrazil    = "55"
)

const (
	// maxPhoneInput bounds what is handed to phonenumbers: nothing a person
	// types as a phone number is longer, and the library's regular
	// expressions should not see kilobytes of junk.
	maxPhoneInput = 100
	// minPhoneDigits is below any national number worth looking up; it turns
	// "123" into "too short" whatever the region.
	minPhoneDigits = 5
	// maxPhoneDigits is E.164's 15 digits plus a "00" prefix and slack for
	// the WhatsApp forms that carry an extra mobile digit.
	maxPhoneDigits = 19
	// maskFromDigits is the digit count from which a rejected input could
	// be a real number and is masked in errors.
	maskFromDigits = 7
	// maxErrorPhone bounds how much of a rejected input an error repeats.
	maxErrorPhone = 40
)

// PhoneError says why a string was not accepted as a phone number. Its
// message names the input: as given when it is too short to be anyone's
// number (`phone "abc": not a phone number`), masked when it may be a real
// one, since errors reach logs (`phone "+1809*****34": too long`).
type PhoneError struct {
	// Phone is the rejected input, shortened when very long.
	Phone string
	// Reason is a short phrase: "empty", "not a phone number", "too short",
	// "too long", "unknown country code", "no country code and no default
	// region", "missing area code", "invalid length".
	Reason string
}

func (e *PhoneError) Error() string {
	shown := e.Phone
	if digitCount(shown) >= maskFromDigits {
		shown = wazion.MaskPhone(shown)
	}
	return fmt.Sprintf("phone %q: %s", shown, e.Reason)
}

func phoneErr(raw, reason string) *PhoneError {
	if len(raw) > maxErrorPhone {
		cut := maxErrorPhone
		for cut > 0 && !utf8.RuneStart(raw[cut]) {
			cut--
		}
		raw = raw[:cut] + "…"
	}
	return &PhoneError{Phone: raw, Reason: reason}
}

// NormalizePhone returns raw in E.164 ("+18095557777"). National numbers are
// read in region (ISO 3166 alpha-2, e.g. the store's country); with an empty
// or unknown region only international forms ("+…", "00…") parse.
//
// Acceptance is by possible length, not by phonenumbers' validity, because
// WhatsApp and stores hold forms the library calls invalid: Mexico's
// "+521…", Brazil's pre-ninth-digit mobiles. Those forms are kept as given;
// PhoneKey makes them comparable. Other inputs it understands: "whatsapp:",
// "tel:" and similar prefixes, WhatsApp JIDs ("34612345678@s.whatsapp.net"),
// extensions (dropped), and, when a region is set, bare international digits
// that do not form a national number ("34612345678" in a DO store).
//
// Results are remembered (see phoneMemo): the same few phones are read on
// every cached answer, and parsing is the costliest step of one.
func NormalizePhone(raw, region string) (string, error) {
	if len(raw) > maxPhoneInput {
		return normalizePhone(raw, region)
	}
	k := phoneMemoKey{raw, region}
	if r, ok := phones.get(k); ok {
		return r.e164, r.err
	}
	e164, err := normalizePhone(raw, region)
	phones.put(k, phoneResult{e164, err})
	return e164, err
}

// phoneMemoSize bounds the memo of NormalizePhone: some thousands of
// phones in use at once, a few hundred bytes each.
const phoneMemoSize = 20_000

var phones = phoneMemo{m: make(map[phoneMemoKey]phoneResult)}

type phoneMemoKey struct{ raw, region string }

type phoneResult struct {
	e164 string
	err  error
}

// phoneMemo remembers NormalizePhone results. It is emptied when it reaches
// phoneMemoSize, which keeps it bounded whatever the callers send: a flood
// of distinct phones costs a parse each, as without it, and the phones in
// use come back at once.
type phoneMemo struct {
	mu sync.RWMutex
	m  map[phoneMemoKey]phoneResult
}

func (m *phoneMemo) get(k phoneMemoKey) (phoneResult, bool) {
	m.mu.RLock()
	r, ok := m.m[k]
	m.mu.RUnlock()
	return r, ok
}

func (m *phoneMemo) put(k phoneMemoKey, r phoneResult) {
	m.mu.Lock()
	if len(m.m) >= phoneMemoSize {
		clear(m.m)
	}
	m.m[k] = r
	m.mu.Unlock()
}

func normalizePhone(raw, region string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", phoneErr(raw, "empty")
	}
	if len(s) > maxPhoneInput {
		return "", phoneErr(raw, "too long")
	}
	s, jid := stripPhoneWrapping(s)
	number, _ := phonenumbers.MaybeSeparateExtensionFromPhone(s)
	if strings.IndexFunc(number, unicode.IsLetter) >= 0 {
		// phonenumbers reads letters as keypad digits (1-800-FLOWERS); in
		// a customer's phone field they mean "n/a" or a typo.
		return "", phoneErr(raw, "not a phone number")
	}
	digits := phonenumbers.NormalizeDigitsOnly(number)
	switch {
	case digits == "":
		return "", phoneErr(raw, "not a phone number")
	case len(digits) < minPhoneDigits:
		return "", phoneErr(raw, "too short")
	case len(digits) > maxPhoneDigits:
		return "", phoneErr(raw, "too long")
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	if region != "" && phonenumbers.GetCountryCodeForRegion(region) == 0 {
		region = ""
	}

	if jid || hasLeadingPlus(number) {
		n, err := phonenumbers.Parse("+"+digits, "")
		if err != nil {
			return "", phoneErr(raw, parseReason(err))
		}
		e164, reason := acceptStable(n)
		if reason != "" {
			return "", phoneErr(raw, reason)
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
			return "", phoneErr(raw, iddReason)
		}
		return "", phoneErr(raw, "no country code and no default region")
	}
	if nationalErr != nil {
		return "", phoneErr(raw, parseReason(nationalErr))
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
			if e164, r := acceptStable(n); r == "" && validPhone(PhoneKey(e164)) {
				return e164, nil
			}
		}
	}
	return "", phoneErr(raw, reason)
}

// acceptStable is acceptPhone for numbers that also read back as
// themselves. phonenumbers strips what looks like a trunk prefix even from
// international input, so for numbers such as "+910000000000" every pass
// loses a digit; an output that would not survive its own normalization is
// not a number worth keeping.
func acceptStable(n *phonenumbers.PhoneNumber) (string, string) {
	e164, reason := acceptPhone(n)
	if reason != "" {
		return "", reason
	}
	again, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return "", "not a phone number"
	}
	if e, r := acceptPhone(again); r != "" || e != e164 {
		return "", "not a phone number"
	}
	return e164, ""
}

func validPhone(e164 string) bool {
	n, err := phonenumbers.Parse(e164, "")
	return err == nil && phonenumbers.IsValidNumber(n)
}

// stripPhoneWrapping removes URI schemes ("tel:", "whatsapp:") and WhatsApp
// JID domains. jid reports a JID, whose digits are international without "+".
func stripPhoneWrapping(s string) (out string, jid bool) {
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

// acceptPhone returns n in E.164 when its length is possible for its
// country, or the reason it is not. Mexico's WhatsApp "1" and the old
// national prefixes are accepted here because the library rejects them.
func acceptPhone(n *phonenumbers.PhoneNumber) (string, string) {
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
// WhatsApp's "1"+10 digits (kept, PhoneKey folds it) and the "01", "044"
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
	if !ok || d == "" || len(d) > maxPhoneDigits {
		return "", false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return "", false
		}
	}
	return d, true
}

// PhoneKey returns the key that all WhatsApp and store forms of one number
// share, for matching and indexing. It works on NormalizePhone's output and
// returns anything that is not "+<digits>" unchanged.
//
//   - Mexico: without WhatsApp's mobile "1": +5215512345678 → +525512345678.
//   - Argentina: without the mobile "9": +5491123456789 → +541123456789
//     (NormalizePhone already turns the national "15" forms into "+549…").
//   - Brazil: with the ninth digit, the current official form:
//     +551187654321 → +5511987654321, for 8-digit subscribers starting 6-9
//     (mobiles; 2-5 are landlines and have no ninth digit).
//   - Everyone else: the E.164 itself.
func PhoneKey(e164 string) string {
	d, ok := e164Digits(e164)
	if !ok || len(d) < 3 {
		return e164
	}
	cc, nsn := d[:2], d[2:]
	switch {
	case cc == ccMexico && len(nsn) == 11 && nsn[0] == '1':
		return "+" + cc + nsn[1:]
	case cc == ccArgentina && len(nsn) == 11 && nsn[0] == '9':
		return "+" + cc + nsn[1:]
	case cc == ccBrazil && len(nsn) == 10 && isOldBrazilianMobile(nsn[2]):
		return "+" + cc + nsn[:2] + "9" + nsn[2:]
	}
	return e164
}

// PhoneVariants returns the E.164 forms under which WhatsApp or a store may
// hold the number: e164 first, then its alternates (Mexico with and without
// "1", Argentina with and without "9", Brazilian mobiles with and without the
// ninth digit). Every variant has the same PhoneKey.
func PhoneVariants(e164 string) []string {
	out := []string{e164}
	d, ok := e164Digits(e164)
	if !ok || len(d) < 3 {
		return out
	}
	cc, nsn := d[:2], d[2:]
	switch cc {
	case ccMexico:
		if len(nsn) == 11 && nsn[0] == '1' {
			out = append(out, "+"+cc+nsn[1:])
		} else if len(nsn) == 10 {
			out = append(out, "+"+cc+"1"+nsn)
		}
	case ccArgentina:
		if len(nsn) == 11 && nsn[0] == '9' {
			out = append(out, "+"+cc+nsn[1:])
		} else if len(nsn) == 10 {
			out = append(out, "+"+cc+"9"+nsn)
		}
	case ccBrazil:
		if len(nsn) == 10 && isOldBrazilianMobile(nsn[2]) {
			out = append(out, "+"+cc+nsn[:2]+"9"+nsn[2:])
		} else if len(nsn) == 11 && nsn[2] == '9' && isOldBrazilianMobile(nsn[3]) {
			out = append(out, "+"+cc+nsn[:2]+nsn[3:])
		}
	}
	return out
}

// isOldBrazilianMobile reports whether an 8-digit Brazilian subscriber
// number starting with c was a mobile before the ninth digit was added.
func isOldBrazilianMobile(c byte) bool { return c >= '6' && c <= '9' }

// PhoneRegion returns the ISO 3166 region of an E.164 number ("DO" for
// +18095557777), or "" when it cannot be told, as for an unassigned NANP
// number shared by many regions.
func PhoneRegion(e164 string) string {
	if _, ok := e164Digits(e164); !ok {
		return ""
	}
	n, err := phonenumbers.Parse(PhoneKey(e164), "")
	if err != nil {
		return ""
	}
	r := phonenumbers.GetRegionCodeForNumber(n)
	if r != "" && r != phonenumbers.UNKNOWN_REGION && r != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY {
		return r
	}
	regions := phonenumbers.GetRegionCodesForCountryCode(int(n.GetCountryCode()))
	if len(regions) == 1 && regions[0] != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY {
		return regions[0]
	}
	return ""
}

// WarmPhoneMetadata makes phonenumbers load and compile what parsing in the
// given regions needs (default: DO, CO, MX, AR, ES, BR, US), so the first
// WAzion request does not pay for it. Safe to call more than once.
func WarmPhoneMetadata(regions ...string) {
	if len(regions) == 0 {
		// Whatalo's markets and the countries with WhatsApp variants.
		regions = []string{"DO", "CO", "MX", "AR", "ES", "BR", "US"}
	}
	for _, r := range regions {
		for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE} {
			ex := phonenumbers.GetExampleNumberForType(r, typ)
			if ex == nil {
				continue
			}
			e164 := phonenumbers.Format(ex, phonenumbers.E164)
			national := phonenumbers.Format(ex, phonenumbers.NATIONAL)
			_, _ = normalizePhone(national, r)
			_, _ = normalizePhone(e164, "")
			_ = PhoneRegion(e164)
		}
	}
}
