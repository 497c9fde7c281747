package main

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/wazion/console"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// metricsNamespace prefixes every metric of the service.
const metricsNamespace = "whatalo_wazion"

// Histogram buckets, in seconds. Requests span a cached answer (about a
// millisecond) to WAzion's 10 s budget; limiter waits run from nothing to
// the minutes a background sync may queue for.
var (
	latencyBuckets     = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	limiterWaitBuckets = []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
)

// Webhook results counted by the route itself, before a delivery reaches a
// store's Backend.
const (
	webhookUnknownStore = "unknown_store"
	webhookTooLarge     = "too_large"
)

// metrics is the service's Prometheus instrumentation. It owns its registry,
// so several services (tests) never share counters, and it implements the
// observer interfaces of the packages it watches: wazion.Observer,
// adapter.Observer, and, per store, whatalo.Observer and the cache observer.
//
// Every label value comes from a bounded set: store names from the
// configuration, endpoints and outcomes from wazion, cache kinds and results
// from adapter, routes as patterns ("GET /customers/{id}"), webhook events
// from Whatalo's published list.
type metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	answers         *prometheus.CounterVec
	cacheLookups    *prometheus.CounterVec
	upstream        *prometheus.CounterVec
	upstreamLatency *prometheus.HistogramVec
	limiterWait     *prometheus.HistogramVec
	limiterRejects  *prometheus.CounterVec
	budgetRemaining *prometheus.GaugeVec
	budgetLimit     *prometheus.GaugeVec
	budgetReset     *prometheus.GaugeVec
	indexCustomers  *prometheus.GaugeVec
	indexKeys       *prometheus.GaugeVec
	indexLastSync   *prometheus.GaugeVec
	webhooks        *prometheus.CounterVec

	// Series of the request path by their labels, resolved on first use
	// (requestKey to *requestSeries, answerKey to prometheus.Counter).
	requestSeries sync.Map
	answerSeries  sync.Map

	// console is the console's history (console.go); nil, recording
	// nothing, when the console is off.
	console *console.Recorder
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "requests_total",
			Help: "WAzion requests answered, by endpoint, outcome and store (store is empty when the token matched none).",
		}, []string{"endpoint", "outcome", "store"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "request_duration_seconds",
			Help:    "Time to answer a WAzion request, by endpoint.",
			Buckets: latencyBuckets,
		}, []string{"endpoint"}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "answers_total",
			Help: "WAzion requests that reached the store's data, by store, endpoint and result: \"reused\" sent a recent identical answer again (server.answer_ttl), \"built\" asked the caches and Whatalo.",
		}, []string{"store", "endpoint", "result"}),
		cacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "cache_lookups_total",
			Help: "Cache lookups by store, cache (kind of data) and result (hit, stale, miss, stale_error, error, bypass, refresh_error).",
		}, []string{"store", "cache", "result"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "upstream_requests_total",
			Help: "Whatalo API attempts (retries included) by store, route pattern and HTTP status (\"error\" when no response arrived).",
		}, []string{"store", "route", "status"}),
		upstreamLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "upstream_request_duration_seconds",
			Help:    "Duration of Whatalo API attempts by store and route pattern.",
			Buckets: latencyBuckets,
		}, []string{"store", "route"}),
		limiterWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "limiter_wait_seconds",
			Help:    "Time Whatalo API attempts waited for the rate limiter, by store and priority (interactive, background).",
			Buckets: limiterWaitBuckets,
		}, []string{"store", "priority"}),
		limiterRejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "limiter_rejections_total",
			Help: "Whatalo API attempts refused by the rate limiter because their turn would come after their deadline.",
		}, []string{"store", "priority"}),
		budgetRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "upstream_budget_remaining",
			Help: "Requests left in Whatalo's current rate-limit window for the store's API key (last X-RateLimit-Remaining).",
		}, []string{"store"}),
		budgetLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "upstream_budget_limit",
			Help: "Whatalo's rate limit per window for the store's API key (last X-RateLimit-Limit).",
		}, []string{"store"}),
		budgetReset: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "upstream_budget_reset_timestamp_seconds",
			Help: "When Whatalo's current rate-limit window ends for the store's API key (last X-RateLimit-Reset), in Unix seconds.",
		}, []string{"store"}),
		indexCustomers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "index_customers",
			Help: "Customers in the store's phone index.",
		}, []string{"store"}),
		indexKeys: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "index_keys",
			Help: "Phone and email keys in the store's phone index.",
		}, []string{"store"}),
		indexLastSync: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "index_last_sync_timestamp_seconds",
			Help: "When the store's phone index last finished a sync with Whatalo, in Unix seconds; absent until the first sync.",
		}, []string{"store"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "webhooks_total",
			Help: "Whatalo webhook deliveries by store, event (\"unknown\" outside Whatalo's published list) and result.",
		}, []string{"store", "event", "result"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		m.requests, m.requestDuration, m.answers, m.cacheLookups,
		m.upstream, m.upstreamLatency, m.limiterWait, m.limiterRejects,
		m.budgetRemaining, m.budgetLimit, m.budgetReset,
		m.indexCustomers, m.indexKeys, m.indexLastSync, m.webhooks,
	)
	return m
}

