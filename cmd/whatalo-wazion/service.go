package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/phone"
	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// service is the running program: one Backend per store behind one Fiber
// app. The stores are a storeSet that Reload replaces whole; everything
// else is built once from the configuration it started with.
type service struct {
	cfg     *config.Config // as started; the process settings are read from it only
	log     *slog.Logger
	app     *fiber.App
	admin   *fiber.App // health and metrics on server.admin_listen; nil when unset
	metrics *metrics
	wazion  *wazion.Server
	sharing *sharing // other replicas, through Redis; nil without
	// transport carries every store's Whatalo calls: one pool of
	// connections per host, rather than one per store, which with many
	// stores of one host would hold thousands of idle connections and
	// their goroutines.
	transport *http.Transport

	// stores is what serves now; reload (one at a time, under reloadMu)
	// swaps it. limiters are the rate limiters by API key and settings,
	// kept across reloads so that a store keeps its key's budget; only the
	// goroutine holding reloadMu (or newService) uses them.
	stores   atomic.Pointer[storeSet]
	reloadMu sync.Mutex
	limiters map[limiterKey]*whatalo.Limiter

	// Background work started by Start, ended by Close. queue hands the
	// stores to the startup workers, which start each store's Run in
	// configuration order, at most startupConcurrency whose first index
	// build is still running.
	bgCtx          context.Context
	stopBackground context.CancelFunc
	background     sync.WaitGroup
	queue          chan *storeUnit

	// reloads, when set (serveConfig), asks Serve to reload the
	// configuration with load (SIGHUP).
	reloads <-chan os.Signal
	load    func() (*config.Config, error)
}

// storeSet is the stores served at one moment, in configuration order.
type storeSet struct {
	cfg     *config.Config // the stores, cache, index and per-token settings of this set
	names   []string
	units   map[string]*storeUnit
	tenants *wazion.Tenants
}

// backend returns the named store's Backend now, or nil.
func (s *service) backend(name string) *adapter.Backend {
	if u := s.stores.Load().units[name]; u != nil {
		return u.backend
	}
	return nil
}

// client returns the named store's Whatalo client now, or nil.
func (s *service) client(name string) *whatalo.Client {
	if u := s.stores.Load().units[name]; u != nil {
		return u.client
	}
	return nil
}

// storeUnit is one store while it serves: its client, Backend and the Run
// that keeps its index, which the startup queue starts and close ends.
type storeUnit struct {
	name    string
	def     unitDef
	client  *whatalo.Client
	backend *adapter.Backend
	limiter *whatalo.Limiter

	mu      sync.Mutex
	closed  bool
	started bool
	stop    context.CancelFunc
	done    chan struct{} // closed when Run returned; nil before start
}

// unitDef is everything a store's unit is built from: a reload rebuilds the
// store when it differs.
type unitDef struct {
	store  config.Store
	cache  config.Cache
	index  config.Index
	tokens [3]float64 // token_rate, token_burst, answer_ttl: the tenant's bounds
}

func defOf(cfg *config.Config, sc config.Store) unitDef {
	index := cfg.Index
	index.StartupConcurrency = 0 // the service's, not the store's
	return unitDef{store: sc, cache: cfg.Cache, index: index,
		tokens: [3]float64{cfg.Server.TokenRate, float64(cfg.Server.TokenBurst), float64(cfg.Server.AnswerTTL)}}
}

// limiterKey names a limiter: stores that share an API key share its
// limiter, as Whatalo's rate limit is per key, not per store entry.
type limiterKey struct {
	apiKey    string
	perMinute int
	share     float64
}

// start runs the store's background work under ctx, counted in wg, unless
// the unit was closed first. It reports whether it started.
func (u *storeUnit) start(ctx context.Context, wg *sync.WaitGroup) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed || u.started {
		return false
	}
	u.started = true
	ctx, u.stop = context.WithCancel(ctx)
	u.done = make(chan struct{})
	wg.Go(func() {
		defer close(u.done)
		u.backend.Run(ctx)
	})
	return true
}

