package whatalo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Version is this client's version, sent in the User-Agent.
const Version = "0.1.0"

// Defaults of a Client made without options.
const (
	DefaultBaseURL     = "https://api.whatalo.com/v1"
	DefaultUserAgent   = "whatalo-wazion/" + Version
	DefaultMaxBodySize = 8 << 20
	DefaultRetryMax    = 3
	DefaultRetryWait   = 200 * time.Millisecond // first backoff
	DefaultRetryCap    = 2 * time.Second        // longest backoff
	maxPerPage         = 100
	errorBodyLimit     = 64 << 10
)

// Client talks to the Whatalo REST API with one API key. It is safe for
// concurrent use; make one per store and share it.
type Client struct {
	baseURL      string
	apiKey       string
	userAgent    string
	limiter      *Limiter
	maxBody      int64
	retryMax     int
	retryWaitMin time.Duration
	retryWaitMax time.Duration
	logger       *slog.Logger
	observer     Observer
	httpClient   *http.Client
	retry        *retryablehttp.Client

	// Services, one per resource.
	Customers *CustomersService
	Orders    *OrdersService
	Products  *ProductsService
	Store     *StoreService
	Webhooks  *WebhooksService
}

type service struct{ client *Client }

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL points the client at another API root, such as the fake's
// APIURL. Paths are appended to it ("/customers").
func WithBaseURL(base string) Option {
	return func(c *Client) error {
		u, err := url.Parse(base)
		if err != nil {
			return fmt.Errorf("parse base URL: %w", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("base URL %q: want an absolute http or https URL", base)
		}
		c.baseURL = strings.TrimRight(u.String(), "/")
		return nil
	}
}

// WithHTTPClient sends requests through a copy of hc: its Transport (or
// NewTransport if nil), Timeout and Jar are kept. Redirects are never
// followed, so the API key cannot be forwarded to another host.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("nil http.Client")
		}
		cp := *hc
		c.httpClient = &cp
		return nil
	}
}

// WithUserAgent replaces the User-Agent (default "whatalo-wazion/<Version>").
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		if ua == "" {
			return errors.New("empty user agent")
		}
		c.userAgent = ua
		return nil
	}
}

// WithLimiter uses l for the key's budget. Give every Client of one API key
// the same Limiter: Whatalo counts per key. The default is a Limiter of
// DefaultRateLimit(apiKey) with DefaultBackgroundShare, private to the Client.
func WithLimiter(l *Limiter) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("nil limiter")
		}
		c.limiter = l
		return nil
	}
}

// WithRetryMax sets how many times a failed attempt may be retried (default
// 3; 0 disables retries).
func WithRetryMax(n int) Option {
	return func(c *Client) error {
		c.retryMax = max(0, n)
		return nil
	}
}

// WithRetryWait sets the first backoff and its cap (defaults 200 ms and 2 s).
// Backoff doubles per retry with jitter in [half, full].
func WithRetryWait(first, cap time.Duration) Option {
	return func(c *Client) error {
		if first <= 0 || cap < first {
			return fmt.Errorf("retry wait: want 0 < first <= cap, got %s, %s", first, cap)
		}
		c.retryWaitMin, c.retryWaitMax = first, cap
		return nil
	}
}

// WithMaxBodySize caps response bodies (default 8 MiB); a larger success
// body is an error matching ErrBadResponse.
func WithMaxBodySize(n int64) Option {
	return func(c *Client) error {
		if n <= 0 {
			return fmt.Errorf("max body size %d: want > 0", n)
		}
		c.maxBody = n
		return nil
	}
}

// WithLogger logs attempts, retries and rate-limit pauses at debug and warn
// level. Neither the API key nor query strings (which hold phones and emails)
// are ever logged: requests are named by route pattern.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l != nil {
			c.logger = l
		}
		return nil
	}
}

// WithObserver reports every attempt and limiter decision to o, for metrics.
func WithObserver(o Observer) Option {
	return func(c *Client) error {
		if o != nil {
			c.observer = o
		}
		return nil
	}
}

