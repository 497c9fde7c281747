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

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/wazion/contract"
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
	verdict := contract.Check(contract.Call{
		Endpoint: c.endpoint, Format: c.format, Test: c.test,
		Phones: []string{o.phone, o.related}, WrongToken: c.auth == viaWrong,
	}, body)
	res.Summary = verdict.Summary
	res.Problems = append(res.Problems, answerProblems(verdict, c)...)
	for _, w := range verdict.Warnings {
		res.Warnings = append(res.Warnings, w.String())
	}
	return finishRow(res), false
}

// maxShapeProblems keeps one broken answer from flooding the report.
const maxShapeProblems = 8

// answerProblems lists what is wrong with an answer for a call that should
// succeed: what breaks WAzion's contract and, unless the token was wrong on
// purpose, an error in the answer.
func answerProblems(v contract.Result, c selftestCase) []string {
	var out []string
	switch {
	case c.auth == viaWrong:
	case v.Error == "unauthorized":
		out = append(out, `error: "unauthorized": the token was refused; check --token, or the store's tokens (WAZION_TOKEN)`)
	case v.Error != "":
		out = append(out, fmt.Sprintf("error: %q", v.Error))
	}
	for _, p := range v.Problems {
		out = append(out, p.String())
	}
	if len(out) <= maxShapeProblems {
		return out
	}
	return append(out[:maxShapeProblems:maxShapeProblems], fmt.Sprintf("and %d more shape problems", len(out)-maxShapeProblems))
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