// close ends the store's Run, waits for it, and releases the Backend. A
// unit still waiting in the startup queue is never started.
func (u *storeUnit) close() {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return
	}
	u.closed = true
	stop, done := u.stop, u.done
	u.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	u.backend.Close()
}

// newService builds every part from the configuration. It makes no
// network call: stores are probed by the background work and /readyz.
func newService(cfg *config.Config, log *slog.Logger) (_ *service, err error) {
	s := &service{
		cfg: cfg, log: log,
		metrics:   newMetrics(perStoreMetrics(cfg.Metrics.PerStore, len(cfg.Stores))),
		transport: whatalo.NewTransport(),
		limiters:  map[limiterKey]*whatalo.Limiter{},
	}
	s.metrics.console = newConsoleRecorder(cfg)
	if s.sharing, err = newSharing(cfg, log); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			// Nothing was started yet; release what was built.
			s.Close()
		}
	}()
	phone.WarmMetadata()
	set, err := s.buildSet(cfg, nil)
	if err != nil {
		return nil, err
	}
	s.stores.Store(set)
	s.metrics.watchIndexState(func(yield func(store, state string)) {
		set := s.stores.Load()
		for _, name := range set.names {
			yield(name, set.units[name].backend.IndexStatus().State)
		}
	})
	s.sharing.register(s.metrics.reg)
	s.wazion = wazion.NewServer(set.tenants, wazion.Options{
		BodyLimit: cfg.Server.BodyLimit,
		Margin:    cfg.Server.Margin,
		Logger:    log,
		Observer:  s.metrics,
	})
	s.app = fiber.New(s.wazion.FiberConfig(fiberConfig(cfg)))
	bodyTimeout := cfg.Server.ReadTimeout
	// fasthttp's ReadTimeout (HeaderTimeout here) runs from the request's
	// first byte; once the headers are in, the body gets the read timeout.
	// A request without a body (WAzion's GETs) has nothing left to read:
	// no new deadline, which would cost a timer update per request.
	s.app.Server().HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		if h.ContentLength() == 0 {
			return fasthttp.RequestConfig{}
		}
		return fasthttp.RequestConfig{ReadTimeout: bodyTimeout}
	}
	if cfg.Server.AdminListen != "" {
		s.admin = fiber.New(fiber.Config{
			AppName: "whatalo-wazion admin", DisableStartupMessage: true,
			ReadTimeout: cfg.Server.HeaderTimeout, WriteTimeout: cfg.Server.WriteTimeout, IdleTimeout: cfg.Server.IdleTimeout,
			Concurrency: adminConcurrency,
		})
		s.healthRoutes(s.admin)
	}
	s.routes()
	// The console comes last: its previews go through every route above.
	if err := s.mountConsole(); err != nil {
		return nil, err
	}
	return s, nil
}

// buildSet builds the stores of cfg, reusing the units of prev (nil at
// start) whose definition did not change. On error nothing of the new set
// is left running; prev is untouched either way.
func (s *service) buildSet(cfg *config.Config, prev *storeSet) (_ *storeSet, err error) {
	set := &storeSet{cfg: cfg, units: make(map[string]*storeUnit, len(cfg.Stores))}
	var built []*storeUnit
	defer func() {
		if err != nil {
			for _, u := range built {
				u.close()
			}
		}
	}()
	tenants := make([]wazion.Tenant, 0, len(cfg.Stores))
	for _, sc := range cfg.Stores {
		def := defOf(cfg, sc)
		u := prev.unitIfSame(sc.Name, def)
		if u == nil {
			if u, err = s.newUnit(cfg, sc, def); err != nil {
				return nil, err
			}
			built = append(built, u)
		}
		set.units[sc.Name] = u
		set.names = append(set.names, sc.Name)
		tokens := make([]string, 0, len(sc.Tokens))
		for _, t := range sc.Tokens {
			tokens = append(tokens, t.Value())
		}
		tenants = append(tenants, wazion.Tenant{
			Name: sc.Name, Tokens: tokens, TokenHeader: sc.TokenHeader, Language: sc.LabelLanguage, Backend: u.backend,
			RateLimit: max(0, cfg.Server.TokenRate), RateBurst: cfg.Server.TokenBurst,
			AnswerTTL: max(0, cfg.Server.AnswerTTL),
		})
	}
	if prev == nil {
		set.tenants, err = wazion.NewTenants(tenants)
	} else {
		set.tenants, err = prev.tenants.Update(tenants)
	}
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return set, nil
}