// requestSeries are the series one kind of WAzion request counts in,
// resolved once: WithLabelValues hashes every label and takes the vector's
// lock, which on the cached path costs more than the counting itself.
type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// requestKey names a requestSeries. Every part comes from a bounded set
// (see metrics), so the map of them is bounded too.
type requestKey struct{ endpoint, store, outcome string }

// answerKey names the answers_total series of a store and endpoint.
type answerKey struct {
	endpoint, store string
	reused          bool
}

// ObserveRequest implements wazion.Observer.
func (m *metrics) ObserveRequest(endpoint, store, outcome string, d time.Duration) {
	k := requestKey{endpoint, store, outcome}
	v, ok := m.requestSeries.Load(k)
	if !ok {
		v, _ = m.requestSeries.LoadOrStore(k, &requestSeries{
			count:    m.requests.WithLabelValues(endpoint, outcome, store),
			duration: m.requestDuration.WithLabelValues(endpoint),
		})
	}
	rs := v.(*requestSeries)
	rs.count.Inc()
	rs.duration.Observe(d.Seconds())
}

// ObserveAnswer implements wazion.AnswerObserver.
func (m *metrics) ObserveAnswer(endpoint, store string, reused bool) {
	k := answerKey{endpoint, store, reused}
	v, ok := m.answerSeries.Load(k)
	if !ok {
		result := "built"
		if reused {
			result = "reused"
		}
		v, _ = m.answerSeries.LoadOrStore(k, m.answers.WithLabelValues(store, endpoint, result))
	}
	v.(prometheus.Counter).Inc()
}

// ObserveWebhook implements adapter.Observer.
func (m *metrics) ObserveWebhook(store, event, result string) {
	m.webhooks.WithLabelValues(store, whatalo.WebhookEventLabel(event), result).Inc()
}

// ObserveIndex implements adapter.Observer.
func (m *metrics) ObserveIndex(store string, customers, keys int, lastSync time.Time) {
	m.indexCustomers.WithLabelValues(store).Set(float64(customers))
	m.indexKeys.WithLabelValues(store).Set(float64(keys))
	if !lastSync.IsZero() {
		m.indexLastSync.WithLabelValues(store).Set(float64(lastSync.UnixNano()) / 1e9)
	}
}

// cacheObserver returns the cache.Options.Observer of one store.
func (m *metrics) cacheObserver(store string) func(kind, result string) {
	lookups := m.cacheLookups.MustCurryWith(prometheus.Labels{"store": store})
	return func(kind, result string) {
		lookups.WithLabelValues(kind, result).Inc()
	}
}

