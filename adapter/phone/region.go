package phone

import "github.com/nyaruka/phonenumbers"

// Region returns the ISO 3166 region of an E.164 number ("DO" for
// +18095557777), or "" when it cannot be told, as for an unassigned NANP
// number shared by many regions.
func Region(e164 string) string {
	if _, ok := e164Digits(e164); !ok {
		return ""
	}
	n, err := phonenumbers.Parse(Key(e164), "")
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
