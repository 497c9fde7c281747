// Package whatalotest is an in-memory fake of the Whatalo REST API v1, in the
// manner of net/http/httptest: NewServer(t, seed) starts it on 127.0.0.1 for
// one test, and New(seed) gives the same fake as an http.Handler for
// cmd/whatalo-fake. It owns the Whatalo wire behaviour the project depends
// on (envelopes, pagination, filters, search, scopes, per-key rate limits,
// webhook signing) and fault injection (latency, errors, hangs, broken
// bodies, 429 storms). It follows the documented API, not any client's
// convenience, and knows nothing about WAzion or the adapter.
//
// # Routes
//
// Under /v1, with an X-API-Key header:
//
//	GET   /v1/customers            list (page, per_page, sort, order, search,
//	                               total_spent[gte|lte], orders_count[gte|lte],
//	                               last_order_at[gte|lte], has_orders)
//	GET   /v1/customers/count      {"data":{"count":N}}
//	GET   /v1/customers/{id}
//	POST  /v1/customers            name required; 201
//	PATCH /v1/customers/{id}       partial update
//	GET   /v1/orders               list without items (customer_id, search, status
//	                               as a comma list, payment_status, sort, date_from,
//	                               date_to, updated_at[gte|lte], total[gte|lte],
//	                               city, province, country, country_code)
//	GET   /v1/orders/count
//	GET   /v1/orders/{id}          with items
//	GET   /v1/orders/{id}/items    {"data":[...]}
//	PATCH /v1/orders/{id}          status and/or payment_status
//	GET   /v1/products             list (search on name, sku, slug; status
//	                               active (default), inactive, all; category_id,
//	                               is_featured, price[gte|lte], stock_status)
//	GET   /v1/products/count
//	GET   /v1/products/{id}
//	GET   /v1/store
//	GET   /v1/webhooks             secrets are never listed
//	POST  /v1/webhooks             https URL only; secret "whsec_…" generated
//	                               when omitted, returned only here; 201
//	DELETE /v1/webhooks/{id}       answers the deleted subscription
//
// Unknown query parameters are ignored, as a real API would: in particular
// customers have no updated_at filter, only sort=updated_at. Bad values of
// known parameters (per_page outside 1..100, page < 1, an unknown sort or
// order, a malformed number or date) answer 400 VALIDATION_ERROR with details
// [{field, message}]; bad bodies answer 422 VALIDATION_ERROR.
//
// Writes behave as a database with computed columns would: creating or
// patching a customer sets its updated_at, and a change to one of its orders
// (PATCH /v1/orders/{id}, Fake.AddOrder) recomputes its aggregates and sets
// its updated_at too, so a sync sorted by updated_at sees it.
//
// Search is a case-insensitive substring match on a customer's name, email
// and phone. A query of at least four digits made only of digits, spaces,
// '+', '-' and parentheses also matches on digits alone, so "8095551234"
// finds "+1 809-555-1234". Orders match on order number (with or without a
// leading '#'), customer name, email and phone; products on name, sku and
// slug.
//
// Without the needed scope a key gets 403 FORBIDDEN with
// details {"required_scope": ...}. Scopes: read:customers, write:customers,
// read:orders, write:orders, read:products, read:store, read:webhooks,
// write:webhooks. Keys have every scope unless limited with WithKeyScopes.
//
// Every /v1 response carries X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset (unix seconds), 401s and 429s included. Each key has a
// sliding log of the requests it was allowed in the last window; a request
// that would pass the limit answers 429 RATE_LIMITED with Retry-After.
//
// Control routes, without an API key: GET /_fake/stats, GET and POST
// /_fake/faults (a Faults object), POST /_fake/reset, and POST /_fake/emit,
// which sends one signed webhook delivery:
//
//	{"url": "...", "secret": "...", "event": "customer.updated",
//	 "data": {...}, "id": "optional delivery id", "legacy": false,
//	 "timestamp": optional unix seconds, "body": optional raw JSON object}
//
// The current delivery contract (legacy false) posts
// {"delivery_id", "occurred_at", "event_id", "<entity>": data, "store": {id,
// name, timezone}}, where <entity> is the part of the event name before the
// dot and event_id is data.id, with X-Webhook-Id, X-Webhook-Event,
// X-Webhook-Timestamp and X-Webhook-Signature = lowercase hex
// HMAC-SHA256(secret, timestamp + "." + body). The older contract (legacy
// true) posts {"event", "timestamp", "data"} with X-Whatalo-Signature = hex
// HMAC-SHA256(secret, body). A "body" replaces the generated body verbatim.
// The answer is {"status": <receiver's status>, "delivered": <2xx>}.
//
// # Seed format
//
// A seed is a JSON object using Whatalo's wire field names:
//
//	{
//	  "store":     { <store object> },
//	  "customers": [ {"id", "name", "email", "phone", "notes", "created_at", "updated_at"} ],
//	  "products":  [ { <product object, variants as variant_id, variant_type, variant_value, sku, ...> } ],
//	  "orders":    [ { <order object with "items": [ <line item> ]> } ]
//	}
//
// Any string under a key ending in "_at" may be relative to the moment of
// loading: "now", "now-3d", "now-36h", "now-1d12h", "now+30m" (units w, d,
// h, m, s, ms). Absolute RFC 3339 times work too.
//
// LoadSeed fills in what Whatalo derives, so a seed need not repeat it:
// customer aggregates (orders_count, total_spent as the sum of totals of
// orders neither cancelled nor returned, last_order_at, last_order_id,
// has_email, has_phone, display_contact) are always computed from the
// orders, and typed values are ignored; order flags (is_pending,
// is_completed, is_cancellable for pending, confirmed and in_progress,
// is_fully_paid, item_count as the sum of quantities) are always computed;
// an order's currency defaults to the store's, its customer_name, _phone
// and _email to the customer's, a line item's created_at to the order's;
// product has_discount, discount_percentage and is_purchasable are
// computed. Zero amounts are computed (total_price = unit_price × quantity,
// subtotal = Σ total_price, total = subtotal − discount_amount +
// shipping_cost + tax_amount); amounts given must agree, or LoadSeed fails.
// IDs must be unique and an order's customer_id must name a seeded
// customer.
package whatalotest
