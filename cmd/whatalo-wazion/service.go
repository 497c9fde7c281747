package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
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
	tenants  *wazion.Tenants
	backends map[string]*adapter.Backend
	stores   []string // names in configuration order
}

// newService builds every part from the configuration. It makes no
// network call: stores are probed by the background work and /readyz.
func newService(cfg *config.Config, log *slog.Logger) (*service, error) {
	s := &service{cfg: cfg, log: log, backends: map[string]*adapter.Backend{}}
	adapter.WarmPhoneMetadata()
	// Stores that share an API key share its limiter: the rate limit is
	// Whatalo's per key, not per store entry.
	limiters := map[string]*whatalo.Limiter{}
	var tenants []wazion.Tenant
	for _, sc := range cfg.Stores {
		key := sc.APIKey.Value()
		lim, ok := limiters[key]
		if !ok {
			perMinute := sc.RateLimit
			if perMinute == 0 {
				perMinute = whatalo.DefaultRateLimit(key)
			}
			lim = whatalo.NewLimiter(perMinute, sc.BackgroundShare)
			limiters[key] = lim
		}
		client, err := whatalo.NewClient(key,
			whatalo.WithBaseURL(sc.BaseURL),
			whatalo.WithLimiter(lim),
			whatalo.WithLogger(log.With("store", sc.Name)),
		)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", sc.Name, err)
		}
		b := adapter.New(client, backendOptions(cfg, sc, log))
		s.backends[sc.Name] = b
		s.stores = append(s.stores, sc.Name)
		tokens := make([]string, 0, len(sc.Tokens))
		for _, t := range sc.Tokens {
			tokens = append(tokens, t.Value())
		}
		tenants = append(tenants, wazion.Tenant{
			Name: sc.Name, Tokens: tokens, TokenHeader: sc.TokenHeader, Language: sc.LabelLanguage, Backend: b,
		})
	}
	var err error
	if s.tenants, err = wazion.NewTenants(tenants); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	s.app = fiber.New(fiberConfig(cfg, s.errorHandler))
	s.routes()
	return s, nil
}

// backendOptions maps a store's configuration to the adapter's options.
func backendOptions(cfg *config.Config, sc config.Store, log *slog.Logger) adapter.Options {
	locales := make([]adapter.LocaleRule, 0, len(sc.Locales))
	for _, l := range sc.Locales {
		locales = append(locales, adapter.LocaleRule{
			Countries: l.Countries, Locale: l.Locale, Domain: l.Domain, PathPrefix: l.PathPrefix, Query: l.Query,
		})
	}
	urls := adapter.DefaultURLTemplates()
	for dst, src := range map[*string]string{
		&urls.Customer: sc.URLs.Customer, &urls.Order: sc.URLs.Order,
		&urls.Product: sc.URLs.Product, &urls.Variant: sc.URLs.Variant,
	} {
		if src != "" {
			*dst = src
		}
	}
	return adapter.Options{
		Name:            sc.Name,
		Region:          sc.Region,
		Language:        sc.LabelLanguage,
		URLs:            urls,
		Locales:         locales,
		OrdersCount:     sc.Orders.Count,
		OrdersWithItems: sc.Orders.WithItems,
		State: adapter.StateRules{
			NewOrdersDays: sc.State.NewOrdersDays, RecentOrdersDays: sc.State.RecentOrdersDays,
			ConflictWindow: sc.State.ConflictWindow, ConflictMin: sc.State.ConflictMin,
		},
		AIInfoMax:    sc.AIInfoMax,
		MoneyDivisor: sc.MoneyDivisor,
		Cache: adapter.CacheOptions{
			Disabled: cfg.Cache.Disabled,
			TTL: map[string]time.Duration{
				adapter.KindStore:          cfg.Cache.Store,
				adapter.KindCustomer:       cfg.Cache.Customers,
				adapter.KindPhone:          cfg.Cache.Customers,
				adapter.KindEmail:          cfg.Cache.Customers,
				adapter.KindOrders:         cfg.Cache.Orders,
				adapter.KindOrder:          cfg.Cache.Orders,
				adapter.KindProducts:       cfg.Cache.Products,
				adapter.KindCustomerSearch: cfg.Cache.Searches,
				adapter.KindOrderSearch:    cfg.Cache.Searches,
			},
			NegativeTTL: cfg.Cache.Negative,
			MaxStale:    cfg.Cache.MaxStale,
			MaxEntries:  cfg.Cache.MaxEntries,
		},
		Logger: log,
	}
}

// Start begins each store's background work.
func (s *service) Start(ctx context.Context) {}

// Close releases every backend.
func (s *service) Close() {
	for _, b := range s.backends {
		b.Close()
	}
}

// routes lists every route of the service.
func (s *service) routes() {
	s.app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	wazion.Register(s.app, s.tenants, wazion.Options{
		BodyLimit: s.cfg.Server.BodyLimit,
		Margin:    s.cfg.Server.Margin,
		Logger:    s.log,
	})
}

// errorHandler answers errors raised outside the handlers (an oversized
// body, an unknown route). WAzion routes still get HTTP 200 and JSON with an
// error field, because WAzion counts any other answer against the store.
func (s *service) errorHandler(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code = fe.Code
	}
	msg := strings.ToLower(fiber.ErrInternalServerError.Message)
	if fe != nil {
		msg = strings.ToLower(fe.Message)
	}
	if strings.HasPrefix(c.Path(), "/wazion/") {
		if code == fiber.StatusRequestEntityTooLarge {
			msg = "request body too large"
		}
		return c.Status(fiber.StatusOK).JSON(fiber.Map{"found": false, "error": msg})
	}
	return c.Status(code).JSON(fiber.Map{"error": msg})
}
