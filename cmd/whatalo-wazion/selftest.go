package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

const selftestUsage = `Usage: whatalo-wazion selftest --public-url URL [--token TOKEN | --config FILE [--store NAME]]
                       [--phone +E164] [--related +E164] [--query TEXT] [--product TEXT] [--json]

Calls each of the five endpoints under --public-url the way WAzion does and
checks every answer against WAzion's documented shape:

  - GET with the token in the query string, phone and relatedphones=["…"]
    as in WAzion's example, test=true
  - POST with a JSON body (token in the body), test=true
  - POST with a form body (token in the body), test=true
  - GET with test=false: a real lookup of --phone, --query and --product
  - search_Products also in format=ai
  - on sidePanel_CustomerInfo: the token in Authorization: Bearer, in
    X-Wazion-Token, in the store's own token header if it has one, as HTTP
    Basic auth, and a wrong token, which must be refused

It prints a table of status, HTTP code, latency against WAzion's budgets
(5 s for globalSearch, 10 s for the others) and what was found, then every
problem. Exit status is non-zero when any problem is found; warnings alone
pass.

The token is --token, else the first token of the store chosen by --store
(default: the first store) in the configuration (--config FILE, or the
environment as for serve).

WAzion requires HTTPS. An http:// URL on localhost or a loopback address
gives a warning, so the service can be tested locally; on any other host it
is a problem.

Flags:
`

// Defaults of the lookups: WAzion's own example values.
const (
	selftestPhone   = "+34612345678"
	selftestRelated = "+34698765432"
	selftestProduct = "camiseta"
	// selftestBodyLimit caps what is read of an answer.
	selftestBodyLimit = 4 << 20
	// selftestSlow is the share of a budget past which an answer is
	// flagged as slow.
	selftestSlow = 0.8
)

// Result statuses.
const (
	statusOK   = "OK"
	statusWarn = "WARN"
	statusFail = "FAIL"
)

// selftestOptions is what a selftest run needs.
type selftestOptions struct {
	base        string
	token       string
	tokenHeader string // the store's own token header, if known
	store       string
	phone       string
	related     string
	query       string
	product     string
	// budgets overrides WAzion's budgets per endpoint, for tests.
	budgets map[string]time.Duration
}

// Ways of sending the token.
const (
	viaQuery  = "query"
	viaBody   = "body"
	viaBearer = "bearer"
	viaHeader = "x-wazion-token"
	viaCustom = "custom-header"
	viaBasic  = "basic"
	viaWrong  = "wrong-token"
)

// selftestCase is one call.
type selftestCase struct {
	endpoint string
	label    string
	method   string
	encoding string // "query", "json" or "form"
	auth     string
	test     bool
	format   string
}

// selftestResult is one row of the report.
type selftestResult struct {
	Endpoint   string   `json:"endpoint,omitempty"`
	Call       string   `json:"call"`
	Status     string   `json:"status"`
	HTTPStatus int      `json:"http_status,omitempty"`
	LatencyMS  float64  `json:"latency_ms,omitempty"`
	BudgetMS   int64    `json:"budget_ms,omitempty"`
	Summary    string   `json:"summary,omitempty"`
	Problems   []string `json:"problems"`
	Warnings   []string `json:"warnings"`
}

// selftestReport is the whole run, printed as a table or JSON.
type selftestReport struct {
	PublicURL string           `json:"public_url"`
	Store     string           `json:"store,omitempty"`
	Token     string           `json:"token"`
	OK        bool             `json:"ok"`
	Problems  int              `json:"problems"`
	Warnings  int              `json:"warnings"`
	Checks    []selftestResult `json:"checks"`
}

