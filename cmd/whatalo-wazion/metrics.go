package main

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
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
//
// The store label multiplies every series by the number of stores: with
// perStore false (metrics.per_store, by default past perStoreAutoMax
// stores) only the series an operator reads per store keep it (the index
// gauges and state, store_errors_total); the request, cache, upstream,
// limiter and webhook series are summed over the stores, and the
// per-store budget gauges are not exported.
type metrics struct {
	reg      *prometheus.Registry
	perStore bool

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
	storeErrors     *prometheus.CounterVec
	// discard takes the budget figures of stores whose gauges are not
	// exported (metrics.per_store off); it is registered nowhere.
	discard prometheus.Gauge

	// Series of the request path by their labels, resolved on first use
	// (requestKey to *requestSeries, answerKey to prometheus.Counter).
	requestSeries sync.Map
	answerSeries  sync.Map

	// console is the console's history (console.go); nil, recording
	// nothing, when the console is off.
	console *console.Recorder
}

// perStoreAutoMax is the most stores whose series all carry the store label
// when metrics.per_store is unset: past it, one Prometheus target would
// carry tens of thousands of series.
const perStoreAutoMax = 50

// perStoreMetrics decides metrics.per_store for a configuration of n
// stores: the setting when given, else whether n is at most
// perStoreAutoMax.
func perStoreMetrics(setting *bool, n int) bool {
	if setting != nil {
		return *setting
	}
	return n <= perStoreAutoMax
}

// Sources of whatalo_wazion_store_errors_total.
const (
	errorSourceAnswer   = "answer"   // a WAzion answer with an error, a timeout or a panic
	errorSourceUpstream = "upstream" // a Whatalo call without a usable answer (network, 5xx, 429, 401, 403)
	errorSourceWebhook  = "webhook"  // a refused webhook delivery (signature, timestamp, payload)
)

// newMetrics returns the service's metrics, with the store label on every
// series when perStore (see metrics).
func newMetrics(perStore bool) *metrics {
	// withStore puts the store label before labels when every series
	// carries it (storeValues puts the store's value there too).
	withStore := func(labels ...string) []string {
		if perStore {
			return append([]string{"store"}, labels...)
		}
		return labels
	}
	requestLabels := []string{"endpoint", "outcome"}
	if perStore {
		requestLabels = append(requestLabels, "store") // last, as it always was
	}
	m := &metrics{
		reg:      prometheus.NewRegistry(),
		perStore: perStore,
		discard:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "discarded"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "requests_total",
			Help: "WAzion requests answered, by endpoint, outcome and, with metrics.per_store, store (store is empty when the token matched none).",
		}, requestLabels),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "request_duration_seconds",
			Help:    "Time to answer a WAzion request, by endpoint.",
			Buckets: latencyBuckets,
		}, []string{"endpoint"}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "answers_total",
			Help: "WAzion requests that reached the store's data, by endpoint, result and, with metrics.per_store, store: \"reused\" sent a recent identical answer again (server.answer_ttl), \"built\" asked the caches and Whatalo.",
		}, withStore("endpoint", "result")),
		cacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "cache_lookups_total",
			Help: "Cache lookups by cache (kind of data), result (hit, stale, miss, stale_error, error, bypass, refresh_error) and, with metrics.per_store, store.",
		}, withStore("cache", "result")),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "upstream_requests_total",
			Help: "Whatalo API attempts (retries included) by route pattern, HTTP status (\"error\" when no response arrived) and, with metrics.per_store, store.",
		}, withStore("route", "status")),
		upstreamLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "upstream_request_duration_seconds",
			Help:    "Duration of Whatalo API attempts by route pattern and, with metrics.per_store, store.",
			Buckets: latencyBuckets,
		}, withStore("route")),
		limiterWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "limiter_wait_seconds",
			Help:    "Time Whatalo API attempts waited for the rate limiter, by priority (interactive, background) and, with metrics.per_store, store.",
			Buckets: limiterWaitBuckets,
		}, withStore("priority")),
		limiterRejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "limiter_rejections_total",
			Help: "Whatalo API attempts refused by the rate limiter because their turn would come after their deadline, by priority and, with metrics.per_store, store.",
		}, withStore("priority")),
		budgetRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "upstream_budget_remaining",
			Help: "Requests left in Whatalo's current rate-limit window for the store's API key (last X-RateLimit-Remaining); only with metrics.per_store.",
		}, []string{"store"}),
		budgetLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "upstream_budget_limit",
			Help: "Whatalo's rate limit per window for the store's API key (last X-RateLimit-Limit); only with metrics.per_store.",
		}, []string{"store"}),
		budgetReset: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "upstream_budget_reset_timestamp_seconds",
			Help: "When Whatalo's current rate-limit window ends for the store's API key (last X-RateLimit-Reset), in Unix seconds; only with metrics.per_store.",
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
			Help: "Whatalo webhook deliveries by event (\"unknown\" outside Whatalo's published list), result and, with metrics.per_store, store.",
		}, withStore("event", "result")),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "store_errors_total",
			Help: "Failures by store and source: \"answer\" WAzion answers with an error, a timeout or a panic; \"upstream\" Whatalo calls without a usable answer (no response, 5xx, 429, 401, 403); \"webhook\" refused deliveries. Every store's series start at 0.",
		}, []string{"store", "source"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		m.requests, m.requestDuration, m.answers, m.cacheLookups,
		m.upstream, m.upstreamLatency, m.limiterWait, m.limiterRejects,
		m.budgetRemaining, m.budgetLimit, m.budgetReset,
		m.indexCustomers, m.indexKeys, m.indexLastSync, m.webhooks, m.storeErrors,
	)
	return m
}

