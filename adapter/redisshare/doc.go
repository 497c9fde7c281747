// Package redisshare keeps in Redis what the replicas of the service share:
// each API key's upstream budget (a GCRA limiter, go-redis/redis_rate),
// a second-level cache of Whatalo results, a pub/sub bus carrying webhook
// effects, the lease and snapshot of each store's phone index, and what
// each store's webhooks told (deliveries seen, abandoned carts, completed
// checkouts), which survives a restart of every replica. It implements
// whatalo.SharedLimiter, cache.Shared and the adapter's Bus, IndexShare and
// WebhookStore, and reports whether Redis answers, for health checks.
//
// It knows Redis and the shapes of those interfaces, not what is stored:
// values arrive encoded, and it must not know WAzion or decode Whatalo
// data. Every call is bounded by a short timeout, and after a failure calls
// fail at once until Redis answers a ping again, so a Redis outage costs a
// request nothing but the fallback its caller chose.
package redisshare
