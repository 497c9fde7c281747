package phone

// WhatsApp and stores write some countries' mobiles in two forms that
// phonenumbers tells apart (it calls one of each pair invalid or a fixed
// line), though both reach the same person. Key folds the forms into one,
// for matching; Variants lists them, for looking a number up where it may
// be held in either.

// Country calling codes whose WhatsApp and store forms of one number differ.
const (
	ccMexico    = "52"
	ccArgentina = "54"
	ccBrazil    = "55"
)

// Key returns the key that all WhatsApp and store forms of one number
// share, for matching and indexing. It works on Normalize's output and
// returns anything that is not "+<digits>" unchanged.
//
//   - Mexico: without WhatsApp's mobile "1": +5215512345678 → +525512345678.
//   - Argentina: without the mobile "9": +5491123456789 → +541123456789
//     (Normalize already turns the national "15" forms into "+549…").
//   - Brazil: with the ninth digit, the current official form:
//     +551187654321 → +5511987654321, for 8-digit subscribers starting 6-9
//     (mobiles; 2-5 are landlines and have no ninth digit).
//   - Everyone else: the E.164 itself.
func Key(e164 string) string {
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

// Variants returns the E.164 forms under which WhatsApp or a store may
// hold the number: e164 first, then its alternates (Mexico with and without
// "1", Argentina with and without "9", Brazilian mobiles with and without the
// ninth digit). Every variant has the same Key.
func Variants(e164 string) []string {
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