// storeObserver returns the whatalo.Observer of one store's client.
func (m *metrics) storeObserver(store string) whatalo.Observer {
	l := prometheus.Labels{"store": store}
	return &upstreamObserver{
		store:     store,
		console:   m.console,
		requests:  m.upstream.MustCurryWith(l),
		latency:   m.upstreamLatency.MustCurryWith(l),
		wait:      m.limiterWait.MustCurryWith(l),
		rejects:   m.limiterRejects.MustCurryWith(l),
		remaining: m.budgetRemaining.WithLabelValues(store),
		limit:     m.budgetLimit.WithLabelValues(store),
		reset:     m.budgetReset.WithLabelValues(store),
	}
}

// watchIndexState exports whatalo_wazion_index_state{store,state}: 1 for
// each store's current index state and 0 for the others, read at scrape
// time from state.
func (m *metrics) watchIndexState(stores []string, state func(store string) string) {
	m.reg.MustRegister(&indexStateCollector{
		desc: prometheus.NewDesc(metricsNamespace+"_index_state",
			"State of the store's phone index: 1 for the current state (disabled, building, ready, stale, failed), 0 for the others.",
			[]string{"store", "state"}, nil),
		stores: stores,
		state:  state,
	})
}

// watchLogDrops exports whatalo_wazion_log_lines_dropped_total, read at
// scrape time from dropped: log lines the log's buffer had no room for.
func (m *metrics) watchLogDrops(dropped func() uint64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: metricsNamespace, Name: "log_lines_dropped_total",
		Help: "Log lines dropped because the log's buffer was full (standard output slower than the log) or the output refused them.",
	}, func() float64 { return float64(dropped()) }))
}

// upstreamObserver is the whatalo.Observer of one store, with the store
// label already applied.
type upstreamObserver struct {
	store     string
	console   *console.Recorder
	requests  *prometheus.CounterVec
	latency   prometheus.ObserverVec
	wait      prometheus.ObserverVec
	rejects   *prometheus.CounterVec
	remaining prometheus.Gauge
	limit     prometheus.Gauge
	reset     prometheus.Gauge

	// Responses of parallel calls arrive in any order: within one rate
	// window the lowest remaining figure is the current one.
	mu       sync.Mutex
	lastLow  int
	lastSeen time.Time // reset of the window lastLow belongs to
}

var _ whatalo.Observer = (*upstreamObserver)(nil)

func (o *upstreamObserver) ObserveRequest(route string, status int, d time.Duration) {
	o.requests.WithLabelValues(route, statusLabel(status)).Inc()
	o.latency.WithLabelValues(route).Observe(d.Seconds())
	o.console.ObserveUpstream(o.store, time.Now())
}

func (o *upstreamObserver) ObserveLimiterWait(p whatalo.Priority, d time.Duration) {
	o.wait.WithLabelValues(p.String()).Observe(d.Seconds())
}

func (o *upstreamObserver) ObserveLimiterReject(p whatalo.Priority) {
	o.rejects.WithLabelValues(p.String()).Inc()
}

func (o *upstreamObserver) ObserveRateLimit(remaining, limit int, reset time.Time) {
	o.mu.Lock()
	newWindow := reset.Sub(o.lastSeen).Abs() > time.Second || o.lastSeen.IsZero()
	if newWindow || remaining < o.lastLow {
		o.lastLow, o.lastSeen = remaining, reset
		o.remaining.Set(float64(remaining))
	}
	o.mu.Unlock()
	o.limit.Set(float64(limit))
	if !reset.IsZero() {
		o.reset.Set(float64(reset.Unix()))
	}
}

// statusLabel is the HTTP status as a label value, "error" when no response
// arrived (connection refused, timeout).
func statusLabel(status int) string {
	if status <= 0 {
		return "error"
	}
	return strconv.Itoa(status)
}

// indexStateCollector reads each store's index state when scraped, so the
// state is never older than the scrape.
type indexStateCollector struct {
	desc   *prometheus.Desc
	stores []string
	state  func(store string) string
}

func (c *indexStateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *indexStateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, store := range c.stores {
		current := c.state(store)
		for _, st := range adapter.IndexStates() {
			v := 0.0
			if st == current {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, store, st)
		}
	}
}
