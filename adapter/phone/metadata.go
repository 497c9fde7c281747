package phone

import "github.com/nyaruka/phonenumbers"

// WarmMetadata makes phonenumbers load and compile what parsing in the
// given regions needs (default: DO, CO, MX, AR, ES, BR, US), so the first
// lookup does not pay for it. The metadata belongs to phonenumbers and is
// loaded once per process, whatever the number of Normalizers: call this
// once at start. Calling it again is safe, and only costs the parses.
func WarmMetadata(regions ...string) {
	if len(regions) == 0 {
		// The regions of the stores served today, and the countries with
		// WhatsApp variants.
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
			_, _ = Normalize(national, r)
			_, _ = Normalize(e164, "")
			_ = Region(e164)
		}
	}
}