// storeValues puts the store's value before values when every series
// carries the store label (see newMetrics).
func (m *metrics) storeValues(store string, values ...string) []string {
	if m.perStore {
		return append([]string{store}, values...)
	}
	return values
}

// requestValues are the label values of requests_total.
func (m *metrics) requestValues(endpoint, outcome, store string) []string {
	if m.perStore {
		return []string{endpoint, outcome, store}
	}
	return []string{endpoint, outcome}
}

// addStore starts a store's store_errors_total series at 0, so that the
// first failure shows in rate() and a store without failures is still
// seen to have none.
func (m *metrics) addStore(store string) {
	for _, src := range []string{errorSourceAnswer, errorSourceUpstream, errorSourceWebhook} {
		m.storeErrors.WithLabelValues(store, src)
	}
}

// forgetStore deletes every series of a store that left the configuration,
// so that /metrics holds none of it and a store added again under its name
// starts from zero.
func (m *metrics) forgetStore(store string) {
	byStore := prometheus.Labels{"store": store}
	m.indexCustomers.DeletePartialMatch(byStore)
	m.indexKeys.DeletePartialMatch(byStore)
	m.indexLastSync.DeletePartialMatch(byStore)
	m.storeErrors.DeletePartialMatch(byStore)
	if m.perStore {
		for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
			m.requests, m.answers, m.cacheLookups, m.upstream, m.upstreamLatency,
			m.limiterWait, m.limiterRejects, m.budgetRemaining, m.budgetLimit, m.budgetReset, m.webhooks,
		} {
			v.DeletePartialMatch(byStore)
		}
	}
	// The resolved series of the store are detached from their vectors
	// now; resolve them again on next use.
	m.requestSeries.Range(func(k, _ any) bool {
		if k.(requestKey).store == store {
			m.requestSeries.Delete(k)
		}
		return true
	})
	m.answerSeries.Range(func(k, _ any) bool {
		if k.(answerKey).store == store {
			m.answerSeries.Delete(k)
		}
		return true
	})
}

// errorOutcome reports whether a WAzion outcome counts in store_errors_total.
func errorOutcome(outcome string) bool {
	return outcome == wazion.OutcomeError || outcome == wazion.OutcomeTimeout || outcome == wazion.OutcomePanic
}

// errorStatus reports whether an upstream status counts in
// store_errors_total: no response, or one that says the store cannot be
// read now (404 and 422 are answers about the data).
func errorStatus(status int) bool {
	return status <= 0 || status >= 500 || status == 429 || status == 401 || status == 403
}

// requestSeries are the series one kind of WAzion request counts in,
// resolved once: WithLabelValues hashes every label and takes the vector's
// lock, which on the cached path costs more than the counting itself.
type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
	errors   prometheus.Counter // store_errors_total{source="answer"}; nil for other outcomes
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
	m.requestSeriesOf(endpoint, store, outcome).observe(d)
}

// requestSeriesOf returns the series of a request, resolved on first use.
func (m *metrics) requestSeriesOf(endpoint, store, outcome string) *requestSeries {
	k := requestKey{endpoint, store, outcome}
	v, ok := m.requestSeries.Load(k)
	if !ok {
		rs := &requestSeries{
			count:    m.requests.WithLabelValues(m.requestValues(endpoint, outcome, store)...),
			duration: m.requestDuration.WithLabelValues(endpoint),
		}
		if store != "" && errorOutcome(outcome) {
			rs.errors = m.storeErrors.WithLabelValues(store, errorSourceAnswer)
		}
		v, _ = m.requestSeries.LoadOrStore(k, rs)
	}
	return v.(*requestSeries)
}

func (rs *requestSeries) observe(d time.Duration) {
	rs.count.Inc()
	rs.duration.Observe(d.Seconds())
	if rs.errors != nil {
		rs.errors.Inc()
	}
}

// ObserveAnswer implements wazion.AnswerObserver.
func (m *metrics) ObserveAnswer(endpoint, store string, reused bool) {
	m.answerCounter(endpoint, store, reused).Inc()
}

// answerCounter returns the answers_total series of a store and endpoint,
// resolved on first use.
func (m *metrics) answerCounter(endpoint, store string, reused bool) prometheus.Counter {
	k := answerKey{endpoint, store, reused}
	v, ok := m.answerSeries.Load(k)
	if !ok {
		result := "built"
		if reused {
			result = "reused"
		}
		v, _ = m.answerSeries.LoadOrStore(k, m.answers.WithLabelValues(m.storeValues(store, endpoint, result)...))
	}
	return v.(prometheus.Counter)
}

