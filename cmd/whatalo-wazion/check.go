package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

const checkUsage = `Usage: whatalo-wazion check [--config FILE] [--json] [--timeout 10s]

Validates the configuration, then probes each store's Whatalo API key with
one request each for store info, customers, orders and products (four
requests per store). It says in plain words what is wrong and how to fix it:
a rejected key (401), a missing scope (403), an unreachable API. A wk_test_
key is reported as a warning: it works, with a limit of 100 requests/minute.

With Redis configured (REDIS_URL or redis.url), it also checks that Redis
answers, and the probes take their turns from the budget the service's
replicas share.

Exit status 0 only when every store is usable and a configured Redis
answers. --json prints the report as {"config", "ok", "error", "redis":
{"ok", "message"}, "stores": [{"name", "ok", "api_key", "base_url",
"checks": [{"name", "ok", "message"}], "warnings": []}]} for machines
("redis" only when one is configured).

Flags:
`

// checkScopes are the scopes the service needs, in the order probed.
var checkScopes = []string{"read:store", "read:customers", "read:orders", "read:products"}

// checkReport is the outcome of check, printed as text or JSON.
type checkReport struct {
	Config string             `json:"config"`
	OK     bool               `json:"ok"`
	Error  string             `json:"error,omitempty"`
	Redis  *checkItem         `json:"redis,omitempty"`
	Stores []checkStoreReport `json:"stores"`
}

// checkStoreReport is one store's part of the report. APIKey is masked.
type checkStoreReport struct {
	Name     string      `json:"name"`
	OK       bool        `json:"ok"`
	APIKey   string      `json:"api_key"`
	BaseURL  string      `json:"base_url"`
	Checks   []checkItem `json:"checks"`
	Warnings []string    `json:"warnings"`
}

// checkItem is one probe: "store", "customers", "orders" or "products".
type checkItem struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// runCheck validates the configuration and probes every store.
func runCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", stdout, stderr)
	configPath := fs.String("config", getenv("WAZION_CONFIG"), "YAML file of stores (default: one store from the environment)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", 10*time.Second, "time allowed for each request to Whatalo")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return fmt.Errorf("check: --timeout must be positive")
	}

	report := checkReport{Config: "environment", Stores: []checkStoreReport{}}
	if *configPath != "" {
		report.Config = *configPath
	}
	cfg, err := loadConfig(*configPath, getenv)
	if err != nil {
		report.Error = "invalid configuration: " + err.Error()
		if printErr := printCheck(stdout, report, *asJSON); printErr != nil {
			return printErr
		}
		if !*asJSON {
			// The report above lists every field; do not repeat it.
			return errors.New("check: the configuration is not valid")
		}
		return fmt.Errorf("check: %w", err)
	}
	report.Config = cfg.Source
	sh, err := newSharing(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer sh.Close()
	report.Redis = checkRedis(ctx, cfg, sh, *timeout)
	if report.Redis != nil && !report.Redis.OK {
		// The stores are still probed, on this process's own limiter:
		// four calls do not need the fallback's slower pace.
		sh = nil
	}
	report.Stores = checkStores(ctx, cfg, sh, *timeout)
	report.OK = report.Redis == nil || report.Redis.OK
	var bad []string
	for _, s := range report.Stores {
		if !s.OK {
			report.OK = false
			bad = append(bad, s.Name)
		}
	}
	if err := printCheck(stdout, report, *asJSON); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("check: %d of %d stores not usable: %s", len(bad), len(report.Stores), strings.Join(bad, ", "))
	}
	if !report.OK {
		return errors.New("check: Redis does not answer")
	}
	return nil
}

