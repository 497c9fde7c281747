// Package phone reads phone numbers as people, stores and WhatsApp write
// them, and says when two of them are the same number.
//
// It owns parsing with github.com/nyaruka/phonenumbers (Normalize: any
// written form to E.164, in a default region, with errors that name the
// input masked), the WhatsApp variants of Mexican, Argentine and Brazilian
// mobiles (whatsapp_variants.go: Key, the canonical key all forms of a
// number share, and Variants), what an E.164 number tells (Region,
// NationalNumber), the warm-up of phonenumbers' metadata (WarmMetadata), and
// the Normalizer: Normalize with a bounded memo, one per owner, so nothing
// is shared through package state.
//
// It knows nothing of Whatalo or of the service's lookups: its inputs are
// strings and regions, never customers, requests or caches. Of WAzion's
// side it uses only wazion.MaskPhone, so that a phone in an error reads as
// the same phone in the service's logs.
package phone
