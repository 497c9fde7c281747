package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/redisshare"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/wazion/console"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// DefaultStoreName is the name of the store configured from environment
// variables; its webhook URL is /webhooks/whatalo/default.
const DefaultStoreName = "default"

// Config is the whole configuration.
type Config struct {
	Listen      string  `yaml:"listen"`
	TLSCertFile string  `yaml:"tls_cert_file"`
	TLSKeyFile  string  `yaml:"tls_key_file"`
	LogLevel    string  `yaml:"log_level"`
	Server      Server  `yaml:"server"`
	Cache       Cache   `yaml:"cache"`
	Index       Index   `yaml:"index"`
	Redis       Redis   `yaml:"redis"`
	Console     Console `yaml:"console"`
	Metrics     Metrics `yaml:"metrics"`
	Stores      []Store `yaml:"stores"`
	// Source is where the configuration came from ("environment" or the
	// file path), for messages.
	Source string `yaml:"-"`
}

// Server holds the WAzion-facing limits.
type Server struct {
	// Margin is taken off WAzion's budgets (5 s globalSearch, 10 s others)
	// to get the service's own deadline.
	Margin time.Duration `yaml:"margin"`
	// BodyLimit caps WAzion request bodies, in bytes.
	BodyLimit int `yaml:"body_limit"`
	// ReadTimeout, WriteTimeout and IdleTimeout bound each connection.
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	IdleTimeout  time.Duration `yaml:"idle_timeout"`
	// Concurrency caps simultaneous connections; past it a connection
	// gets WAzion's JSON busy answer.
	Concurrency int `yaml:"concurrency"`
	// MaxConnsPerIP caps simultaneous connections from one client
	// address, so that one address cannot take every slot; negative
	// disables the cap. Behind a proxy or load balancer every connection
	// comes from its address: disable the cap there (or set it above the
	// proxy's pool) and let the proxy cap per client.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
	// HeaderTimeout bounds reading a request's line and headers;
	// ReadTimeout then bounds its body. A connection that sends nothing
	// useful holds its slot this long at most.
	HeaderTimeout time.Duration `yaml:"header_timeout"`
	// AdminListen, when set, is a second address serving /healthz, /readyz
	// and /metrics on connections of their own, so that health checks
	// answer even when the main listener's slots are all taken.
	AdminListen string `yaml:"admin_listen"`
	// ShutdownTimeout bounds the drain of in-flight requests on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// TokenRate bounds the WAzion requests per second each token may make
	// (bursts up to TokenBurst), so a flood from one caller is refused
	// without touching Whatalo; it counts requests, not their upstream
	// cost. Negative disables the bound.
	TokenRate  float64 `yaml:"token_rate"`
	TokenBurst int     `yaml:"token_burst"`
	// AnswerTTL keeps each error-free WAzion answer this long and sends it
	// again to the same request of the same store; a webhook drops them.
	// Negative keeps none.
	AnswerTTL time.Duration `yaml:"answer_ttl"`
}

// Cache holds the fresh TTL per kind of data, how long stale data may still
// be served, and the size cap.
type Cache struct {
	Disabled  bool          `yaml:"disabled"`
	Store     time.Duration `yaml:"store"`
	Customers time.Duration `yaml:"customers"`
	Orders    time.Duration `yaml:"orders"`
	// OrdersWatched is the fresh TTL of order lists while the order feed
	// reports changes; OrderDetails that of an order's details, kept per
	// version (updated_at).
	OrdersWatched time.Duration `yaml:"orders_watched"`
	OrderDetails  time.Duration `yaml:"order_details"`
	Products      time.Duration `yaml:"products"`
	Searches      time.Duration `yaml:"searches"`
	Negative      time.Duration `yaml:"negative"`
	MaxStale      time.Duration `yaml:"max_stale"`
	MaxEntries    int           `yaml:"max_entries"`
}

// Index holds the phone index's sync intervals.
type Index struct {
	Disabled        bool          `yaml:"disabled"`
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	RebuildInterval time.Duration `yaml:"rebuild_interval"`
	// StartupConcurrency bounds the stores whose first index build runs at
	// once, so that a process of many stores does not start them all
	// together; the others wait their turn in configuration order. Zero
	// means 4 per CPU (GOMAXPROCS).
	StartupConcurrency int `yaml:"startup_concurrency"`
}