// unitIfSame returns the unit of ss named name when it was built from def,
// else nil (also on a nil ss).
func (ss *storeSet) unitIfSame(name string, def unitDef) *storeUnit {
	if ss == nil {
		return nil
	}
	if u := ss.units[name]; u != nil && reflect.DeepEqual(u.def, def) {
		return u
	}
	return nil
}

// newUnit builds one store's client and Backend; nothing runs until the
// startup queue starts it.
func (s *service) newUnit(cfg *config.Config, sc config.Store, def unitDef) (*storeUnit, error) {
	key := sc.APIKey.Value()
	lk := limiterKey{apiKey: key, perMinute: storeRateLimit(sc), share: sc.BackgroundShare}
	lim, ok := s.limiters[lk]
	if !ok {
		lim = whatalo.NewLimiter(lk.perMinute, lk.share)
		s.sharing.shareLimiter(sc.Name, key, lim.PerMinute(), lim.BackgroundShare(), lim)
		s.limiters[lk] = lim
	}
	client, err := whatalo.NewClient(key,
		whatalo.WithBaseURL(sc.BaseURL),
		whatalo.WithLimiter(lim),
		whatalo.WithHTTPClient(&http.Client{Transport: s.transport}),
		whatalo.WithLogger(s.log.With("store", sc.Name)),
		whatalo.WithObserver(s.metrics.storeObserver(sc.Name)),
	)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", sc.Name, err)
	}
	opts := backendOptions(cfg, sc, s.log, s.metrics)
	name := sc.Name
	opts.OnChange = func() {
		// A message from another replica may come before the set is
		// stored; the stores a reload keeps are shared by both sets.
		if set := s.stores.Load(); set != nil {
			set.tenants.Forget(name)
		}
	}
	s.sharing.shareBackend(&opts, sc)
	b := adapter.New(client, opts)
	s.sharing.watch(sc.Name, b)
	s.metrics.addStore(sc.Name)
	return &storeUnit{name: sc.Name, def: def, client: client, backend: b, limiter: lim}, nil
}

// backendOptions maps a store's configuration to the adapter's options.
func backendOptions(cfg *config.Config, sc config.Store, log *slog.Logger, m *metrics) adapter.Options {
	locales := make([]adapter.LocaleRule, 0, len(sc.Locales))
	for _, l := range sc.Locales {
		locales = append(locales, adapter.LocaleRule(l))
	}
	return adapter.Options{
		Name:            sc.Name,
		Region:          sc.Region,
		Language:        sc.LabelLanguage,
		URLs:            adapter.URLTemplates(sc.URLs),
		Locales:         locales,
		OrdersCount:     sc.Orders.Count,
		OrdersWithItems: sc.Orders.WithItems,
		State: adapter.StateRules{
			NewOrdersDays: sc.State.NewOrdersDays, RecentOrdersDays: sc.State.RecentOrdersDays,
			ConflictWindow: sc.State.ConflictWindow, ConflictMin: sc.State.ConflictMin,
		},
		AIInfoMax:     sc.AIInfoMax,
		MoneyDivisor:  sc.MoneyDivisor,
		InternalNotes: adapter.InternalNotes(sc.InternalNotes),
		TokenShare:    sc.TokenShare,
		Cache: cache.Options{
			Disabled: cfg.Cache.Disabled,
			TTL: map[string]time.Duration{
				cache.KindStore:          cfg.Cache.Store,
				cache.KindCustomer:       cfg.Cache.Customers,
				cache.KindPhone:          cfg.Cache.Customers,
				cache.KindEmail:          cfg.Cache.Customers,
				cache.KindOrders:         cfg.Cache.Orders,
				cache.KindOrder:          cfg.Cache.Orders,
				cache.KindOrdersWatched:  cfg.Cache.OrdersWatched,
				cache.KindOrderVersion:   cfg.Cache.OrderDetails,
				cache.KindProducts:       cfg.Cache.Products,
				cache.KindCustomerSearch: cfg.Cache.Searches,
				cache.KindOrderSearch:    cfg.Cache.Searches,
			},
			NegativeTTL: cfg.Cache.Negative,
			MaxStale:    cfg.Cache.MaxStale,
			MaxEntries:  cfg.Cache.MaxEntries,
			Observer:    m.cacheObserver(sc.Name),
		},
		Index: adapter.IndexOptions{
			Disabled:        cfg.Index.Disabled,
			RefreshInterval: cfg.Index.RefreshInterval,
			RebuildInterval: cfg.Index.RebuildInterval,
		},
		WebhookSecret: sc.WebhookSecret.Value(),
		Observer:      m,
		Logger:        log,
	}
}