// runSelftest calls the public URLs as WAzion does and reports problems.
func runSelftest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("selftest", stdout, stderr)
	configPath := fs.String("config", getenv("WAZION_CONFIG"), "YAML file of stores, for the token (default: the environment)")
	publicURL := fs.String("public-url", "", "the address WAzion reaches the service at, e.g. https://crm.example.com (required)")
	token := fs.String("token", "", "the token WAzion sends (default: the store's first token from the configuration)")
	storeName := fs.String("store", "", "store whose token to use (default: the first store)")
	phone := fs.String("phone", selftestPhone, "customer phone for the lookups (E.164)")
	related := fs.String("related", selftestRelated, "related phone sent in relatedphones")
	query := fs.String("query", "", "customer search text for globalSearch and sidePanel_CustomerFindToJoin (default: --phone)")
	product := fs.String("product", selftestProduct, "product search text for search_Products")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pub, err := parsePublicURL(*publicURL)
	if err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	opts := selftestOptions{
		token: strings.TrimSpace(*token), store: *storeName,
		phone: strings.TrimSpace(*phone), related: strings.TrimSpace(*related),
		query: strings.TrimSpace(*query), product: strings.TrimSpace(*product),
	}
	if opts.query == "" {
		opts.query = opts.phone
	}
	if err := resolveSelftestToken(&opts, *configPath, getenv); err != nil {
		return fmt.Errorf("selftest: %w", err)
	}

	// An http:// URL WAzion would refuse is still called, to tell what else
	// is wrong, but the HTTPS row fails the run.
	httpsRow := selftestResult{Call: "HTTPS", Summary: "https://", Problems: []string{}, Warnings: []string{}}
	switch {
	case pub.httpsProblem != "":
		httpsRow.Problems = append(httpsRow.Problems, pub.httpsProblem)
	case pub.httpsWarning != "":
		httpsRow.Warnings = append(httpsRow.Warnings, pub.httpsWarning)
		httpsRow.Summary = "http:// on a loopback host (local test only)"
	}
	opts.base = pub.base

	report := selftestReport{PublicURL: pub.base, Store: opts.store, Token: config.Secret(opts.token).Mask()}
	report.Checks = append(report.Checks, finishRow(httpsRow))
	client := selftestClient()
	defer client.CloseIdleConnections()
	cases := selftestCases(opts)
	for i, c := range cases {
		res, abort := runSelftestCase(ctx, client, opts, c)
		report.Checks = append(report.Checks, res)
		if abort {
			if rest := len(cases) - i - 1; rest > 0 {
				last := &report.Checks[len(report.Checks)-1]
				last.Problems[len(last.Problems)-1] += fmt.Sprintf(" (the other %d calls were not tried)", rest)
			}
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	for _, r := range report.Checks {
		report.Problems += len(r.Problems)
		report.Warnings += len(r.Warnings)
	}
	report.OK = report.Problems == 0
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return fmt.Errorf("selftest: write report: %w", err)
		}
	} else if err := printSelftest(stdout, report); err != nil {
		return err
	}
	if !report.OK {
		return fmt.Errorf("selftest: %d problem(s) found", report.Problems)
	}
	return nil
}

// resolveSelftestToken fills in the token from the configuration when --token is
// not given, and the store's own token header when the configuration is at
// hand.
func resolveSelftestToken(o *selftestOptions, configPath string, getenv func(string) string) error {
	if o.token != "" && configPath == "" {
		return nil
	}
	cfg, err := loadConfig(configPath, getenv)
	if err != nil {
		if o.token != "" {
			return err
		}
		// An environment with only the token is enough to call the service.
		if t := firstToken(getenv("WAZION_TOKEN")); t != "" && configPath == "" {
			o.token = t
			return nil
		}
		return fmt.Errorf("no token: give --token, or a configuration holding the store's tokens: %w", err)
	}
	sc := cfg.Stores[0]
	if o.store != "" {
		stores, err := selectStores(cfg, o.store)
		if err != nil {
			return err
		}
		sc = stores[0]
	}
	o.store = sc.Name
	o.tokenHeader = sc.TokenHeader
	if o.token == "" {
		o.token = sc.Tokens[0].Value()
	}
	return nil
}

func firstToken(list string) string {
	for _, t := range strings.Split(list, ",") {
		if t = strings.TrimSpace(t); t != "" {
			return t
		}
	}
	return ""
}

// selftestClient calls like WAzion: a 5 s connect timeout, no retries and
// no redirects followed, so a redirect shows up as the problem it is.
func selftestClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         d.DialContext,
			TLSHandshakeTimeout: 5 * time.Second,
			ForceAttemptHTTP2:   true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// selftestCases lists the calls, endpoint by endpoint.