// Series implements wazion.SeriesObserver.
func (m *metrics) Series(endpoint, store string) wazion.Series {
	return &endpointSeries{m: m, endpoint: endpoint, store: store}
}

// endpointSeries holds the series of one store's endpoint, each resolved
// on first use as metrics resolves them, so that a request reads a
// pointer instead of looking its series up by three names.
type endpointSeries struct {
	m               *metrics
	endpoint, store string
	outcomes        [len(seriesOutcomes)]atomic.Pointer[requestSeries]
	answers         [2]atomic.Pointer[answerSeries] // built, reused
}

type answerSeries struct{ prometheus.Counter }

// seriesOutcomes are the outcomes an endpointSeries holds, the commonest
// first; another goes through metrics.ObserveRequest.
var seriesOutcomes = [...]string{
	wazion.OutcomeFound, wazion.OutcomeNotFound, wazion.OutcomeError, wazion.OutcomeTimeout,
	wazion.OutcomeUnauthorized, wazion.OutcomeBadRequest, wazion.OutcomeTest, wazion.OutcomePanic,
	wazion.OutcomeRateLimited,
}

// outcomeIndex is outcome's index in seriesOutcomes, -1 if not there.
func outcomeIndex(outcome string) int {
	for i, o := range seriesOutcomes {
		if o == outcome {
			return i
		}
	}
	return -1
}

// ObserveRequest implements wazion.Series.
func (e *endpointSeries) ObserveRequest(outcome string, d time.Duration) {
	i := outcomeIndex(outcome)
	if i < 0 {
		e.m.ObserveRequest(e.endpoint, e.store, outcome, d)
		return
	}
	rs := e.outcomes[i].Load()
	if rs == nil {
		rs = e.m.requestSeriesOf(e.endpoint, e.store, outcome)
		e.outcomes[i].Store(rs)
	}
	rs.observe(d)
}

// ObserveAnswer implements wazion.Series.
func (e *endpointSeries) ObserveAnswer(reused bool) {
	i := 0
	if reused {
		i = 1
	}
	c := e.answers[i].Load()
	if c == nil {
		c = &answerSeries{e.m.answerCounter(e.endpoint, e.store, reused)}
		e.answers[i].Store(c)
	}
	c.Inc()
}

// ObserveWebhook implements adapter.Observer.
func (m *metrics) ObserveWebhook(store, event, result string) {
	m.webhooks.WithLabelValues(m.storeValues(store, whatalo.WebhookEventLabel(event), result)...).Inc()
	switch result {
	case adapter.WebhookBadSignature, adapter.WebhookStaleTimestamp, adapter.WebhookBadPayload:
		if store != "" {
			m.storeErrors.WithLabelValues(store, errorSourceWebhook).Inc()
		}
	}
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
	lookups := m.cacheLookups
	if m.perStore {
		lookups = lookups.MustCurryWith(prometheus.Labels{"store": store})
	}
	return func(kind, result string) {
		lookups.WithLabelValues(kind, result).Inc()
	}
}

// storeObserver returns the whatalo.Observer of one store's client.
func (m *metrics) storeObserver(store string) whatalo.Observer {
	o := &upstreamObserver{
		store:     store,
		console:   m.console,
		requests:  m.upstream,
		latency:   m.upstreamLatency,
		wait:      m.limiterWait,
		rejects:   m.limiterRejects,
		errors:    m.storeErrors,
		remaining: m.discard,
		limit:     m.discard,
		reset:     m.discard,
	}
	if m.perStore {
		l := prometheus.Labels{"store": store}
		o.requests = m.upstream.MustCurryWith(l)
		o.latency = m.upstreamLatency.MustCurryWith(l)
		o.wait = m.limiterWait.MustCurryWith(l)
		o.rejects = m.limiterRejects.MustCurryWith(l)
		o.remaining = m.budgetRemaining.WithLabelValues(store)
		o.limit = m.budgetLimit.WithLabelValues(store)
		o.reset = m.budgetReset.WithLabelValues(store)
	}
	return o
}

// watchIndexState exports whatalo_wazion_index_state{store,state}: 1 for
// each store's current index state and 0 for the others, read at scrape
// time from states, which calls yield with each configured store and its
// state.
func (m *metrics) watchIndexState(states func(yield func(store, state string))) {
	m.reg.MustRegister(&indexStateCollector{
		desc: prometheus.NewDesc(metricsNamespace+"_index_state",
			"State of the store's phone index: 1 for the current state (disabled, building, ready, stale, failed), 0 for the others.",
			[]string{"store", "state"}, nil),
		states: states,
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
	errors    *prometheus.CounterVec // store_errors_total, labelled by store always
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
	if errorStatus(status) {
		o.errors.WithLabelValues(o.store, errorSourceUpstream).Inc()
	}
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
	states func(yield func(store, state string))
}

func (c *indexStateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *indexStateCollector) Collect(ch chan<- prometheus.Metric) {
	c.states(func(store, current string) {
		for _, st := range adapter.IndexStates() {
			v := 0.0
			if st == current {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, store, st)
		}
	})
}