// NewClient returns a Client using apiKey.
func NewClient(apiKey string, opts ...Option) (*Client, error) {
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("whatalo: new client: empty API key")
	}
	c := &Client{
		baseURL:      DefaultBaseURL,
		apiKey:       apiKey,
		userAgent:    DefaultUserAgent,
		maxBody:      DefaultMaxBodySize,
		retryMax:     DefaultRetryMax,
		retryWaitMin: DefaultRetryWait,
		retryWaitMax: DefaultRetryCap,
		logger:       slog.New(slog.DiscardHandler),
		observer:     nopObserver{},
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("whatalo: new client: %w", err)
		}
	}
	if c.limiter == nil {
		c.limiter = NewLimiter(DefaultRateLimit(apiKey), DefaultBackgroundShare)
	}
	if c.httpClient == nil {
		c.httpClient = &http.Client{}
	}
	base := c.httpClient.Transport
	if base == nil {
		base = NewTransport()
	}
	c.httpClient.Transport = &transport{base: base, limiter: c.limiter, observer: c.observer, logger: c.logger}
	c.httpClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.retry = &retryablehttp.Client{
		HTTPClient:   c.httpClient,
		Logger:       nil, // it logs raw URLs; attempts are logged by transport instead
		RetryWaitMin: c.retryWaitMin,
		RetryWaitMax: c.retryWaitMax,
		RetryMax:     c.retryMax,
		CheckRetry:   c.checkRetry,
		Backoff:      backoff,
		ErrorHandler: lastAttempt,
	}
	c.Customers = (*CustomersService)(&service{c})
	c.Orders = (*OrdersService)(&service{c})
	c.Products = (*ProductsService)(&service{c})
	c.Store = (*StoreService)(&service{c})
	c.Webhooks = (*WebhooksService)(&service{c})
	return c, nil
}

// NewTransport returns the tuned *http.Transport a Client uses by default:
// pooled keep-alive connections to one host, HTTP/2 when offered, and
// timeouts on every phase before the response headers.
func NewTransport() *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// BaseURL returns the API root the Client calls.
func (c *Client) BaseURL() string { return c.baseURL }

// Limiter returns the Client's Limiter, for metrics and for sharing.
func (c *Client) Limiter() *Limiter { return c.limiter }

// String keeps the API key out of %v and %+v.
func (c *Client) String() string { return "whatalo.Client{" + c.baseURL + "}" }

// GoString keeps the API key out of %#v.
func (c *Client) GoString() string { return c.String() }

// Rate is the key's rate-limit state from a response's X-RateLimit-* headers;
// Limit and Remaining are -1 when a header was missing.
type Rate struct {
	Limit     int
	Remaining int
	Reset     time.Time
}

// Response wraps the *http.Response of the final attempt; its Body has been
// read and closed.
type Response struct {
	*http.Response
	Rate       Rate
	Pagination Pagination // set by list calls
}

// NextPage returns the page after this one, or 0 on the last page.
func (r *Response) NextPage() int {
	if r == nil || r.Pagination.Page < 1 || r.Pagination.Page >= r.Pagination.TotalPages {
		return 0
	}
	return r.Pagination.Page + 1
}

func newResponse(hr *http.Response) *Response {
	r := &Response{Response: hr}
	r.Rate, _ = parseRate(hr.Header, time.Now())
	return r
}

// parseRate reads X-RateLimit-*; ok is false when Remaining is absent.
func parseRate(h http.Header, now time.Time) (r Rate, ok bool) {
	rem, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining")))
	if err != nil {
		return Rate{Limit: -1, Remaining: -1}, false
	}
	r.Remaining = rem
	r.Limit = -1
	if lim, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Limit"))); err == nil {
		r.Limit = lim
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil {
		if n < 1e9 { // seconds from now rather than a Unix time
			r.Reset = now.Add(time.Duration(n) * time.Second)
		} else {
			r.Reset = time.Unix(n, 0)
		}
	}
	return r, true
}

// parseRetryAfter reads Retry-After in seconds or as an HTTP date.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return max(0, time.Duration(s)*time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
}

// call is the per-request state shared by transport and the retry policy
// through the request context.
type call struct {
	route  string
	method string
	// Only the calling goroutine touches these: http.Client runs the
	// transport, and retryablehttp its policy, on the caller's goroutine.
	attempts int           // attempts started
	last     time.Duration // how long the last attempt took
}

type callKey struct{}

func callFrom(ctx context.Context) *call {
	cl, _ := ctx.Value(callKey{}).(*call)
	return cl
}

// do sends one API call. route names it for errors, logs and metrics; path is
// already escaped. When out is non-nil the envelope's data is decoded into it.
func (c *Client) do(ctx context.Context, route, path string, q url.Values, in, out any) (*Response, error) {
	hr, resp, err := c.send(ctx, route, path, q, in)
	if err != nil {
		return resp, err
	}
	defer hr.Body.Close()
	if out == nil {
		return resp, nil
	}
	data, err := c.readBody(hr)
	if err != nil {
		return resp, fmt.Errorf("whatalo: %s: read response: %w", route, err)
	}
	if err := decodeEnvelope(hr.Header.Get("Content-Type"), data, out, &resp.Pagination); err != nil {
		return resp, fmt.Errorf("whatalo: %s: decode response: %w", route, err)
	}
	return resp, nil
}

