package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

const settingsUsage = `Usage: whatalo-wazion wazion-settings --public-url URL [--config FILE] [--store NAME]
                              [--method GET|POST] [--auth header|query|body|basic] [--show-token] [--json]

Prints, per store, what to enter in WAzion's CRM endpoint settings
(dashboard > Advanced > CRM endpoints): the five endpoint URLs under
--public-url, the HTTP method, the authentication choice and where the
token goes. The token is masked unless --show-token is given.

--public-url is the address WAzion reaches the service at, such as
https://crm.example.com (a path prefix is kept). WAzion requires HTTPS:
an http:// URL is refused unless its host is localhost or a loopback
address, which is accepted for local tests with a warning.

The default authentication is header: the token then stays out of URLs
and access logs. Every choice works with the same token, whatever is
entered in WAzion.

Flags:
`

// Authentication choices WAzion offers, in the order shown.
const (
	authHeader = "header"
	authQuery  = "query"
	authBody   = "body"
	authBasic  = "basic"
)

var authChoices = []string{authHeader, authQuery, authBody, authBasic}

// settingsDoc is the wazion-settings output, also printed as JSON.
type settingsDoc struct {
	PublicURL string          `json:"public_url"`
	Warnings  []string        `json:"warnings"`
	Stores    []storeSettings `json:"stores"`
}

// storeSettings is what one store's WAzion settings hold.
type storeSettings struct {
	Store  string        `json:"store"`
	URLs   []settingsURL `json:"urls"`
	Method string        `json:"method"`
	// Body is the POST body encoding: "json" or "form" both work.
	Body string `json:"body,omitempty"`
	Auth string `json:"auth"`
	// TokenLocation says where WAzion puts the token for Auth.
	TokenLocation string `json:"token_location"`
	// Token is masked unless --show-token.
	Token       string            `json:"token"`
	TokenCount  int               `json:"token_count"`
	Alternative map[string]string `json:"alternatives"`
	// Timeouts: WAzion's budgets and the service's own deadlines.
	BudgetGlobalSearch   string `json:"budget_global_search"`
	BudgetOthers         string `json:"budget_others"`
	DeadlineGlobalSearch string `json:"deadline_global_search"`
	DeadlineOthers       string `json:"deadline_others"`
}

// settingsURL is one endpoint's URL.
type settingsURL struct {
	Endpoint string `json:"endpoint"`
	URL      string `json:"url"`
}

