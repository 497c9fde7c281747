package whatalotest

import (
	"strings"
	"time"
)

// DefaultAPIKey is the key a Fake accepts when no WithAPIKeys is given. It
// is a test key of the fake, not a secret.
const DefaultAPIKey = "wk_test_demo"

// Scopes the fake knows. A key has all of them unless limited with
// WithKeyScopes; a write scope does not include the matching read scope.
const (
	ScopeReadCustomers  = "read:customers"
	ScopeWriteCustomers = "write:customers"
	ScopeReadOrders     = "read:orders"
	ScopeWriteOrders    = "write:orders"
	ScopeReadProducts   = "read:products"
	ScopeReadStore      = "read:store"
	ScopeReadWebhooks   = "read:webhooks"
	ScopeWriteWebhooks  = "write:webhooks"
)

// Option configures a Fake.
type Option func(*config)

type config struct {
	keys      []string
	scopes    map[string]map[string]bool // key -> allowed scopes; absent = all
	rateLimit int                        // 0: by key prefix
	window    time.Duration
	latency   time.Duration
}

func newConfig(opts []Option) config {
	cfg := config{window: time.Minute, scopes: map[string]map[string]bool{}}
	var scoped []string
	for _, opt := range opts {
		opt(&cfg)
	}
	for k := range cfg.scopes {
		scoped = append(scoped, k)
	}
	if len(cfg.keys) == 0 {
		cfg.keys = []string{DefaultAPIKey}
	}
	for _, k := range scoped {
		if !cfg.hasKey(k) {
			cfg.keys = append(cfg.keys, k)
		}
	}
	if cfg.window <= 0 {
		cfg.window = time.Minute
	}
	return cfg
}

func (c *config) hasKey(key string) bool {
	for _, k := range c.keys {
		if k == key {
			return true
		}
	}
	return false
}

// limitFor is the per-window request limit of key: the WithRateLimit value,
// else Whatalo's by prefix (live 1,000, test 100 per minute).
func (c *config) limitFor(key string) int {
	if c.rateLimit > 0 {
		return c.rateLimit
	}
	if strings.HasPrefix(key, "wk_live_") {
		return 1000
	}
	return 100
}

// WithAPIKeys sets the keys the fake accepts; the first is Server.APIKey.
// Default: DefaultAPIKey.
func WithAPIKeys(keys ...string) Option {
	return func(c *config) {
		for _, k := range keys {
			if k != "" && !c.hasKey(k) {
				c.keys = append(c.keys, k)
			}
		}
	}
}

// WithKeyScopes limits key to scopes (other keys keep every scope). The key
// is accepted even if WithAPIKeys does not list it.
func WithKeyScopes(key string, scopes ...string) Option {
	return func(c *config) {
		set := map[string]bool{}
		for _, s := range scopes {
			set[s] = true
		}
		c.scopes[key] = set
	}
}

// WithRateLimit sets the requests each key may make per window. Default:
// 1,000 for wk_live_ keys and 100 for others, as Whatalo documents.
func WithRateLimit(perWindow int) Option {
	return func(c *config) { c.rateLimit = perWindow }
}

// WithWindow sets the rate-limit window (default one minute), so tests can
// compress time instead of sleeping.
func WithWindow(d time.Duration) Option {
	return func(c *config) { c.window = d }
}

// WithLatency adds d to every /v1 response, as a distant API would.
func WithLatency(d time.Duration) Option {
	return func(c *config) { c.latency = d }
}