func selftestCases(o selftestOptions) []selftestCase {
	var cases []selftestCase
	for _, ep := range wazion.Endpoints() {
		cases = append(cases,
			selftestCase{endpoint: ep, label: "GET, query auth, test=true", method: http.MethodGet, encoding: "query", auth: viaQuery, test: true},
			selftestCase{endpoint: ep, label: "POST JSON, body auth, test=true", method: http.MethodPost, encoding: "json", auth: viaBody, test: true},
			selftestCase{endpoint: ep, label: "POST form, body auth, test=true", method: http.MethodPost, encoding: "form", auth: viaBody, test: true},
			selftestCase{endpoint: ep, label: "GET, query auth, lookup", method: http.MethodGet, encoding: "query", auth: viaQuery},
		)
		if ep == wazion.EndpointSearchProducts {
			cases = append(cases, selftestCase{endpoint: ep, label: "GET, query auth, lookup, format=ai",
				method: http.MethodGet, encoding: "query", auth: viaQuery, format: "ai"})
		}
		if ep == wazion.EndpointCustomerInfo {
			cases = append(cases,
				selftestCase{endpoint: ep, label: "GET, Authorization: Bearer, test=true", method: http.MethodGet, encoding: "query", auth: viaBearer, test: true},
				selftestCase{endpoint: ep, label: "GET, " + wazion.HeaderToken + " header, test=true", method: http.MethodGet, encoding: "query", auth: viaHeader, test: true},
			)
			if o.tokenHeader != "" {
				cases = append(cases, selftestCase{endpoint: ep, label: "GET, " + o.tokenHeader + " header, test=true",
					method: http.MethodGet, encoding: "query", auth: viaCustom, test: true})
			}
			cases = append(cases,
				selftestCase{endpoint: ep, label: "GET, HTTP Basic auth, test=true", method: http.MethodGet, encoding: "query", auth: viaBasic, test: true},
				selftestCase{endpoint: ep, label: "GET, wrong token (must be refused)", method: http.MethodGet, encoding: "query", auth: viaWrong, test: true},
			)
		}
	}
	return cases
}

// selftestParam is one parameter as WAzion sends it; list values are
// relatedphones.
type selftestParam struct {
	key   string
	value string
	list  []string
	phone bool // sent with a raw '+' in query strings, as WAzion's example shows
}

// paramsFor lists what WAzion sends to an endpoint (its contract's tables).
func paramsFor(c selftestCase, o selftestOptions) []selftestParam {
	related := []string{}
	if o.related != "" {
		related = []string{o.related}
	}
	var ps []selftestParam
	switch c.endpoint {
	case wazion.EndpointCustomerInfo, wazion.EndpointCustomerInitialInfo:
		ps = []selftestParam{{key: "phone", value: o.phone, phone: true}, {key: "relatedphones", list: related, phone: true}}
	case wazion.EndpointFindToJoin:
		ps = []selftestParam{{key: "query", value: o.query}, {key: "phone", value: o.phone, phone: true}, {key: "relatedphones", list: related, phone: true}}
	case wazion.EndpointSearchProducts:
		ps = []selftestParam{{key: "q", value: o.product}, {key: "phone", value: o.phone, phone: true}, {key: "target_locale", value: "es"}}
		if c.format != "" {
			ps = append(ps, selftestParam{key: "format", value: c.format})
		}
	case wazion.EndpointGlobalSearch:
		ps = []selftestParam{{key: "query", value: o.query}}
	}
	return append(ps, selftestParam{key: "test", value: fmt.Sprint(c.test)})
}

// wrongToken is sent to check that the service refuses unknown tokens.
const wrongToken = "selftest-wrong-token-0000"

// buildRequest encodes c as WAzion would send it.
func buildRequest(ctx context.Context, o selftestOptions, c selftestCase) (*http.Request, error) {
	ps := paramsFor(c, o)
	token := o.token
	if c.auth == viaWrong {
		token = wrongToken
	}
	if c.auth == viaQuery || c.auth == viaWrong || c.auth == viaBody {
		ps = append([]selftestParam{{key: "token", value: token}}, ps...)
	}
	target := endpointURL(o.base, c.endpoint)
	var body io.Reader
	contentType := ""
	switch c.encoding {
	case "json":
		m := map[string]any{}
		for _, p := range ps {
			if p.list != nil {
				m[p.key] = p.list
			} else {
				m[p.key] = p.value
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		body, contentType = bytes.NewReader(b), "application/json"
	case "form":
		v := url.Values{}
		for _, p := range ps {
			if p.list != nil {
				for _, item := range p.list {
					v.Add(p.key+"[]", item)
				}
			} else {
				v.Set(p.key, p.value)
			}
		}
		body, contentType = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	default:
		target += "?" + wazionQuery(ps)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, target, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "whatalo-wazion-selftest")
	switch c.auth {
	case viaBearer:
		req.Header.Set("Authorization", "Bearer "+token)
	case viaHeader:
		req.Header.Set(wazion.HeaderToken, token)
	case viaCustom:
		req.Header.Set(o.tokenHeader, token)
	case viaBasic:
		req.SetBasicAuth("wazion", token)
	}
	return req, nil
}

// wazionQuery encodes a query string as WAzion's documentation shows it:
// ?phone=+34612345678&relatedphones=["+34698765432"], the phones' '+' left
// raw (a server must not read it as a space and lose the number) and
// relatedphones as a JSON array.
func wazionQuery(ps []selftestParam) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		v := p.value
		if p.list != nil {
			b, _ := json.Marshal(p.list)
			v = string(b)
		}
		enc := url.QueryEscape(v)
		if p.phone {
			enc = strings.ReplaceAll(enc, "%2B", "+")
		}
		parts = append(parts, url.QueryEscape(p.key)+"="+enc)
	}
	return strings.Join(parts, "&")
}