// Metrics shapes /metrics.
type Metrics struct {
	// PerStore puts the store label on every series. Unset, it is on for
	// up to 50 stores; past that, only the index series and
	// store_errors_total are per store and the rest are summed over the
	// stores, so that one target carries a bounded number of series.
	PerStore *bool `yaml:"per_store"`
}

// Redis connects several replicas of the service, so that they share one
// upstream budget per API key, one cache and one view of webhooks. Without
// a URL the service runs alone and needs no Redis.
type Redis struct {
	// URL is redis://[user:password@]host:port[/db], or rediss:// for TLS.
	URL Secret `yaml:"url"`
	// ExpectedReplicas is how many replicas share the stores' API keys.
	// While Redis cannot be reached, each replica allows itself
	// rate_limit / expected_replicas, so that together they stay under it.
	ExpectedReplicas int `yaml:"expected_replicas"`
	// KeyPrefix starts every Redis key, so deployments can share a Redis.
	KeyPrefix string `yaml:"key_prefix"`
	// Timeout bounds each Redis call made while WAzion waits.
	Timeout time.Duration `yaml:"timeout"`
}

// Enabled reports whether a Redis is configured.
func (r Redis) Enabled() bool { return r.URL != "" }

// Console is the store owner's web console at /console/. It is off unless
// enabled. The operator signs in with Password and sees every store; a
// store owner signs in with the store's name and one of its WAzion tokens
// and sees that store alone.
type Console struct {
	Enabled bool `yaml:"enabled"`
	// Password is the operator's password; empty takes CONSOLE_PASSWORD
	// from the environment, and without either only store owners sign in.
	Password Secret `yaml:"password"`
	// PublicURL is the address WAzion and Whatalo reach the service at,
	// for the URLs the console shows; empty uses the address the browser
	// opened the console at.
	PublicURL string `yaml:"public_url"`
	// SessionTTL is how long a sign-in lasts.
	SessionTTL time.Duration `yaml:"session_ttl"`
}

// MinConsolePassword is the shortest operator password accepted: the
// password opens every store, and sign-ins are only rate limited per
// client address.
const MinConsolePassword = 12

// Store is one Whatalo store served to WAzion.
type Store struct {
	Name          string   `yaml:"name"`
	APIKey        Secret   `yaml:"api_key"`
	BaseURL       string   `yaml:"base_url"`
	Tokens        []Secret `yaml:"tokens"`
	TokenHeader   string   `yaml:"token_header"`
	Region        string   `yaml:"region"`
	LabelLanguage string   `yaml:"label_language"`
	// RateLimit is the requests per minute the service allows itself on this
	// store's key; 0 means 90 % of the key's documented limit.
	RateLimit int `yaml:"rate_limit"`
	// BackgroundShare is the part of RateLimit the background index sync
	// may use.
	BackgroundShare float64 `yaml:"background_share"`
	// TokenShare is the part of RateLimit the Whatalo calls made for one
	// WAzion token may use; past it that token is answered from the cache
	// or with an error while the store's other tokens go on.
	TokenShare    float64 `yaml:"token_share"`
	WebhookSecret Secret  `yaml:"webhook_secret"`
	// MoneyDivisor divides every amount Whatalo sends; 1 (major units) unless
	// a store proves to send minor units (100).
	MoneyDivisor int          `yaml:"money_divisor"`
	URLs         URLTemplates `yaml:"urls"`
	Locales      []LocaleRule `yaml:"locales"`
	Orders       OrderOptions `yaml:"orders"`
	State        StateRules   `yaml:"state"`
	AIInfoMax    int          `yaml:"ai_info_max_chars"`
	// InternalNotes is where orders' internal notes are shown: panel
	// (marked as internal, the default), none, or panel_and_ai.
	InternalNotes string `yaml:"internal_notes"`
}

// URLTemplates build links into the store; see the README for placeholders.
type URLTemplates struct {
	Customer string `yaml:"customer"`
	Order    string `yaml:"order"`
	Product  string `yaml:"product"`
	Variant  string `yaml:"variant"`
}

// LocaleRule localises product URLs for customers of some countries.
type LocaleRule struct {
	Countries  []string `yaml:"countries"`
	Locale     string   `yaml:"locale"`
	Domain     string   `yaml:"domain"`
	PathPrefix string   `yaml:"path_prefix"`
	Query      string   `yaml:"query"`
}

// OrderOptions bound the orders shown per customer.
type OrderOptions struct {
	Count     int `yaml:"count"`
	WithItems int `yaml:"with_items"`
}