// checkRedis reports whether the configured Redis answers; nil without
// Redis.
func checkRedis(ctx context.Context, cfg *config.Config, sh *sharing, timeout time.Duration) *checkItem {
	if sh == nil {
		return nil
	}
	field := "REDIS_URL"
	if cfg.Source != "environment" {
		field = "redis.url in " + cfg.Source
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := sh.client.Ping(ctx); err != nil {
		return &checkItem{Name: "redis", Message: fmt.Sprintf(
			"does not answer (%v): the service would run degraded, each replica at 1/%d of the limit with nothing shared; check %s, and that Redis runs and accepts its password",
			err, cfg.Redis.ExpectedReplicas, field)}
	}
	return &checkItem{Name: "redis", OK: true, Message: fmt.Sprintf(
		"answers: replicas share the budget, the cache and webhooks (keys under %q)", cfg.Redis.KeyPrefix)}
}

// checkStores probes every store at once; stores sharing an API key share
// its limiter, as in the service, and with Redis the budget of the
// service's replicas.
func checkStores(ctx context.Context, cfg *config.Config, sh *sharing, timeout time.Duration) []checkStoreReport {
	limiters := map[string]*whatalo.Limiter{}
	reports := make([]checkStoreReport, len(cfg.Stores))
	var wg sync.WaitGroup
	for i, sc := range cfg.Stores {
		key := sc.APIKey.Value()
		lim, ok := limiters[key]
		if !ok {
			lim = whatalo.NewLimiter(storeRateLimit(sc), sc.BackgroundShare)
			limiters[key] = lim
			sh.shareLimiter(sc.Name, key, lim.PerMinute(), lim.BackgroundShare(), lim)
		}
		wg.Go(func() { reports[i] = checkStore(ctx, cfg, i, lim, timeout) })
	}
	wg.Wait()
	return reports
}

// checkFields names the configuration fields a fix refers to, as the user
// wrote them: environment variables, or YAML fields of the file.
type checkFields struct {
	apiKey, baseURL, region string
}

func fieldsOf(cfg *config.Config, i int) checkFields {
	if cfg.Source == "environment" {
		return checkFields{apiKey: "WHATALO_API_KEY", baseURL: "WHATALO_BASE_URL", region: "DEFAULT_REGION"}
	}
	field := func(name string) string { return fmt.Sprintf("stores[%d].%s in %s", i, name, cfg.Source) }
	return checkFields{apiKey: field("api_key"), baseURL: field("base_url"), region: field("region")}
}

// checkStore runs the four probes of one store. Store info goes first:
// when the key is rejected or the API unreachable, the other three would
// only repeat the same failure.
func checkStore(ctx context.Context, cfg *config.Config, i int, lim *whatalo.Limiter, timeout time.Duration) checkStoreReport {
	sc := cfg.Stores[i]
	f := fieldsOf(cfg, i)
	rep := checkStoreReport{Name: sc.Name, APIKey: sc.APIKey.Mask(), BaseURL: sc.BaseURL, Warnings: []string{}}
	key := sc.APIKey.Value()
	rep.Warnings = append(rep.Warnings, keyWarnings(key, sc.RateLimit, f)...)

	client, err := whatalo.NewClient(key,
		whatalo.WithBaseURL(sc.BaseURL),
		whatalo.WithLimiter(lim),
		// One retry covers a blip without making an unreachable host slow
		// to report.
		whatalo.WithRetryMax(1),
	)
	if err != nil {
		rep.Checks = append(rep.Checks, checkItem{Name: "store", Message: fmt.Sprintf("cannot build a client: %v: check %s", err, f.baseURL)})
		return rep
	}
	call := func(fn func(ctx context.Context) error) error {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return fn(cctx)
	}

	var store *whatalo.Store
	var storeResp *whatalo.Response
	err = call(func(ctx context.Context) error {
		var err error
		store, storeResp, err = client.Store.Get(ctx)
		return err
	})
	if err != nil {
		msg := explainProbeError(err, "read:store", sc.BaseURL, timeout, f)
		rep.Checks = append(rep.Checks, checkItem{Name: "store", Message: msg})
		if fatalProbeError(err) {
			for _, name := range []string{"customers", "orders", "products"} {
				rep.Checks = append(rep.Checks, checkItem{Name: name, Message: "not tried: " + shortProbeReason(err)})
			}
			return rep
		}
	} else {
		rep.Checks = append(rep.Checks, checkItem{Name: "store", OK: true, Message: describeStore(store, sc.Region)})
		rep.Warnings = append(rep.Warnings, storeWarnings(store, sc.Region, storeResp, f)...)
	}

	probes := []struct {
		name, scope, noun string
		list              func(ctx context.Context) (*whatalo.Response, error)
	}{
		{"customers", "read:customers", "customers", func(ctx context.Context) (*whatalo.Response, error) {
			_, r, err := client.Customers.List(ctx, &whatalo.CustomerListOptions{PerPage: 1})
			return r, err
		}},
		{"orders", "read:orders", "orders", func(ctx context.Context) (*whatalo.Response, error) {
			_, r, err := client.Orders.List(ctx, &whatalo.OrderListOptions{PerPage: 1})
			return r, err
		}},
		{"products", "read:products", "active products", func(ctx context.Context) (*whatalo.Response, error) {
			_, r, err := client.Products.List(ctx, &whatalo.ProductListOptions{PerPage: 1})
			return r, err
		}},
	}
	for _, p := range probes {
		var resp *whatalo.Response
		err := call(func(ctx context.Context) error {
			var err error
			resp, err = p.list(ctx)
			return err
		})
		if err != nil {
			rep.Checks = append(rep.Checks, checkItem{Name: p.name, Message: explainProbeError(err, p.scope, sc.BaseURL, timeout, f)})
			continue
		}
		msg := p.scope + " granted"
		if resp != nil && resp.Pagination.PerPage > 0 {
			msg += fmt.Sprintf(" (%d %s)", resp.Pagination.Total, p.noun)
		}
		rep.Checks = append(rep.Checks, checkItem{Name: p.name, OK: true, Message: msg})
	}
	rep.OK = true
	for _, c := range rep.Checks {
		rep.OK = rep.OK && c.OK
	}
	return rep
}

// keyWarnings are the notes on a key that works but deserves attention.
func keyWarnings(key string, rateLimit int, f checkFields) []string {
	var w []string
	published := whatalo.LiveKeyLimit
	if strings.HasPrefix(key, "wk_test_") {
		published = whatalo.TestKeyLimit
		w = append(w, fmt.Sprintf("test key: limited to %d requests/minute (the service keeps to %d); use a wk_live_ key in production",
			whatalo.TestKeyLimit, whatalo.DefaultRateLimit(key)))
	}
	if rateLimit > published {
		w = append(w, fmt.Sprintf("rate limit %d/minute is above the key's published limit of %d/minute: Whatalo will answer 429; lower it or leave it unset for %d",
			rateLimit, published, whatalo.DefaultRateLimit(key)))
	}
	return w
}

// storeWarnings notes what store info says that would hurt answers.
func storeWarnings(s *whatalo.Store, region string, resp *whatalo.Response, f checkFields) []string {
	var w []string
	if s.MaintenanceMode || (!s.IsActive && s.Status != "") {
		w = append(w, fmt.Sprintf("the store is not active (status %q, maintenance %t): product links may not open for customers", s.Status, s.MaintenanceMode))
	}
	if region == "" && s.CountryCode == "" {
		w = append(w, fmt.Sprintf("the store has no country_code: set %s (e.g. DO) so phones without a country code can be matched", f.region))
	}
	if resp != nil && resp.Rate.Limit > 0 && resp.Rate.Remaining >= 0 && resp.Rate.Remaining < resp.Rate.Limit/10 {
		w = append(w, fmt.Sprintf("the key has %d of %d requests left in this minute: something else may be using it", resp.Rate.Remaining, resp.Rate.Limit))
	}
	return w
}

// describeStore is the success line of the store probe.
func describeStore(s *whatalo.Store, region string) string {
	var parts []string
	if s.CountryCode != "" {
		parts = append(parts, "country "+s.CountryCode)
	}
	if s.Currency != "" {
		parts = append(parts, "currency "+s.Currency)
	}
	if region != "" && !strings.EqualFold(region, s.CountryCode) {
		parts = append(parts, "phones read as "+region)
	}
	name := s.Name
	if name == "" {
		name = "(unnamed store)"
	}
	if len(parts) == 0 {
		return name
	}
	return name + " (" + strings.Join(parts, ", ") + ")"
}

// fatalProbeError reports errors that every other probe would repeat.
func fatalProbeError(err error) bool {
	return errors.Is(err, whatalo.ErrUnauthorized) || isNetworkError(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

func shortProbeReason(err error) string {
	switch {
	case errors.Is(err, whatalo.ErrUnauthorized):
		return "the API key was rejected"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "Whatalo did not answer"
	}
	return "Whatalo is unreachable"
}

// explainProbeError says what went wrong and how to fix it, naming the
// configuration field to change. It never includes the key.
func explainProbeError(err error, scope, baseURL string, timeout time.Duration, f checkFields) string {
	var we *whatalo.Error
	var le *whatalo.LimiterError
	switch {
	case errors.Is(err, whatalo.ErrUnauthorized):
		return fmt.Sprintf("the API key was rejected (401): create a new key in Whatalo under Settings > Developer > API Keys "+
			"with the scopes %s, and set %s", strings.Join(checkScopes, ", "), f.apiKey)
	case errors.Is(err, whatalo.ErrForbidden):
		missing := scope
		if errors.As(err, &we) && we.RequiredScope() != "" {
			missing = we.RequiredScope()
		}
		return fmt.Sprintf("the key lacks %s (403): in Whatalo under Settings > Developer > API Keys, give the key %s "+
			"(or create one with %s) and set %s", missing, missing, strings.Join(checkScopes, ", "), f.apiKey)
	case errors.As(err, &le):
		return fmt.Sprintf("not sent: %v; wait a minute and run check again", le)
	case errors.Is(err, whatalo.ErrRateLimited):
		wait := ""
		if errors.As(err, &we) && we.RetryAfter > 0 {
			wait = fmt.Sprintf(" for %s", we.RetryAfter.Round(time.Second))
		}
		return fmt.Sprintf("Whatalo answered 429: the key's rate limit is spent%s; another program may be using the same key. "+
			"The key is valid; run check again later", wait)
	case errors.Is(err, whatalo.ErrNotFound):
		return fmt.Sprintf("%s answered 404: it does not look like the Whatalo API root; check %s (it ends in /v1, default %s)",
			baseURL, f.baseURL, whatalo.DefaultBaseURL)
	case errors.Is(err, whatalo.ErrBadResponse):
		return fmt.Sprintf("%s did not answer like the Whatalo API (%s); check %s (default %s)",
			baseURL, innerError(err), f.baseURL, whatalo.DefaultBaseURL)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer from %s within %s: check %s and the network (a proxy or firewall may hold the connection)",
			baseURL, timeout, f.baseURL)
	case errors.Is(err, context.Canceled):
		return "interrupted before Whatalo answered"
	case isTLSError(err):
		return fmt.Sprintf("the TLS certificate of %s is not trusted (%s): check %s, or the system's CA certificates",
			baseURL, innerError(err), f.baseURL)
	case isNetworkError(err):
		return fmt.Sprintf("cannot reach %s: %s: check %s and the network", baseURL, innerError(err), f.baseURL)
	case errors.As(err, &we) && we.StatusCode >= 500:
		return fmt.Sprintf("Whatalo failed (%d %s): a problem on Whatalo's side; try again later", we.StatusCode, strings.TrimSpace(we.Code+" "+we.Message))
	case errors.As(err, &we):
		return fmt.Sprintf("Whatalo answered %d %s", we.StatusCode, strings.TrimSpace(we.Code+" "+we.Message))
	}
	return fmt.Sprintf("cannot query %s: %s: check %s and the network", baseURL, innerError(err), f.baseURL)
}

// innerError drops the client's "whatalo: GET /store:" prefix, which says
// nothing a store owner can act on.
func innerError(err error) string {
	if u := errors.Unwrap(err); u != nil && strings.HasPrefix(err.Error(), "whatalo: ") {
		return u.Error()
	}
	return err.Error()
}

func isNetworkError(err error) bool {
	var ne net.Error
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) || (errors.As(err, &ne) && !errors.Is(err, context.DeadlineExceeded)) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isTLSError(err)
}

func isTLSError(err error) bool {
	var certErr *tls.CertificateVerificationError
	var authErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	return errors.As(err, &certErr) || errors.As(err, &authErr) || errors.As(err, &hostErr) || errors.As(err, &recErr)
}

// printCheck writes the report as text for people or JSON for machines.
func printCheck(w io.Writer, r checkReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("check: write report: %w", err)
		}
		return nil
	}
	var b strings.Builder
	if r.Error != "" {
		fmt.Fprintf(&b, "Configuration (%s): NOT VALID\n", r.Config)
		for _, line := range strings.Split(strings.TrimPrefix(r.Error, "invalid configuration: "), "\n") {
			fmt.Fprintf(&b, "  - %s\n", line)
		}
		fmt.Fprintf(&b, "\nFix the fields named above; see the README for every setting.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "Configuration (%s): valid, %d store(s)\n", r.Config, len(r.Stores))
	if r.Redis != nil {
		writeCheckItem(&b, *r.Redis)
	}
	usable := 0
	for _, s := range r.Stores {
		state := "NOT USABLE"
		if s.OK {
			state = "usable"
			usable++
		}
		fmt.Fprintf(&b, "\nStore %q: %s\n  API key %s at %s\n", s.Name, state, s.APIKey, s.BaseURL)
		for _, c := range s.Checks {
			writeCheckItem(&b, c)
		}
		for _, warn := range s.Warnings {
			fmt.Fprintf(&b, "  warn  %s\n", warn)
		}
	}
	fmt.Fprintf(&b, "\n%d of %d store(s) usable.\n", usable, len(r.Stores))
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCheckItem writes one probe's line of the text report.
func writeCheckItem(b *strings.Builder, c checkItem) {
	mark := "FAIL"
	if c.OK {
		mark = "ok  "
	}
	fmt.Fprintf(b, "  %s  %-10s %s\n", mark, c.Name, c.Message)
}
