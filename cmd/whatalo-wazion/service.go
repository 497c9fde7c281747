package main

import (
	"context"
	"fmt"
	"log/slog"
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
// app.
type service struct {
	cfg      *config.Config
	log      *slog.Logger
	app      *fiber.App
	admin    *fiber.App // health and metrics on server.admin_listen; nil when unset
	tenants  *wazion.Tenants
	backends map[string]*adapter.Backend
	stores   []string // names in configuration order
	metrics  *metrics
	wazion   *wazion.Server
	sharing  *sharing                   // other replicas, through Redis; nil without
	clients  map[string]*whatalo.Client // by store, for the console
	// answers is tenants once built, for the backends' OnChange, which a
	// message from another replica may call before.
	answers atomic.Pointer[wazion.Tenants]

	// Background work started by Start, ended by Close.
	stopBackground context.CancelFunc
	background     sync.WaitGroup
}

// newService builds every part from the configuration. It makes no
// network call: stores are probed by the background work and /readyz.
func newService(cfg *config.Config, log *slog.Logger) (_ *service, err error) {
	s := &service{cfg: cfg, log: log, backends: map[string]*adapter.Backend{}, clients: map[string]*whatalo.Client{}, metrics: newMetrics()}
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
	// Stores that share an API key share its limiter: the rate limit is
	// Whatalo's per key, not per store entry.
	limiters := map[string]*whatalo.Limiter{}
	var tenants []wazion.Tenant
	for _, sc := range cfg.Stores {
		key := sc.APIKey.Value()
		lim, ok := limiters[key]
		if !ok {
			lim = whatalo.NewLimiter(storeRateLimit(sc), sc.BackgroundShare)
			s.sharing.shareLimiter(sc.Name, key, lim.PerMinute(), lim.BackgroundShare(), lim)
			limiters[key] = lim
		}
		client, err := whatalo.NewClient(key,
			whatalo.WithBaseURL(sc.BaseURL),
			whatalo.WithLimiter(lim),
			whatalo.WithLogger(log.With("store", sc.Name)),
			whatalo.WithObserver(s.metrics.storeObserver(sc.Name)),
		)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", sc.Name, err)
		}
		s.clients[sc.Name] = client
		opts := backendOptions(cfg, sc, log, s.metrics)
		name := sc.Name
		opts.OnChange = func() {
			if ts := s.answers.Load(); ts != nil {
				ts.Forget(name)
			}
		}
		s.sharing.shareBackend(&opts, sc)
		b := adapter.New(client, opts)
		s.sharing.watch(sc.Name, b)
		s.backends[sc.Name] = b
		s.stores = append(s.stores, sc.Name)
		tokens := make([]string, 0, len(sc.Tokens))
		for _, t := range sc.Tokens {
			tokens = append(tokens, t.Value())
		}
		tenants = append(tenants, wazion.Tenant{
			Name: sc.Name, Tokens: tokens, TokenHeader: sc.TokenHeader, Language: sc.LabelLanguage, Backend: b,
			RateLimit: max(0, cfg.Server.TokenRate), RateBurst: cfg.Server.TokenBurst,
			AnswerTTL: max(0, cfg.Server.AnswerTTL),
		})
	}
	if s.tenants, err = wazion.NewTenants(tenants); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	s.answers.Store(s.tenants)
	s.metrics.watchIndexState(s.stores, func(store string) string {
		return s.backends[store].IndexStatus().State
	})
	s.sharing.register(s.metrics.reg)
	s.wazion = wazion.NewServer(s.tenants, wazion.Options{
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
func (s *service) Start(ctx context.Context) {
	ctx, s.stopBackground = context.WithCancel(ctx)
	for _, name := range s.stores {
		b := s.backends[name]
		s.background.Go(func() { b.Run(ctx) })
	}
}

// Close stops the background work, waits for it to end, and releases every
// backend.
func (s *service) Close() {
	if s.stopBackground != nil {
		s.stopBackground()
	}
	s.background.Wait()
	for _, b := range s.backends {
		b.Close()
	}
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