// budgetOf is WAzion's time budget for an endpoint.
func (o selftestOptions) budgetOf(endpoint string) time.Duration {
	if d, ok := o.budgets[endpoint]; ok {
		return d
	}
	if endpoint == wazion.EndpointGlobalSearch {
		return wazion.DefaultGlobalSearchBudget
	}
	return wazion.DefaultBudget
}

// runSelftestCase makes one call and judges the answer. abort is true when
// the service cannot be reached at all, so further calls are pointless.
func runSelftestCase(ctx context.Context, client *http.Client, o selftestOptions, c selftestCase) (res selftestResult, abort bool) {
	budget := o.budgetOf(c.endpoint)
	res = selftestResult{Endpoint: c.endpoint, Call: c.label, BudgetMS: budget.Milliseconds(), Problems: []string{}, Warnings: []string{}}
	cctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	req, err := buildRequest(cctx, o, c)
	if err != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("cannot build the request: %v", err))
		return finishRow(res), true
	}
	start := time.Now()
	resp, err := client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, selftestBodyLimit+1))
		resp.Body.Close()
	}
	latency := time.Since(start)
	res.LatencyMS = float64(latency.Microseconds()) / 1000
	if err != nil {
		msg, fatal := explainCallError(err, budget, o.base)
		res.Problems = append(res.Problems, msg)
		return finishRow(res), fatal
	}
	res.HTTPStatus = resp.StatusCode
	if latency > budget {
		res.Problems = append(res.Problems, fmt.Sprintf("took %s: WAzion gives up after %s", roundLatency(latency), budget))
	} else if latency > time.Duration(float64(budget)*selftestSlow) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("slow: %s of WAzion's %s budget", roundLatency(latency), budget))
	}
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("HTTP %d: WAzion wants 200 on every answer and disables the endpoints after a run of failures", resp.StatusCode)
		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
			msg = fmt.Sprintf("HTTP %d redirect to %s: enter the final URL in WAzion", resp.StatusCode, loc)
		}
		res.Problems = append(res.Problems, msg)
		return finishRow(res), false
	}
	if len(body) > selftestBodyLimit {
		res.Problems = append(res.Problems, fmt.Sprintf("answer larger than %d MiB", selftestBodyLimit>>20))
		return finishRow(res), false
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		res.Warnings = append(res.Warnings, fmt.Sprintf("Content-Type is %q, not application/json", resp.Header.Get("Content-Type")))
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil || doc == nil {
		res.Problems = append(res.Problems, fmt.Sprintf("not a JSON object (WAzion requires valid JSON): %s", snippet(body)))
		return finishRow(res), false
	}
	s := &shape{}
	res.Summary = judge(s, doc, o, c)
	res.Problems = append(res.Problems, s.problemList()...)
	res.Warnings = append(res.Warnings, s.warnings...)
	return finishRow(res), false
}

// finishRow sets a row's status from its problems and warnings.
func finishRow(r selftestResult) selftestResult {
	switch {
	case len(r.Problems) > 0:
		r.Status = statusFail
	case len(r.Warnings) > 0:
		r.Status = statusWarn
	default:
		r.Status = statusOK
	}
	return r
}

// explainCallError says why a call got no answer; fatal when no call can
// succeed (no connection, bad certificate).
func explainCallError(err error, budget time.Duration, base string) (msg string, fatal bool) {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var op *net.OpError
	var dns *net.DNSError
	var certErr *tls.CertificateVerificationError
	var authErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s: WAzion gives up after %s", budget, budget), false
	case errors.Is(err, context.Canceled):
		return "interrupted", true
	case errors.As(err, &certErr), errors.As(err, &authErr), errors.As(err, &hostErr):
		return fmt.Sprintf("TLS certificate not accepted (%v): WAzion needs a certificate valid for the host from a public CA", err), true
	case errors.As(err, &recErr):
		return fmt.Sprintf("TLS handshake failed (%v): is the service serving plain HTTP on an https:// URL?", err), true
	case errors.As(err, &dns):
		return fmt.Sprintf("cannot resolve the host of %s: %v", base, err), true
	case errors.As(err, &op) && op.Op == "dial":
		return fmt.Sprintf("cannot connect to %s: %v: is the service running, and is --public-url its address?", base, err), true
	}
	return fmt.Sprintf("no answer: %v", err), false
}