// Start begins each store's background work (the phone index sync), which
// runs until ctx ends or Close is called. Call it at most once.
//
// Stores start in configuration order, startupConcurrency at a time: the
// next one starts when one of them has ended its first index sync, so
// that a process of a thousand stores neither opens a thousand builds at
// once nor leaves any store waiting long, and stores sharing an API key
// take turns on its limiter rather than all queueing on it together.
func (s *service) Start(ctx context.Context) {
	s.bgCtx, s.stopBackground = context.WithCancel(ctx)
	s.queue = make(chan *storeUnit)
	for range startupConcurrency(s.cfg) {
		s.background.Go(func() { s.startupWorker(s.bgCtx) })
	}
	set := s.stores.Load()
	s.enqueue(set, set.names)
}

// startupConcurrency is how many stores may run their first index build
// at once (index.startup_concurrency).
func startupConcurrency(cfg *config.Config) int {
	if n := cfg.Index.StartupConcurrency; n > 0 {
		return n
	}
	return 4 * runtime.GOMAXPROCS(0)
}

// enqueue hands the named stores of set to the startup workers, in order,
// from a goroutine of its own, so that a reload does not wait for them.
func (s *service) enqueue(set *storeSet, names []string) {
	if len(names) == 0 {
		return
	}
	units := make([]*storeUnit, 0, len(names))
	for _, n := range names {
		units = append(units, set.units[n])
	}
	s.background.Go(func() {
		for _, u := range units {
			select {
			case s.queue <- u:
			case <-s.bgCtx.Done():
				return
			}
		}
	})
}

// startupWorker starts the stores it is handed, one at a time: it waits
// for each one's first index sync before taking the next.
func (s *service) startupWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case u := <-s.queue:
			if !u.start(ctx, &s.background) {
				continue // removed by a reload before its turn
			}
			select {
			case <-u.backend.FirstSync():
			case <-ctx.Done():
				return
			}
		}
	}
}

// Close stops the background work, waits for it to end, and releases every
// backend.
func (s *service) Close() {
	if s.stopBackground != nil {
		s.stopBackground()
	}
	s.background.Wait()
	if set := s.stores.Load(); set != nil {
		for _, name := range set.names {
			set.units[name].close()
		}
	}
	s.transport.CloseIdleConnections()
	s.sharing.Close()
}

// adminConcurrency caps the admin listener's connections: probes and
// scrapes need few.
const adminConcurrency = 64

// routes lists every route of the service.
func (s *service) routes() {
	s.healthRoutes(s.app)
	s.app.Post("/webhooks/whatalo/:store", s.handleWebhook())
	s.wazion.Routes(s.app)
}

// healthRoutes mounts /healthz, /readyz and /metrics on r: on the main app,
// and on the admin app when server.admin_listen is set.
func (s *service) healthRoutes(r fiber.Router) {
	r.Get("/healthz", handleHealthz())
	r.Get("/readyz", s.handleReadyz())
	r.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{
		Registry:            s.metrics.reg, // exports promhttp_metric_handler_errors_total
		ErrorLog:            slog.NewLogLogger(s.log.Handler(), slog.LevelError),
		MaxRequestsInFlight: 4,
	})))
}
