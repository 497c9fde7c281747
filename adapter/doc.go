// Package adapter answers WAzion's five operations from a Whatalo store: it
// implements wazion.Backend over a whatalo.Client.
//
// It owns the translation between the two sides: finding customers by phone
// across formats and WhatsApp variants, mapping customers, orders and items
// into WAzion's shapes (refunds, discounts, state), the AI text, product
// URLs, and the economy of the upstream budget: the per-store cache (package
// adapter/cache), the phone index, abandoned carts and webhook updates. It
// knows nothing of HTTP routing or configuration files.
package adapter
