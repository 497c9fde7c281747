// Package console is the store owner's web console, served by the service
// at /console/: the facts to paste into WAzion's CRM endpoint settings,
// the Whatalo webhook subscription, the key check, live status (phone
// index, cache, upstream calls against the limit, the last answers that
// carried an error) and a preview of the side panel for a phone, answered
// by the same endpoints WAzion calls.
//
// It owns the pages (embedded: no CDN, no external fonts or scripts), who
// may see what (an operator password for every store, a store's WAzion
// token for that store alone), sessions, CSRF tokens and the rate limit on
// failed sign-ins, and the small in-memory history the status page draws
// (Recorder). What only the service knows (settings, probes, webhooks,
// index and cache state, answering a WAzion request) it asks through the
// small interfaces in Options; it never imports the adapter, the Whatalo
// client or the configuration.
package console