// StateRules are the thresholds of the customer state.
type StateRules struct {
	NewOrdersDays    int `yaml:"new_orders_days"`
	RecentOrdersDays int `yaml:"recent_orders_days"`
	ConflictWindow   int `yaml:"conflict_window"`
	ConflictMin      int `yaml:"conflict_min"`
}

// Defaults of the settings only the service has. A setting that a package
// also defaults for its own callers takes that package's default instead
// (see applyDefaults), so no default is written twice.
const (
	DefaultListen    = ":8080"
	DefaultAnswerTTL = time.Second
	// DefaultMaxConnsPerIP leaves room for a WAzion backend's pool of
	// keep-alive connections while one address takes at most a sixteenth
	// of the default 4096 slots.
	DefaultMaxConnsPerIP = 256
	DefaultHeaderTimeout = 5 * time.Second

	DefaultRedisReplicas = 2
	// DefaultConsoleSessionTTL is how long a console sign-in lasts.
	DefaultConsoleSessionTTL = console.DefaultSessionTTL
)

// FromEnv builds a one-store configuration from environment variables.
func FromEnv(getenv func(string) string) (*Config, error) {
	c := &Config{Source: "environment"}
	c.applyProcessEnv(getenv)
	s := Store{
		Name:          DefaultStoreName,
		APIKey:        Secret(getenv("WHATALO_API_KEY")),
		BaseURL:       getenv("WHATALO_BASE_URL"),
		TokenHeader:   getenv("WAZION_TOKEN_HEADER"),
		Region:        getenv("DEFAULT_REGION"),
		LabelLanguage: getenv("LABEL_LANGUAGE"),
		InternalNotes: getenv("INTERNAL_NOTES"),
		WebhookSecret: Secret(getenv("WHATALO_WEBHOOK_SECRET")),
		URLs: URLTemplates{
			Customer: getenv("CUSTOMER_URL_TEMPLATE"),
			Order:    getenv("ORDER_URL_TEMPLATE"),
			Product:  getenv("PRODUCT_URL_TEMPLATE"),
		},
	}
	for _, t := range strings.Split(getenv("WAZION_TOKEN"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			s.Tokens = append(s.Tokens, Secret(t))
		}
	}
	var err error
	if s.RateLimit, err = envInt(getenv, "WHATALO_RATE_LIMIT"); err != nil {
		return nil, err
	}
	if s.TokenShare, err = envShare(getenv, "WHATALO_TOKEN_SHARE"); err != nil {
		return nil, err
	}
	if c.Server.Margin, err = envDuration(getenv, "WAZION_MARGIN"); err != nil {
		return nil, err
	}
	if c.Server.AnswerTTL, err = envDuration(getenv, "WAZION_ANSWER_TTL"); err != nil {
		return nil, err
	}
	if c.Server.MaxConnsPerIP, err = envInt(getenv, "MAX_CONNS_PER_IP"); err != nil {
		return nil, err
	}
	if c.Server.MaxConnsPerIP == 0 && strings.TrimSpace(getenv("MAX_CONNS_PER_IP")) != "" {
		c.Server.MaxConnsPerIP = -1 // 0 in the environment: no cap
	}
	c.Redis.URL = Secret(strings.TrimSpace(getenv("REDIS_URL")))
	if c.Redis.ExpectedReplicas, err = envInt(getenv, "REDIS_EXPECTED_REPLICAS"); err != nil {
		return nil, err
	}
	c.Console.Password = Secret(getenv("CONSOLE_PASSWORD"))
	switch v := strings.ToLower(strings.TrimSpace(getenv("CONSOLE_ENABLED"))); v {
	case "":
		// A password alone is enough to ask for the console.
		c.Console.Enabled = c.Console.Password != ""
	case "true", "1", "yes":
		c.Console.Enabled = true
	case "false", "0", "no":
	default:
		return nil, fmt.Errorf("CONSOLE_ENABLED: %q is not true or false", v)
	}
	c.Console.PublicURL = strings.TrimSpace(getenv("CONSOLE_PUBLIC_URL"))
	if c.Console.SessionTTL, err = envDuration(getenv, "CONSOLE_SESSION_TTL"); err != nil {
		return nil, err
	}
	c.Stores = []Store{s}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func envInt(getenv func(string) string, name string) (int, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: %q is not a non-negative whole number", name, v)
	}
	return n, nil
}

