// Package adapter answers WAzion's five operations from a Whatalo store: it
// implements wazion.Backend over a whatalo.Client.
//
// It owns the translation between the two sides: finding customers by phone
// across formats and WhatsApp variants, mapping customers, orders and items
// into WAzion's shapes (refunds, discounts, state), the AI text, product
// URLs, and the economy of the upstream budget: the per-store cache (package
// adapter/cache), the phone index, abandoned carts and webhook updates. It
// knows nothing of HTTP routing or configuration files.
//
// Reading a phone (its formats, the WhatsApp variants, the canonical key
// customers are matched by) is package adapter/phone; each Backend owns a
// phone.Normalizer, so stores share no memory of phones.
package adapter