// send makes one API call and hands back a successful answer with its body
// unread, for the caller to decode and close; a non-2xx answer is read and
// closed here and returned as an *Error.
func (c *Client) send(ctx context.Context, route, path string, q url.Values, in any) (*http.Response, *Response, error) {
	method, _, _ := strings.Cut(route, " ")
	u := c.baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body any
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, nil, fmt.Errorf("whatalo: %s: encode body: %w", route, err)
		}
		body = b
	}
	ctx = context.WithValue(ctx, callKey{}, &call{route: route, method: method})
	req, err := retryablehttp.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, nil, fmt.Errorf("whatalo: %s: build request: %w", route, err)
	}
	req.Header.Set("X-API-Key", c.apiKey)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	hr, err := c.retry.Do(req)
	if err != nil {
		// url.Error quotes the URL, whose query may hold a phone or email.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, fmt.Errorf("whatalo: %s: %w", route, err)
	}
	if hr == nil {
		return nil, nil, fmt.Errorf("whatalo: %s: no response", route)
	}
	resp := newResponse(hr)
	if hr.StatusCode < 200 || hr.StatusCode > 299 {
		defer hr.Body.Close()
		return nil, resp, c.errorFrom(route, hr)
	}
	return hr, resp, nil
}

func (c *Client) readBody(hr *http.Response) ([]byte, error) {
	if hr.ContentLength > c.maxBody {
		return nil, &badResponse{msg: "response body exceeds " + formatSize(c.maxBody)}
	}
	data, err := io.ReadAll(io.LimitReader(hr.Body, c.maxBody+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &badResponse{msg: fmt.Sprintf("truncated body after %d bytes", len(data)), err: err}
		}
		return nil, err
	}
	if int64(len(data)) > c.maxBody {
		return nil, &badResponse{msg: "response body exceeds " + formatSize(c.maxBody)}
	}
	return data, nil
}

func decodeEnvelope(contentType string, data []byte, out any, pg *Pagination) error {
	if !isJSON(contentType) {
		return &badResponse{msg: fmt.Sprintf("response is not JSON (content-type %s)", contentType)}
	}
	var env struct {
		Data       json.RawMessage `json:"data"`
		Pagination *Pagination     `json:"pagination"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return jsonError(data, err)
	}
	if len(env.Data) == 0 {
		return &badResponse{msg: "response has no data field"}
	}
	if env.Pagination != nil {
		*pg = *env.Pagination
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return &badResponse{msg: "unexpected data", err: err}
	}
	return nil
}

// isJSON accepts application/json, any +json type, and a missing header
// (decoding then decides).
func isJSON(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func jsonError(data []byte, err error) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return &badResponse{msg: "empty body"}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))) {
		return &badResponse{msg: fmt.Sprintf("invalid JSON: ends early after %d bytes (truncated)", len(data))}
	}
	if se != nil {
		return &badResponse{msg: fmt.Sprintf("invalid JSON at byte %d", se.Offset), err: err}
	}
	return &badResponse{msg: "invalid JSON", err: err}
}

// errorFrom turns a non-2xx response into an *Error.
func (c *Client) errorFrom(route string, hr *http.Response) *Error {
	e := &Error{StatusCode: hr.StatusCode, Route: route}
	now := time.Now()
	e.RetryAfter = parseRetryAfter(hr.Header, now)
	if e.RetryAfter == 0 && hr.StatusCode == http.StatusTooManyRequests {
		if r, ok := parseRate(hr.Header, now); ok && r.Reset.After(now) {
			e.RetryAfter = r.Reset.Sub(now)
		}
	}
	data, err := io.ReadAll(io.LimitReader(hr.Body, min(c.maxBody, errorBodyLimit)))
	ct := hr.Header.Get("Content-Type")
	var body ErrorBody
	switch {
	case err != nil:
		e.Message = fmt.Sprintf("%s (error body unreadable: %v)", http.StatusText(hr.StatusCode), err)
	case isJSON(ct) && json.Unmarshal(data, &body) == nil && (body.Error.Code != "" || body.Error.Message != ""):
		e.Code, e.Message, e.Details = body.Error.Code, body.Error.Message, body.Error.Details
	case len(bytes.TrimSpace(data)) == 0:
		e.Message = http.StatusText(hr.StatusCode)
	case !isJSON(ct):
		e.Message = fmt.Sprintf("%s (error body is not JSON, content-type %s)", http.StatusText(hr.StatusCode), ct)
	default:
		e.Message = fmt.Sprintf("%s (error body is not the error envelope)", http.StatusText(hr.StatusCode))
	}
	return e
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// lastAttempt hands back the final attempt as it was, so a 5xx that outlived
// its retries becomes an *Error rather than retryablehttp's "giving up".
func lastAttempt(resp *http.Response, err error, _ int) (*http.Response, error) {
	if err != nil && resp != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, err
}

// Ptr returns a pointer to v, for optional filter fields.
func Ptr[T any](v T) *T { return &v }