// envShare reads a share of a budget; its range is checked by Validate.
func envShare(getenv func(string) string, name string) (float64, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || f > 1 {
		return 0, fmt.Errorf("%s: %q is not a share such as 0.33, above 0 and at most 1", name, v)
	}
	return f, nil
}

func envDuration(getenv func(string) string, name string) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %q is not a duration such as 750ms", name, v)
	}
	return d, nil
}

// Load reads a YAML file of one or many stores. ${VAR} in secrets is
// replaced with the variable's value.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := parse(data, getenv, path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// processEnv are the settings of the process rather than of a store: the
// environment wins over the file for them, so that a container, its
// health check and the service agree on where it listens whatever the
// file says.
var processEnv = []struct {
	name string
	get  func(*Config) *string
}{
	{"LISTEN_ADDR", func(c *Config) *string { return &c.Listen }},
	{"TLS_CERT_FILE", func(c *Config) *string { return &c.TLSCertFile }},
	{"TLS_KEY_FILE", func(c *Config) *string { return &c.TLSKeyFile }},
	{"LOG_LEVEL", func(c *Config) *string { return &c.LogLevel }},
	{"ADMIN_LISTEN_ADDR", func(c *Config) *string { return &c.Server.AdminListen }},
}

func (c *Config) applyProcessEnv(getenv func(string) string) {
	for _, e := range processEnv {
		if v := strings.TrimSpace(getenv(e.name)); v != "" {
			*e.get(c) = v
		}
	}
}

// Endpoint is where a configured service listens and whether it serves
// TLS: what its health check must probe.
type Endpoint struct {
	Listen string
	TLS    bool
}

// ReadEndpoint finds the listen address and TLS setting the service would
// use with this file (empty path: the environment alone), by the same
// precedence as Load and FromEnv, without needing the stores' secrets.
func ReadEndpoint(path string, getenv func(string) string) (Endpoint, error) {
	c := &Config{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Endpoint{}, fmt.Errorf("read config: %w", err)
		}
		var top struct {
			Listen      string `yaml:"listen"`
			TLSCertFile string `yaml:"tls_cert_file"`
		}
		if err := yaml.Unmarshal(data, &top); err != nil {
			return Endpoint{}, fmt.Errorf("config %s: %w", path, syntaxError(err, data))
		}
		c.Listen, c.TLSCertFile = top.Listen, top.TLSCertFile
	}
	c.applyProcessEnv(getenv)
	def(&c.Listen, DefaultListen)
	return Endpoint{Listen: c.Listen, TLS: c.TLSCertFile != ""}, nil
}

// Parse decodes YAML configuration; unknown fields are errors so typos are
// caught at start. The process settings of processEnv set in the
// environment win over the file's.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	return parse(data, getenv, "yaml")
}

func parse(data []byte, getenv func(string) string, source string) (*Config, error) {
	c := &Config{Source: source}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(err, data)
	}
	if err := checkYAML(&doc); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	var err error
	if c.Redis.URL, err = expand(c.Redis.URL, getenv, "redis.url"); err != nil {
		return nil, err
	}
	if c.Console.Password, err = expand(c.Console.Password, getenv, "console.password"); err != nil {
		return nil, err
	}
	if c.Console.Enabled && c.Console.Password == "" {
		c.Console.Password = Secret(getenv("CONSOLE_PASSWORD"))
	}
	for i := range c.Stores {
		s := &c.Stores[i]
		var err error
		field := func(f string) string { return fmt.Sprintf("stores[%d].%s", i, f) }
		if s.APIKey, err = expand(s.APIKey, getenv, field("api_key")); err != nil {
			return nil, err
		}
		if s.WebhookSecret, err = expand(s.WebhookSecret, getenv, field("webhook_secret")); err != nil {
			return nil, err
		}
		for j := range s.Tokens {
			if s.Tokens[j], err = expand(s.Tokens[j], getenv, field(fmt.Sprintf("tokens[%d]", j))); err != nil {
				return nil, err
			}
		}
	}
	c.applyProcessEnv(getenv)
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func expand(s Secret, getenv func(string) string, field string) (Secret, error) {
	var missing string
	out := envRef.ReplaceAllStringFunc(string(s), func(m string) string {
		name := envRef.FindStringSubmatch(m)[1]
		v := getenv(name)
		if v == "" && missing == "" {
			missing = name
		}
		return v
	})
	if missing != "" {
		return "", fmt.Errorf("%s: environment variable %s is not set", field, missing)
	}
	return Secret(out), nil
}

