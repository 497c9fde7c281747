// Package whatalo is a typed client of the Whatalo REST API v1
// (https://api.whatalo.com/v1), shaped like google/go-github: one Client, a
// service per resource (client.Customers.List(ctx, opts)), list options as
// structs, a Response that exposes the rate-limit headers and pagination, and
// typed errors for errors.As and errors.Is.
//
// The package owns everything about talking to Whatalo: the wire types, the
// per-key rate limit (a Limiter shared by every Client of one API key), retries
// inside the caller's deadline, response size limits and error decoding. It
// knows nothing about WAzion, caching or phone matching; those live in the
// adapter.
//
// Like go-github, it also owns the provider's webhook protocol: the headers
// and both signature schemes (VerifyWebhook, SignWebhook in
// webhook_signature.go), the one list of events and the envelope
// (WebhookEvents, ParseWebhook in webhook_events.go), and the payloads
// (webhook_payloads.go). What a delivery means is the receiver's business.
//
// Three rules shape the transport:
//
//   - The limiter is applied to every attempt, retries included, so the key's
//     budget is never exceeded however many callers share it. A wait that would
//     pass the context deadline fails at once with an error that matches
//     ErrRateLimited.
//   - Only network errors and 5xx are retried, never 4xx or 429, and no retry
//     starts when its backoff could pass the context deadline. POST, which is
//     not idempotent, is retried only on 502, 503, 504 and on dial errors,
//     where Whatalo cannot have acted on it. Work that can wait for the
//     key's reset says so: RateLimitWait (ratelimit_wait.go) waits out 429s
//     and Limiter refusals around any call, and WaitOutRateLimits does it
//     for each page of a walk (Pages, All: pages.go; Customers.Stream,
//     which decodes a page one customer at a time for walks over a whole
//     store: stream.go).
//   - The API key goes only in the X-API-Key header; it never appears in logs
//     or errors, and redirects are not followed so it cannot leak to another
//     host.
package whatalo
