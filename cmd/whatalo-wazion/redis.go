package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/redisshare"
	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// sharing connects the service to its other replicas through Redis
// (redis.url / REDIS_URL): each API key's budget, the second-level cache,
// the webhook bus and the phone index lease. A nil *sharing shares nothing,
// and every method is then a no-op, so a service without Redis runs as a
// single process with no Redis code on its path.
type sharing struct {
	cfg    config.Redis
	client *redisshare.Client
	log    *slog.Logger

	mu       sync.Mutex
	limiters map[string]*whatalo.Limiter // by the name of the first store of each key
	backends map[string]*adapter.Backend
	order    []string // store names, for stable metrics
}

// newSharing connects to Redis when the configuration names one; it does
// not wait for Redis to answer.
func newSharing(cfg *config.Config, log *slog.Logger) (*sharing, error) {
	if !cfg.Redis.Enabled() {
		return nil, nil
	}
	log = log.With("component", "redis")
	sh := &sharing{
		cfg:      cfg.Redis,
		log:      log,
		limiters: map[string]*whatalo.Limiter{},
		backends: map[string]*adapter.Backend{},
	}
	c, err := redisshare.New(redisshare.Options{
		URL:       cfg.Redis.URL.Value(),
		KeyPrefix: cfg.Redis.KeyPrefix,
		Timeout:   cfg.Redis.Timeout,
		Logger:    log,
		OnChange: func(up bool, err error) {
			if up {
				sh.recovered()
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	sh.client = c
	log.Info("sharing budget, cache and webhooks with other replicas through redis",
		"expected_replicas", cfg.Redis.ExpectedReplicas, "key_prefix", cfg.Redis.KeyPrefix)
	return sh, nil
}

// recovered ends the limiters' fallbacks as soon as Redis answers again,
// rather than at each key's next call.
func (sh *sharing) recovered() {
	sh.mu.Lock()
	lims := make([]*whatalo.Limiter, 0, len(sh.limiters))
	for _, l := range sh.limiters {
		lims = append(lims, l)
	}
	sh.mu.Unlock()
	for _, l := range lims {
		ctx, cancel := context.WithTimeout(context.Background(), sh.cfg.Timeout)
		l.RetryShared(ctx)
		cancel()
	}
}

// shareLimiter makes lim, the limiter of apiKey first used by store, take
// its turns from the budget all replicas share (perMinute, of which
// background calls get backgroundShare), falling back to lim's share of it
// (its rate ÷ expected replicas) while Redis cannot be reached.
func (sh *sharing) shareLimiter(store, apiKey string, perMinute int, backgroundShare float64, lim *whatalo.Limiter) {
	if sh == nil {
		return
	}
	log := sh.log.With("store", store)
	lim.SetShared(sh.client.Limiter(apiKey, perMinute, backgroundShare), whatalo.SharedOptions{
		Replicas: sh.cfg.ExpectedReplicas,
		OnChange: func(degraded bool, err error) {
			if degraded {
				log.Warn("shared rate limit unreachable; using this replica's share",
					"per_minute", max(1, lim.PerMinute()/sh.cfg.ExpectedReplicas), "err", err)
				return
			}
			log.Info("shared rate limit reachable again")
		},
	})
	sh.mu.Lock()
	sh.limiters[store] = lim
	sh.mu.Unlock()
}

// shareImport puts an import's limiter on the store's shared budget, sized
// as the service sizes it (the store's rate_limit and background share),
// whatever the import's own --rate.
func (sh *sharing) shareImport(sc config.Store, lim *whatalo.Limiter) {
	sh.shareLimiter(sc.Name, sc.APIKey.Value(), storeRateLimit(sc), sc.BackgroundShare, lim)
}

// shareBackend connects a store's Backend to the other replicas: the
// second-level cache, the webhook bus, the phone index lease and the
// webhook state (deliveries seen, carts), which outlives the process.
func (sh *sharing) shareBackend(o *adapter.Options, sc config.Store) {
	if sh == nil {
		return
	}
	st := sh.client.Store(sc.Name, sc.APIKey.Value())
	o.Cache.Shared = st
	o.Shared.Bus = st
	o.Shared.Index = st
	o.Shared.Webhooks = st
}

// watch records a store's Backend for metrics.
func (sh *sharing) watch(store string, b *adapter.Backend) {
	if sh == nil {
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.backends[store] = b
	sh.order = append(sh.order, store)
}

// Close closes the connection to Redis.
func (sh *sharing) Close() {
	if sh == nil {
		return
	}
	if err := sh.client.Close(); err != nil {
		sh.log.Debug("close redis", "err", err)
	}
}

// redisHealth is the "redis" part of /readyz. A degraded Redis does not
// make the service unready: every replica keeps answering on its own
// share, and taking all of them out of rotation at once would be worse.
// Reasons are short and name no address: the route may be public.
type redisHealth struct {
	Status string     `json:"status"` // "ok" or "degraded"
	Since  *time.Time `json:"since,omitempty"`
	Reason string     `json:"reason,omitempty"`
	// Fallback lists the stores whose rate limit is on this replica's
	// share because the shared one could not be asked.
	Fallback []string `json:"fallback,omitempty"`
}

// health reports Redis for /readyz; nil without Redis.
func (sh *sharing) health() *redisHealth {
	if sh == nil {
		return nil
	}
	h := sh.client.Health()
	out := &redisHealth{Status: "ok"}
	sh.mu.Lock()
	for _, name := range sh.order {
		if lim := sh.limiters[name]; lim != nil && lim.SharedState().Degraded {
			out.Fallback = append(out.Fallback, name)
		}
	}
	sh.mu.Unlock()
	if !h.Up || len(out.Fallback) > 0 {
		out.Status = "degraded"
		out.Reason = "redis unreachable: each replica uses its own share of the rate limit, and its own cache"
		if !h.Up {
			t := h.Since.UTC()
			out.Since = &t
		}
	}
	return out
}

// register adds the Redis metrics to reg; nothing without Redis.
func (sh *sharing) register(reg prometheus.Registerer) {
	if sh == nil {
		return
	}
	reg.MustRegister(&sharingCollector{sh: sh,
		up: prometheus.NewDesc(metricsNamespace+"_redis_up",
			"1 while Redis answers, 0 while the replicas work on their own shares.", nil, nil),
		calls: prometheus.NewDesc(metricsNamespace+"_redis_calls_total",
			"Redis calls by op (rate, cache_get, cache_write, publish, subscribe, lease, index, ping).", []string{"op"}, nil),
		errors: prometheus.NewDesc(metricsNamespace+"_redis_errors_total",
			"Redis calls that failed or were refused while Redis was down, by op.", []string{"op"}, nil),
		degraded: prometheus.NewDesc(metricsNamespace+"_shared_limiter_degraded",
			"1 while the store's rate limit uses this replica's share (rate limit ÷ expected replicas) because Redis cannot be asked.", []string{"store"}, nil),
		fallbacks: prometheus.NewDesc(metricsNamespace+"_shared_limiter_fallback_total",
			"Whatalo calls that took their turn from this replica's share instead of the shared budget.", []string{"store"}, nil),
		refusals: prometheus.NewDesc(metricsNamespace+"_shared_limiter_rejections_total",
			"Whatalo calls the shared budget refused because their turn would come after their deadline.", []string{"store"}, nil),
		lost: prometheus.NewDesc(metricsNamespace+"_shared_cache_lost_writes_total",
			"Writes to the shared cache not made, by reason (dropped: queue full; failed: Redis failed).", []string{"store", "reason"}, nil),
		received: prometheus.NewDesc(metricsNamespace+"_bus_messages_received_total",
			"Webhook effects received from other replicas and applied.", []string{"store"}, nil),
		pubErrors: prometheus.NewDesc(metricsNamespace+"_bus_publish_errors_total",
			"Webhook effects that could not be sent to the other replicas.", []string{"store"}, nil),
	})
}

// sharingCollector reads the Redis counters when scraped.
type sharingCollector struct {
	sh                                  *sharing
	up, calls, errors                   *prometheus.Desc
	degraded, fallbacks, refusals, lost *prometheus.Desc
	received, pubErrors                 *prometheus.Desc
}

func (c *sharingCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.calls, c.errors, c.degraded, c.fallbacks, c.refusals, c.lost, c.received, c.pubErrors} {
		ch <- d
	}
}

func (c *sharingCollector) Collect(ch chan<- prometheus.Metric) {
	sh := c.sh
	up := 0.0
	if sh.client.Health().Up {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
	st := sh.client.Stats()
	for _, op := range redisshare.Ops() {
		ch <- prometheus.MustNewConstMetric(c.calls, prometheus.CounterValue, float64(st.Calls[op]), op)
		ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(st.Errors[op]), op)
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, name := range sh.order {
		if lim := sh.limiters[name]; lim != nil {
			s := lim.SharedState()
			d := 0.0
			if s.Degraded {
				d = 1
			}
			ch <- prometheus.MustNewConstMetric(c.degraded, prometheus.GaugeValue, d, name)
			ch <- prometheus.MustNewConstMetric(c.fallbacks, prometheus.CounterValue, float64(s.Fallbacks), name)
			ch <- prometheus.MustNewConstMetric(c.refusals, prometheus.CounterValue, float64(s.Refusals), name)
		}
		b := sh.backends[name]
		cs := b.CacheSharedStats()
		ch <- prometheus.MustNewConstMetric(c.lost, prometheus.CounterValue, float64(cs.Dropped), name, "dropped")
		ch <- prometheus.MustNewConstMetric(c.lost, prometheus.CounterValue, float64(cs.Failed), name, "failed")
		bs := b.BusStats()
		ch <- prometheus.MustNewConstMetric(c.received, prometheus.CounterValue, float64(bs.Received), name)
		ch <- prometheus.MustNewConstMetric(c.pubErrors, prometheus.CounterValue, float64(bs.Errors), name)
	}
}