// applyDefaults fills unset fields. Where the package that owns a behaviour
// has a default for it (whatalo the API and the background share, wazion
// WAzion's side, adapter the answers and the index, adapter/cache the
// cache, redisshare Redis), that default is used.
func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	sv := &c.Server
	def(&sv.Margin, wazion.DefaultMargin)
	def(&sv.BodyLimit, wazion.DefaultBodyLimit)
	def(&sv.ReadTimeout, 10*time.Second)
	def(&sv.WriteTimeout, 15*time.Second)
	def(&sv.IdleTimeout, 90*time.Second)
	def(&sv.Concurrency, 4096)
	def(&sv.MaxConnsPerIP, DefaultMaxConnsPerIP)
	def(&sv.HeaderTimeout, min(DefaultHeaderTimeout, sv.ReadTimeout))
	def(&sv.ShutdownTimeout, 15*time.Second)
	def(&sv.TokenRate, 50)
	def(&sv.TokenBurst, 100)
	def(&sv.AnswerTTL, DefaultAnswerTTL)
	ca := &c.Cache
	def(&ca.Store, time.Hour)
	def(&ca.Customers, 5*time.Minute)
	def(&ca.Orders, 60*time.Second)
	def(&ca.OrdersWatched, cache.DefaultWatchedOrdersTTL)
	def(&ca.OrderDetails, cache.DefaultOrderVersionTTL)
	def(&ca.Products, 5*time.Minute)
	def(&ca.Searches, 60*time.Second)
	def(&ca.Negative, cache.DefaultNegativeTTL)
	def(&ca.MaxStale, cache.DefaultMaxStale)
	def(&ca.MaxEntries, cache.DefaultMaxEntries)
	def(&c.Index.RefreshInterval, adapter.DefaultIndexRefresh)
	def(&c.Index.RebuildInterval, adapter.DefaultIndexRebuild)
	def(&c.Redis.ExpectedReplicas, DefaultRedisReplicas)
	def(&c.Redis.KeyPrefix, redisshare.DefaultKeyPrefix)
	def(&c.Redis.Timeout, redisshare.DefaultTimeout)
	def(&c.Console.SessionTTL, DefaultConsoleSessionTTL)
	for i := range c.Stores {
		s := &c.Stores[i]
		def(&s.BaseURL, whatalo.DefaultBaseURL)
		def(&s.LabelLanguage, wazion.DefaultLanguage)
		def(&s.MoneyDivisor, adapter.DefaultMoneyDivisor)
		def(&s.BackgroundShare, whatalo.DefaultBackgroundShare)
		def(&s.TokenShare, adapter.DefaultTokenShare)
		def(&s.Orders.Count, adapter.DefaultOrdersCount)
		def(&s.Orders.WithItems, adapter.DefaultOrdersWithItems)
		def(&s.AIInfoMax, adapter.DefaultAIInfoMax)
		def(&s.InternalNotes, string(adapter.InternalNotesPanel))
		s.Region = strings.ToUpper(strings.TrimSpace(s.Region))
		s.LabelLanguage = strings.ToLower(strings.TrimSpace(s.LabelLanguage))
	}
}