// runWazionSettings prints what to enter in WAzion for each store.
func runWazionSettings(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("wazion-settings", stdout, stderr)
	configPath := fs.String("config", getenv("WAZION_CONFIG"), "YAML file of stores (default: one store from the environment)")
	publicURL := fs.String("public-url", "", "the address WAzion reaches the service at, e.g. https://crm.example.com (required)")
	storeName := fs.String("store", "", "only this store (default: every store)")
	method := fs.String("method", "GET", "HTTP method to configure in WAzion: GET or POST")
	auth := fs.String("auth", authHeader, "authentication to configure in WAzion: header, query, body or basic")
	showToken := fs.Bool("show-token", false, "print the token in full")
	asJSON := fs.Bool("json", false, "print as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pub, err := parsePublicURL(*publicURL)
	if err != nil {
		return fmt.Errorf("wazion-settings: %w", err)
	}
	if pub.httpsProblem != "" {
		return fmt.Errorf("wazion-settings: --public-url %s: %s", pub.base, pub.httpsProblem)
	}
	base := pub.base
	var warnings []string
	if pub.httpsWarning != "" {
		warnings = append(warnings, pub.httpsWarning)
	}
	m := strings.ToUpper(strings.TrimSpace(*method))
	if m != "GET" && m != "POST" {
		return fmt.Errorf("wazion-settings: --method %q: want GET or POST", *method)
	}
	a := strings.ToLower(strings.TrimSpace(*auth))
	if !slices.Contains(authChoices, a) {
		return fmt.Errorf("wazion-settings: --auth %q: want one of %s", *auth, strings.Join(authChoices, ", "))
	}
	if a == authBody && m == "GET" {
		return fmt.Errorf("wazion-settings: --auth body needs --method POST: a GET request has no body")
	}
	cfg, err := loadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	stores, err := selectStores(cfg, *storeName)
	if err != nil {
		return fmt.Errorf("wazion-settings: %w", err)
	}
	doc := settingsDoc{PublicURL: base, Warnings: warnings}
	if doc.Warnings == nil {
		doc.Warnings = []string{}
	}
	for _, sc := range stores {
		doc.Stores = append(doc.Stores, buildStoreSettings(cfg, sc, base, m, a, *showToken))
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	return printSettings(stdout, doc, *showToken)
}

// selectStores returns the named store, or every store when name is "".
func selectStores(cfg *config.Config, name string) ([]config.Store, error) {
	if name == "" {
		return cfg.Stores, nil
	}
	var names []string
	for _, sc := range cfg.Stores {
		if sc.Name == name {
			return []config.Store{sc}, nil
		}
		names = append(names, sc.Name)
	}
	return nil, fmt.Errorf("--store %q: no such store in %s (stores: %s)", name, cfg.Source, strings.Join(names, ", "))
}

func buildStoreSettings(cfg *config.Config, sc config.Store, base, method, auth string, showToken bool) storeSettings {
	tok := sc.Tokens[0]
	shown := tok.Mask()
	if showToken {
		shown = tok.Value()
	}
	return storeSettingsShowing(cfg, sc, base, method, auth, shown)
}

// storeSettingsShowing is buildStoreSettings with the token shown as
// shown (the console masks it more than the command does).
func storeSettingsShowing(cfg *config.Config, sc config.Store, base, method, auth, shown string) storeSettings {
	ss := storeSettings{
		Store:                sc.Name,
		Method:               method,
		Auth:                 auth,
		Token:                shown,
		TokenCount:           len(sc.Tokens),
		Alternative:          map[string]string{},
		BudgetGlobalSearch:   wazion.DefaultGlobalSearchBudget.String(),
		BudgetOthers:         wazion.DefaultBudget.String(),
		DeadlineGlobalSearch: serviceDeadline(wazion.DefaultGlobalSearchBudget, cfg.Server.Margin).String(),
		DeadlineOthers:       serviceDeadline(wazion.DefaultBudget, cfg.Server.Margin).String(),
	}
	if method == "POST" {
		ss.Body = "json"
	}
	for _, ep := range wazion.Endpoints() {
		ss.URLs = append(ss.URLs, settingsURL{Endpoint: ep, URL: endpointURL(base, ep)})
	}
	for _, a := range authChoices {
		loc := tokenLocation(a, sc.TokenHeader, shown)
		if a == auth {
			ss.TokenLocation = loc
		} else {
			ss.Alternative[a] = loc
		}
	}
	return ss
}

// tokenLocation says where the token goes for an authentication choice,
// as the service reads it.
func tokenLocation(auth, tokenHeader, token string) string {
	switch auth {
	case authQuery:
		return "query string parameter token=" + token
	case authBody:
		return `"token" field of the JSON or form body (POST only)`
	case authBasic:
		return "HTTP Basic authentication: any user name, password " + token
	}
	headers := []string{"Authorization: Bearer " + token, wazion.HeaderToken + ": " + token}
	if tokenHeader != "" {
		headers = append(headers, tokenHeader+": "+token)
	}
	return "header " + strings.Join(headers, ", or ")
}

// serviceDeadline mirrors the wazion handlers: the budget less the margin,
// never under half the budget.
func serviceDeadline(budget, margin time.Duration) time.Duration {
	if margin <= 0 {
		margin = wazion.DefaultMargin
	}
	return max(budget-margin, budget/2)
}

func printSettings(w io.Writer, doc settingsDoc, showToken bool) error {
	var b strings.Builder
	for _, warn := range doc.Warnings {
		fmt.Fprintf(&b, "WARNING: %s\n\n", warn)
	}
	for i, s := range doc.Stores {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "WAzion CRM endpoint settings for store %q\n", s.Store)
		b.WriteString("(WAzion dashboard > Advanced > CRM endpoints)\n\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  Endpoint\tURL")
		for _, u := range s.URLs {
			fmt.Fprintf(tw, "  %s\t%s\n", u.Endpoint, u.URL)
		}
		tw.Flush()
		b.WriteString("\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		switch s.Method {
		case "POST":
			fmt.Fprintf(tw, "  Method\tPOST, body JSON (form works too)\n")
		default:
			fmt.Fprintf(tw, "  Method\tGET, parameters in the query string\n")
		}
		fmt.Fprintf(tw, "  Authentication\t%s\n", s.Auth)
		fmt.Fprintf(tw, "  Token goes in\t%s\n", s.TokenLocation)
		token := s.Token
		if !showToken {
			token += "   (masked; --show-token prints it)"
		}
		fmt.Fprintf(tw, "  Token\t%s\n", token)
		if s.TokenCount > 1 {
			fmt.Fprintf(tw, "  \t(%d tokens are configured; the first is shown, any of them works)\n", s.TokenCount)
		}
		tw.Flush()
		b.WriteString("\n  The service accepts the same token with the other choices too:\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, a := range authChoices {
			if loc, ok := s.Alternative[a]; ok {
				fmt.Fprintf(tw, "    %s\t%s\n", a, loc)
			}
		}
		tw.Flush()
		fmt.Fprintf(&b, "\n  WAzion waits %s for globalSearch and %s for the others; the service answers within %s and %s.\n",
			s.BudgetGlobalSearch, s.BudgetOthers, s.DeadlineGlobalSearch, s.DeadlineOthers)
		fmt.Fprintf(&b, "  Check these settings: whatalo-wazion selftest --public-url %s --store %s\n", doc.PublicURL, s.Store)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// publicURL is a checked --public-url.
type publicURL struct {
	// base is the URL without a trailing slash; endpoints go under
	// base/wazion/.
	base string
	// httpsProblem is set for http:// on a host WAzion could reach: WAzion
	// refuses it.
	httpsProblem string
	// httpsWarning is set for http:// on a loopback host: fine for a local
	// test only.
	httpsWarning string
}

// parsePublicURL checks the address WAzion will call. A URL already ending
// in /wazion or in an endpoint path is cut back to its base, since that is
// a common paste. The error is for a URL that cannot be used at all; plain
// http is reported in the result instead, so selftest can still call it.
func parsePublicURL(raw string) (publicURL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return publicURL{}, fmt.Errorf("--public-url is required: the address WAzion reaches the service at, e.g. https://crm.example.com")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return publicURL{}, fmt.Errorf("--public-url %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return publicURL{}, fmt.Errorf("--public-url %q: want an absolute URL such as https://crm.example.com", raw)
	case u.User != nil:
		return publicURL{}, fmt.Errorf("--public-url: must not contain a user name or password")
	case u.RawQuery != "" || u.Fragment != "":
		return publicURL{}, fmt.Errorf("--public-url %q: must not have a query string or fragment", raw)
	}
	path := strings.TrimRight(u.Path, "/")
	for _, ep := range wazion.Endpoints() {
		path = strings.TrimSuffix(path, "/"+ep)
	}
	path = strings.TrimSuffix(path, "/wazion")
	u.Path, u.RawPath = path, ""
	p := publicURL{base: strings.TrimRight(u.String(), "/")}
	if u.Scheme == "http" {
		if isLoopbackHost(u.Hostname()) {
			p.httpsWarning = "http:// on a loopback host: fine for a local test, but WAzion requires HTTPS"
		} else {
			p.httpsProblem = "WAzion requires HTTPS: serve TLS (TLS_CERT_FILE and TLS_KEY_FILE) or put the service behind an HTTPS proxy, and give its https:// address"
		}
	}
	return p, nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// endpointURL is the URL of one WAzion endpoint under base.
func endpointURL(base, endpoint string) string {
	return base + "/wazion/" + endpoint
}