func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "empty body"
	}
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%d bytes, not UTF-8", len(b))
	}
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// printSelftest writes the table and the list of problems.
func printSelftest(w io.Writer, r selftestReport) error {
	var b strings.Builder
	who := "token " + r.Token
	if r.Store != "" {
		who = fmt.Sprintf("store %q, %s", r.Store, who)
	}
	fmt.Fprintf(&b, "Self-test of %s as WAzion calls it (%s)\n\n", r.PublicURL, who)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDPOINT\tCALL\tSTATUS\tHTTP\tLATENCY\tBUDGET\tRESULT")
	for _, c := range r.Checks {
		httpStatus, latency, budget := "-", "-", "-"
		if c.HTTPStatus != 0 {
			httpStatus = fmt.Sprint(c.HTTPStatus)
		}
		if c.LatencyMS > 0 {
			latency = roundLatency(time.Duration(c.LatencyMS * float64(time.Millisecond))).String()
		}
		if c.BudgetMS > 0 {
			budget = (time.Duration(c.BudgetMS) * time.Millisecond).String()
		}
		result := c.Summary
		switch {
		case len(c.Problems) > 0:
			result = c.Problems[0]
		case len(c.Warnings) > 0 && result == "":
			result = c.Warnings[0]
		}
		if rs := []rune(result); len(rs) > 70 {
			result = string(rs[:69]) + "…"
		}
		ep := c.Endpoint
		if ep == "" {
			ep = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ep, c.Call, c.Status, httpStatus, latency, budget, result)
	}
	tw.Flush()
	list := func(title string, pick func(selftestResult) []string) {
		first := true
		for _, c := range r.Checks {
			for _, p := range pick(c) {
				if first {
					fmt.Fprintf(&b, "\n%s:\n", title)
					first = false
				}
				name := c.Call
				if c.Endpoint != "" {
					name = c.Endpoint + " (" + c.Call + ")"
				}
				fmt.Fprintf(&b, "  - %s: %s\n", name, p)
			}
		}
	}
	list("Problems", func(c selftestResult) []string { return c.Problems })
	list("Warnings", func(c selftestResult) []string { return c.Warnings })
	if r.OK {
		fmt.Fprintf(&b, "\nAll %d checks passed", len(r.Checks))
		if r.Warnings > 0 {
			fmt.Fprintf(&b, " (%d warning(s))", r.Warnings)
		}
		b.WriteString(".\n")
	} else {
		fmt.Fprintf(&b, "\n%d problem(s) found: WAzion would not work reliably with these settings.\n", r.Problems)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shape collects what is wrong with an answer, by JSON path.
type shape struct {
	problems []string
	warnings []string
}

// maxShapeProblems keeps one broken answer from flooding the report.
const maxShapeProblems = 8

func (s *shape) fail(path, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if path != "" {
		msg = path + ": " + msg
	}
	s.problems = append(s.problems, msg)
}

func (s *shape) warn(path, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if path != "" {
		msg = path + ": " + msg
	}
	s.warnings = append(s.warnings, msg)
}

func (s *shape) problemList() []string {
	if len(s.problems) <= maxShapeProblems {
		return s.problems
	}
	out := append([]string{}, s.problems[:maxShapeProblems]...)
	return append(out, fmt.Sprintf("and %d more shape problems", len(s.problems)-maxShapeProblems))
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// field returns obj[key] when it has type want. A missing or null field is a
// problem only when required; a field of another type always is.
func (s *shape) field(obj map[string]any, path, key, want string, required bool) (any, bool) {
	v, ok := obj[key]
	if !ok || v == nil {
		if required {
			s.fail(joinPath(path, key), "missing (WAzion expects a %s)", want)
		}
		return nil, false
	}
	if got := jsonType(v); got != want {
		s.fail(joinPath(path, key), "is a %s, WAzion expects a %s", got, want)
		return nil, false
	}
	return v, true
}

func (s *shape) str(obj map[string]any, path, key string, required bool) string {
	v, _ := s.field(obj, path, key, "string", required)
	str, _ := v.(string)
	return str
}

func (s *shape) num(obj map[string]any, path, key string, required bool) (float64, bool) {
	v, ok := s.field(obj, path, key, "number", required)
	f, _ := v.(float64)
	return f, ok
}

func (s *shape) boolean(obj map[string]any, path, key string, required bool) (bool, bool) {
	v, ok := s.field(obj, path, key, "boolean", required)
	b, _ := v.(bool)
	return b, ok
}

// objects returns the array obj[key] as objects; ok is false when absent.
func (s *shape) objects(obj map[string]any, path, key string, required bool) ([]map[string]any, bool) {
	v, ok := s.field(obj, path, key, "array", required)
	if !ok {
		return nil, false
	}
	arr := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for i, e := range arr {
		m, isObj := e.(map[string]any)
		if !isObj {
			s.fail(fmt.Sprintf("%s[%d]", joinPath(path, key), i), "is a %s, WAzion expects an object", jsonType(e))
			continue
		}
		out = append(out, m)
	}
	return out, true
}

// id accepts a string or a number, as WAzion shows both kinds of ids.
func (s *shape) id(obj map[string]any, path, key string) {
	switch v := obj[key].(type) {
	case string:
		if strings.TrimSpace(v) == "" {
			s.fail(joinPath(path, key), "is empty")
		}
	case float64:
	default:
		s.fail(joinPath(path, key), "is a %s, WAzion expects a string id", jsonType(v))
	}
}

func (s *shape) date(obj map[string]any, path, key string, required bool) {
	d := s.str(obj, path, key, required)
	if d == "" {
		return
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if _, err := time.Parse(layout, d); err == nil {
			return
		}
	}
	s.fail(joinPath(path, key), "%q is not an ISO 8601 date", d)
}

// judge checks an answer against WAzion's documented shape for its
// endpoint and returns a one-line summary of what it holds.
func judge(s *shape, doc map[string]any, o selftestOptions, c selftestCase) string {
	errMsg, _ := doc["error"].(string)
	if c.auth == viaWrong {
		return judgeRefusal(s, doc, errMsg)
	}
	switch {
	case errMsg == "unauthorized":
		s.fail("error", `"unauthorized": the token was refused; check --token, or the store's tokens (WAZION_TOKEN)`)
	case errMsg != "":
		s.fail("error", "%q", errMsg)
	}
	switch c.endpoint {
	case wazion.EndpointCustomerInfo:
		return judgeCustomerInfo(s, doc, c)
	case wazion.EndpointCustomerInitialInfo:
		return judgeInitialInfo(s, doc, c)
	case wazion.EndpointFindToJoin:
		return judgeFindToJoin(s, doc, o, c)
	case wazion.EndpointSearchProducts:
		if c.format == "ai" {
			return judgeProductsAI(s, doc, c)
		}
		return judgeProducts(s, doc, c)
	case wazion.EndpointGlobalSearch:
		return judgeGlobalSearch(s, doc, c)
	}
	return ""
}

// judgeRefusal expects a wrong token to get an error and no data.
func judgeRefusal(s *shape, doc map[string]any, errMsg string) string {
	found, _ := doc["found"].(bool)
	leaked := found
	for _, key := range []string{"customers", "customer", "products", "results"} {
		switch v := doc[key].(type) {
		case []any:
			leaked = leaked || len(v) > 0
		case map[string]any:
			leaked = true
		}
	}
	if info, _ := doc["info"].(string); info != "" {
		leaked = true
	}
	if leaked {
		s.fail("", "answered data to a wrong token: anyone who knows the URL can read the store's customers")
		return "not refused"
	}
	if errMsg == "" {
		s.warn("", `refused without an "error" field saying why`)
		return "refused"
	}
	return fmt.Sprintf("refused: error %q", errMsg)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

var itemStatuses = map[string]bool{wazion.ItemActive: true, wazion.ItemPartiallyRefunded: true, wazion.ItemFullyRefunded: true}

func judgeCustomerInfo(s *shape, doc map[string]any, c selftestCase) string {
	found, _ := s.boolean(doc, "", "found", true)
	customers, ok := s.objects(doc, "", "customers", false)
	if !ok {
		if one, isObj := doc["customer"].(map[string]any); isObj {
			customers = []map[string]any{one}
		}
	}
	switch {
	case found && len(customers) == 0:
		s.fail("customers", "found is true but no customer is listed")
	case !found && len(customers) > 0:
		s.warn("found", "false, yet customers are listed")
	case c.test && !found:
		s.fail("found", "false for test=true: WAzion's connection test expects the sample customer")
	}
	states := map[string]bool{}
	if v, present := s.field(doc, "", "labels", "object", false); present {
		labels := v.(map[string]any)
		var missing []string
		for _, key := range wazion.LabelKeys() {
			if t, _ := labels[key].(string); t == "" {
				missing = append(missing, key)
			} else if strings.HasPrefix(key, "state_") {
				states[t] = true
			}
		}
		if len(missing) > 0 {
			s.fail("labels", "%d of WAzion's label keys missing or empty: %s", len(missing), strings.Join(missing, ", "))
		}
	}
	orders := 0
	for i, cu := range customers {
		p := fmt.Sprintf("customers[%d]", i)
		s.str(cu, p, "name", true)
		s.str(cu, p, "email", true)
		if s.str(cu, p, "phone", true) == "" {
			s.warn(p+".phone", "empty")
		}
		s.num(cu, p, "ordersCount", true)
		s.num(cu, p, "totalSpent", true)
		state := s.str(cu, p, "state", true)
		if len(states) > 0 && state != "" && !states[state] {
			s.warn(p+".state", "%q is not one of the state_* labels", state)
		}
		s.str(cu, p, "shopUrl", false)
		s.num(cu, p, "totalRefunded", false)
		s.num(cu, p, "totalDiscounts", false)
		os, _ := s.objects(cu, p, "orders", false)
		orders += len(os)
		for j, o := range os {
			op := fmt.Sprintf("%s.orders[%d]", p, j)
			s.str(o, op, "name", true)
			s.date(o, op, "date", true)
			s.num(o, op, "amount", true)
			s.num(o, op, "netAmount", false)
			s.num(o, op, "totalRefunded", false)
			s.num(o, op, "totalDiscounts", false)
			s.str(o, op, "currency", true)
			s.boolean(o, op, "cancelled", false)
			s.str(o, op, "shopUrl", false)
			s.str(o, op, "note", false)
			items, _ := s.objects(o, op, "items", false)
			for k, it := range items {
				ip := fmt.Sprintf("%s.items[%d]", op, k)
				s.str(it, ip, "title", true)
				s.num(it, ip, "quantity", true)
				s.num(it, ip, "amount", true)
				for _, key := range []string{"currentQuantity", "originalAmount", "discountedAmount", "discount", "refundedQuantity", "refundedAmount"} {
					s.num(it, ip, key, false)
				}
				if st := s.str(it, ip, "status", false); st != "" && !itemStatuses[st] {
					s.fail(ip+".status", "%q is not active, partially_refunded or fully_refunded", st)
				}
			}
			tracking, _ := s.objects(o, op, "tracking", false)
			for k, tr := range tracking {
				tp := fmt.Sprintf("%s.tracking[%d]", op, k)
				for _, key := range []string{"number", "company", "url", "displayStatus"} {
					s.str(tr, tp, key, false)
				}
			}
		}
		carts, _ := s.objects(cu, p, "abandonedCarts", false)
		for j, cart := range carts {
			cp := fmt.Sprintf("%s.abandonedCarts[%d]", p, j)
			s.date(cart, cp, "date", true)
			s.str(cart, cp, "url", false)
			items, _ := s.objects(cart, cp, "items", false)
			for k, it := range items {
				ip := fmt.Sprintf("%s.items[%d]", cp, k)
				s.str(it, ip, "title", true)
				s.num(it, ip, "quantity", true)
				s.num(it, ip, "amount", true)
			}
		}
	}
	if !found {
		return "not found"
	}
	return fmt.Sprintf("found: %s, %s", plural(len(customers), "customer", "customers"), plural(orders, "order", "orders"))
}

func judgeInitialInfo(s *shape, doc map[string]any, c selftestCase) string {
	found, _ := s.boolean(doc, "", "found", true)
	info := s.str(doc, "", "info", found)
	switch {
	case found && strings.TrimSpace(info) == "":
		s.fail("info", "empty although found is true: the AI gets no context")
	case c.test && !found:
		s.fail("found", "false for test=true: WAzion's connection test expects the sample text")
	}
	if !found {
		return "not found"
	}
	return fmt.Sprintf("found: %d characters of text", utf8.RuneCountInString(info))
}

func judgeFindToJoin(s *shape, doc map[string]any, o selftestOptions, c selftestCase) string {
	key := "customers"
	if _, ok := doc["customers"]; !ok {
		if _, ok := doc["results"]; ok {
			key = "results"
		}
	}
	customers, _ := s.objects(doc, "", key, true)
	if c.test && len(customers) == 0 {
		s.fail(key, "empty for test=true: WAzion's connection test expects sample customers")
	}
	excluded := map[string]bool{}
	for _, p := range []string{o.phone, o.related} {
		if d := digitsOf(p); d != "" {
			excluded[d] = true
		}
	}
	for i, cu := range customers {
		p := fmt.Sprintf("%s[%d]", key, i)
		s.id(cu, p, "id")
		s.str(cu, p, "name", true)
		s.str(cu, p, "email", true)
		phone := s.str(cu, p, "phone", true)
		if phone == "" {
			s.warn(p+".phone", "empty: WAzion cannot link the conversation to this customer")
		}
		if !c.test && excluded[digitsOf(phone)] {
			s.fail(p+".phone", "is the conversation's phone or a related one, which WAzion asked to leave out")
		}
	}
	return plural(len(customers), "candidate", "candidates")
}

func judgeProducts(s *shape, doc map[string]any, c selftestCase) string {
	if st, ok := s.num(doc, "", "http_status", true); ok && st != 200 {
		s.warn("http_status", "%v, expected 200", st)
	}
	products := judgeProductList(s, doc, c, false)
	s.str(doc, "", "target_locale", true)
	if _, ok := doc["raw"]; !ok {
		s.warn("raw", "missing (WAzion documents it for debugging)")
	}
	return plural(len(products), "product", "products")
}

func judgeProductsAI(s *shape, doc map[string]any, c selftestCase) string {
	products := judgeProductList(s, doc, c, true)
	s.str(doc, "", "locale", true)
	return plural(len(products), "product", "products") + " (AI format)"
}

// judgeProductList checks count and products, common to both formats.
func judgeProductList(s *shape, doc map[string]any, c selftestCase, ai bool) []map[string]any {
	count, hasCount := s.num(doc, "", "count", true)
	products, _ := s.objects(doc, "", "products", true)
	if hasCount && int(count) != len(products) {
		s.fail("count", "%v, but %d products are listed", count, len(products))
	}
	if c.test && len(products) == 0 {
		s.fail("products", "empty for test=true: WAzion's connection test expects the sample product")
	}
	for i, p := range products {
		pp := fmt.Sprintf("products[%d]", i)
		if s.str(p, pp, "title", true) == "" {
			s.fail(pp+".title", "empty")
		}
		s.str(p, pp, "handle", true)
		desc := s.str(p, pp, "description", true)
		if !ai && utf8.RuneCountInString(desc) > wazion.MaxDescriptionRunes {
			s.fail(pp+".description", "%d characters; WAzion's normal format allows %d", utf8.RuneCountInString(desc), wazion.MaxDescriptionRunes)
		}
		s.str(p, pp, "sku", true)
		if s.str(p, pp, "url", true) == "" {
			s.warn(pp+".url", "empty: the agent cannot share a link")
		}
		if !ai {
			s.str(p, pp, "title_copy", false)
			s.str(p, pp, "image", true)
		}
		variants, _ := s.objects(p, pp, "variants", true)
		for j, v := range variants {
			vp := fmt.Sprintf("%s.variants[%d]", pp, j)
			s.id(v, vp, "id")
			s.str(v, vp, "title", true)
			s.str(v, vp, "sku", true)
			if u := s.str(v, vp, "url", true); u != "" && !strings.Contains(u, "variant=") {
				s.warn(vp+".url", "has no variant= parameter")
			}
			if !ai {
				s.str(v, vp, "title_copy", false)
				s.boolean(v, vp, "has_custom_title", false)
				s.str(v, vp, "image", false)
			}
		}
	}
	return products
}

func judgeGlobalSearch(s *shape, doc map[string]any, c selftestCase) string {
	found, _ := s.boolean(doc, "", "found", true)
	customers, _ := s.objects(doc, "", "customers", found)
	switch {
	case found && len(customers) == 0:
		s.fail("customers", "found is true but no customer is listed")
	case c.test && !found:
		s.fail("found", "false for test=true: WAzion's connection test expects the sample customer")
	}
	if len(customers) > 15 {
		s.fail("customers", "%d listed; WAzion shows at most 15", len(customers))
	}
	phones := map[string]bool{}
	for i, cu := range customers {
		p := fmt.Sprintf("customers[%d]", i)
		s.id(cu, p, "id")
		s.str(cu, p, "name", true)
		s.str(cu, p, "email", true)
		phone := s.str(cu, p, "phone", true)
		switch d := digitsOf(phone); {
		case phone == "":
			s.warn(p+".phone", "empty: the agent cannot open a chat with this customer")
		case phones[d]:
			s.warn(p+".phone", "repeated: WAzion drops duplicates by phone")
		default:
			phones[d] = true
		}
		s.str(cu, p, "customerUrl", false)
		orders, _ := s.objects(cu, p, "orders", false)
		if len(orders) > 3 {
			s.warn(p+".orders", "%d listed; WAzion shows at most 3", len(orders))
		}
		for j, or := range orders {
			op := fmt.Sprintf("%s.orders[%d]", p, j)
			s.str(or, op, "number", true)
			s.str(or, op, "url", false)
		}
	}
	if !found {
		return "not found"
	}
	return "found: " + plural(len(customers), "customer", "customers")
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