func def[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

var (
	storeName  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	regionCode = regexp.MustCompile(`^[A-Z]{2}$`)
)

// Validate checks every field and reports all problems, each naming its
// field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad("tls_cert_file/tls_key_file", "set both or neither")
	}
	if c.Server.BodyLimit < 1024 {
		bad("server.body_limit", "must be at least 1024 bytes")
	}
	if c.Server.HeaderTimeout > c.Server.ReadTimeout {
		bad("server.header_timeout", "must not exceed server.read_timeout")
	}
	if c.Server.AdminListen != "" && c.Server.AdminListen == c.Listen {
		bad("server.admin_listen", "must differ from listen")
	}
	if c.Server.Margin >= 5*time.Second {
		bad("server.margin", "must be under the 5 s globalSearch budget")
	}
	if c.Server.AnswerTTL > time.Minute {
		field := "server.answer_ttl"
		if c.Source == "environment" {
			field = "WAZION_ANSWER_TTL"
		}
		bad(field, "must be at most 1m: answers kept longer hide changes that no webhook reports")
	}
	if c.Cache.MaxEntries < 0 {
		bad("cache.max_entries", "must not be negative")
	}
	if c.Index.StartupConcurrency < 0 {
		bad("index.startup_concurrency", "must not be negative")
	}
	c.validateRedis(bad)
	c.validateConsole(bad)
	if len(c.Stores) == 0 {
		bad("stores", "at least one store is required")
	}
	names := map[string]bool{}
	tokens := map[Secret]string{}
	for i, s := range c.Stores {
		field := func(f string) string {
			if c.Source == "environment" {
				if n, ok := envName[strings.SplitN(f, "[", 2)[0]]; ok {
					return n
				}
			}
			return fmt.Sprintf("stores[%d].%s", i, f)
		}
		switch {
		case !storeName.MatchString(s.Name):
			bad(field("name"), "%q must be lowercase letters, digits, '-' or '_'", s.Name)
		case names[s.Name]:
			bad(field("name"), "%q is used by two stores", s.Name)
		}
		names[s.Name] = true
		key := s.APIKey.Value()
		switch {
		case key == "":
			bad(field("api_key"), "required (a Whatalo API key, wk_live_… or wk_test_…)")
		case strings.ContainsAny(key, " \t\r\n"):
			bad(field("api_key"), "contains whitespace")
		case !strings.HasPrefix(key, "wk_live_") && !strings.HasPrefix(key, "wk_test_"):
			bad(field("api_key"), "does not start with wk_live_ or wk_test_")
		}
		if u, err := url.Parse(s.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(field("base_url"), "%q is not an http(s) URL", s.BaseURL)
		}
		if len(s.Tokens) == 0 {
			bad(field("tokens"), "at least one WAzion token is required")
		}
		for j, t := range s.Tokens {
			switch {
			case len(t.Value()) < 8:
				bad(field(fmt.Sprintf("tokens[%d]", j)), "must be at least 8 characters")
			case tokens[t] != "" && tokens[t] != s.Name:
				bad(field(fmt.Sprintf("tokens[%d]", j)), "is also a token of store %q; tokens select the store", tokens[t])
			}
			tokens[t] = s.Name
		}
		if s.TokenHeader != "" && !validHeader(s.TokenHeader) {
			bad(field("token_header"), "%q is not a valid header name", s.TokenHeader)
		}
		if s.Region != "" && !regionCode.MatchString(s.Region) {
			bad(field("region"), "%q is not a two-letter country code such as DO", s.Region)
		}
		if langs := wazion.SupportedLanguages(); !slices.Contains(langs, s.LabelLanguage) {
			bad(field("label_language"), "%q is not one of %s", s.LabelLanguage, strings.Join(langs, ", "))
		}
		if s.RateLimit < 0 {
			bad(field("rate_limit"), "must not be negative")
		}
		if s.BackgroundShare <= 0 || s.BackgroundShare > 1 {
			bad(field("background_share"), "must be in (0, 1]")
		}
		if s.TokenShare <= 0 || s.TokenShare > 1 {
			bad(field("token_share"), "must be in (0, 1] (1: a token may use the whole rate_limit)")
		}
		if s.MoneyDivisor != 1 && s.MoneyDivisor != 100 && s.MoneyDivisor != 1000 {
			bad(field("money_divisor"), "must be 1, 100 or 1000")
		}
		if s.Orders.Count < 1 || s.Orders.Count > 50 {
			bad(field("orders.count"), "must be between 1 and 50")
		}
		if s.Orders.WithItems < 0 || s.Orders.WithItems > s.Orders.Count {
			bad(field("orders.with_items"), "must be between 0 and orders.count")
		}
		switch s.InternalNotes {
		case string(adapter.InternalNotesPanel), string(adapter.InternalNotesNone), string(adapter.InternalNotesPanelAndAI):
		default:
			bad(field("internal_notes"), "%q is not panel, none or panel_and_ai", s.InternalNotes)
		}
		if s.AIInfoMax < 200 {
			bad(field("ai_info_max_chars"), "must be at least 200")
		}
		for _, u := range []struct {
			field, tmpl string
			allowed     []string
		}{
			{"urls.customer", s.URLs.Customer, []string{"{store_url}", "{id}"}},
			{"urls.order", s.URLs.Order, []string{"{store_url}", "{id}", "{number}"}},
			{"urls.product", s.URLs.Product, []string{"{store_url}", "{id}", "{slug}"}},
			{"urls.variant", s.URLs.Variant, []string{"{product_url}", "{variant_id}"}},
		} {
			if p := unknownPlaceholder(u.tmpl, u.allowed); p != "" {
				bad(field(u.field), "unknown placeholder %s; %s may use %s", p, u.field, strings.Join(u.allowed, ", "))
			}
		}
		for j, l := range s.Locales {
			if len(l.Countries) == 0 {
				bad(field(fmt.Sprintf("locales[%d].countries", j)), "required")
			}
			if l.Domain != "" {
				if u, err := url.Parse(l.Domain); err != nil || u.Host == "" {
					bad(field(fmt.Sprintf("locales[%d].domain", j)), "%q is not a URL such as https://shop.es", l.Domain)
				}
			}
		}
	}
	return errors.Join(errs...)
}

var envName = map[string]string{
	"name":           "store name",
	"api_key":        "WHATALO_API_KEY",
	"base_url":       "WHATALO_BASE_URL",
	"tokens":         "WAZION_TOKEN",
	"token_header":   "WAZION_TOKEN_HEADER",
	"region":         "DEFAULT_REGION",
	"label_language": "LABEL_LANGUAGE",
	"rate_limit":     "WHATALO_RATE_LIMIT",
	"token_share":    "WHATALO_TOKEN_SHARE",
	"webhook_secret": "WHATALO_WEBHOOK_SECRET",
	"internal_notes": "INTERNAL_NOTES",
	"urls.customer":  "CUSTOMER_URL_TEMPLATE",
	"urls.order":     "ORDER_URL_TEMPLATE",
	"urls.product":   "PRODUCT_URL_TEMPLATE",
}

// validateRedis checks the redis section. The URL may hold a password, so
// no message quotes it.
func (c *Config) validateRedis(bad func(field, format string, a ...any)) {
	r := c.Redis
	name := func(yamlField, env string) string {
		if c.Source == "environment" && env != "" {
			return env
		}
		return "redis." + yamlField
	}
	if r.URL != "" {
		u, err := url.Parse(r.URL.Value())
		switch {
		case err != nil:
			bad(name("url", "REDIS_URL"), "is not a URL such as redis://host:6379/0")
		case u.Scheme != "redis" && u.Scheme != "rediss":
			bad(name("url", "REDIS_URL"), "must start with redis:// or rediss://")
		case u.Host == "":
			bad(name("url", "REDIS_URL"), "names no host, as in redis://host:6379/0")
		}
	}
	if r.ExpectedReplicas < 1 || r.ExpectedReplicas > 1000 {
		bad(name("expected_replicas", "REDIS_EXPECTED_REPLICAS"), "must be between 1 and 1000")
	}
	if strings.ContainsAny(r.KeyPrefix, " \t\r\n") {
		bad(name("key_prefix", ""), "contains whitespace")
	}
	if r.Timeout < time.Millisecond || r.Timeout > time.Second {
		bad(name("timeout", ""), "must be between 1ms and 1s: WAzion's requests wait on it")
	}
}

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// unknownPlaceholder is the first {name} in tmpl that is not allowed.
func unknownPlaceholder(tmpl string, allowed []string) string {
	for _, p := range placeholder.FindAllString(tmpl, -1) {
		if !slices.Contains(allowed, p) {
			return p
		}
	}
	return ""
}

// validateConsole checks the console section; no message quotes the
// password.
func (c *Config) validateConsole(bad func(field, format string, a ...any)) {
	co := c.Console
	if !co.Enabled {
		return
	}
	name := func(yamlField, env string) string {
		if c.Source == "environment" {
			return env
		}
		return "console." + yamlField
	}
	if p := co.Password.Value(); p != "" && len([]rune(p)) < MinConsolePassword {
		bad(name("password", "CONSOLE_PASSWORD"), "must be at least %d characters", MinConsolePassword)
	}
	if co.PublicURL != "" {
		if u, err := url.Parse(co.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			bad(name("public_url", "CONSOLE_PUBLIC_URL"), "%q is not an http(s) URL such as https://crm.example.com", co.PublicURL)
		}
	}
	if co.SessionTTL < time.Minute || co.SessionTTL > 7*24*time.Hour {
		bad(name("session_ttl", "CONSOLE_SESSION_TTL"), "must be between 1m and 168h")
	}
}

func validHeader(h string) bool {
	for _, r := range h {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return h != ""
}
