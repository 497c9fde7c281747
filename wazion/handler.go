package wazion

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// Defaults for Options.
const (
	// DefaultMargin is how long before WAzion's budget the service answers,
	// to cover the network and WAzion's own clock.
	DefaultMargin = 750 * time.Millisecond
	// DefaultGlobalSearchBudget is how long WAzion waits for globalSearch.
	DefaultGlobalSearchBudget = 5 * time.Second
	// DefaultBudget is how long WAzion waits for the other endpoints.
	DefaultBudget = 10 * time.Second
	// maxGrace is the most the handler waits past the deadline for a
	// Backend to hand over the partial data it has; a Backend that watches
	// its context needs far less.
	maxGrace = 50 * time.Millisecond
)

// ContentTypeJSON is the Content-Type of every answer on the WAzion routes.
const ContentTypeJSON = "application/json; charset=utf-8"

// HeaderRequestID carries a request id in and out; it is generated when
// absent.
const HeaderRequestID = "X-Request-Id"

// Outcomes of a WAzion request, as reported to the Observer and logged.
const (
	OutcomeFound        = "found"
	OutcomeNotFound     = "not_found"
	OutcomeError        = "error"
	OutcomeTimeout      = "timeout"
	OutcomeUnauthorized = "unauthorized"
	OutcomeBadRequest   = "bad_request"
	OutcomeTest         = "test"
	OutcomePanic        = "panic"
	OutcomeRateLimited  = "rate_limited"
)

// Observer is told about every WAzion request once it is answered, for
// metrics. store is "" when the token matched no store. Implementations
// must be safe for concurrent use and fast: they run on the request path.
type Observer interface {
	ObserveRequest(endpoint, store, outcome string, d time.Duration)
}

// Options tunes the WAzion handlers. The zero value is ready to use.
type Options struct {
	// BodyLimit is the largest request body read, in bytes; zero means
	// DefaultBodyLimit. Larger bodies get an error answer. Fiber's own
	// fiber.Config.BodyLimit must be at least this big, or Fiber refuses the
	// body before the handler sees it (see ErrorHandler).
	BodyLimit int
	// Margin is subtracted from each budget to get the handler's deadline;
	// zero means DefaultMargin. The deadline is never less than half the
	// budget, so a margin too large for a short budget still leaves the
	// Backend time to work.
	Margin time.Duration
	// Budgets overrides WAzion's time budget per endpoint name (e.g.
	// EndpointGlobalSearch); missing entries use DefaultGlobalSearchBudget
	// for globalSearch and DefaultBudget for the others.
	Budgets map[string]time.Duration
	// Logger receives one access log line per request and panic reports;
	// nil discards them.
	Logger *slog.Logger
	// Observer, if set, is told about every request.
	Observer Observer
	// JSONEncoder, if set, encodes answers instead of encoding/json; it has
	// the signature of fiber.Config.JSONEncoder, so a faster drop-in such as
	// github.com/goccy/go-json's Marshal fits. Encoding is most of the cost
	// of a cached answer.
	JSONEncoder func(v any) ([]byte, error)
}

// Endpoints returns the five endpoint names in WAzion's order.
func Endpoints() []string {
	return []string{
		EndpointCustomerInfo,
		EndpointCustomerInitialInfo,
		EndpointFindToJoin,
		EndpointSearchProducts,
		EndpointGlobalSearch,
	}
}

// Register mounts GET and POST /wazion/<endpoint> on r for the five
// endpoints. Every answer on these routes is HTTP 200 with a JSON body, as
// WAzion requires; failures are told in the body's "error". Build the
// fiber.App with FiberConfig so that errors Fiber raises itself keep that
// promise too.
func Register(r fiber.Router, tenants *Tenants, opts Options) {
	s := newServer(tenants, opts)
	for _, name := range Endpoints() {
		h := s.handler(s.endpoints[strings.ToLower(name)])
		r.Get("/wazion/"+name, h)
		r.Post("/wazion/"+name, h)
	}
}

// FiberConfig returns cfg set up for the WAzion routes: its ErrorHandler
// wrapped by ErrorHandler, multipart pre-parsing off (fasthttp would refuse a
// malformed multipart body before any handler and forget the path, so the
// answer could not follow WAzion's contract), and a BodyLimit no smaller than
// Options.BodyLimit.
func FiberConfig(cfg fiber.Config, tenants *Tenants, opts Options) fiber.Config {
	cfg.ErrorHandler = ErrorHandler(tenants, opts, cfg.ErrorHandler)
	cfg.DisablePreParseMultipartForm = true
	limit := opts.BodyLimit
	if limit <= 0 {
		limit = DefaultBodyLimit
	}
	if cfg.BodyLimit > 0 && cfg.BodyLimit < limit {
		cfg.BodyLimit = limit
	}
	return cfg
}

// ErrorHandler returns a fiber.ErrorHandler for fiber.Config that answers
// errors Fiber raises itself on the WAzion routes (a body over Fiber's
// BodyLimit, a method other than GET or POST) the WAzion way: HTTP 200 and
// JSON, unauthorized unless the request still holds a valid token. Other paths go to next (fiber.DefaultErrorHandler when nil). Pass
// the same tenants and options as to Register.
func ErrorHandler(tenants *Tenants, opts Options, next fiber.ErrorHandler) fiber.ErrorHandler {
	s := newServer(tenants, opts)
	if next == nil {
		next = fiber.DefaultErrorHandler
	}
	return func(c *fiber.Ctx, err error) error {
		ep := s.endpointForPath(c.Path())
		if ep == nil {
			return next(c, err)
		}
		rec := s.begin(c, ep)
		defer s.finish(c, rec)
		rec.detail = err
		// Whatever part of the request was read still counts: after a
		// middleware error the body is there, after fasthttp refused the
		// body only the query string and headers are.
		p, _ := parseFiber(c, ep.name, s.bodyLimit)
		st, _ := s.tenants.authenticate(c, p)
		if st == nil {
			rec.outcome = OutcomeUnauthorized
			s.writeRaw(c, ep.unauthorized)
			return nil
		}
		rec.store = st.name
		rec.errMsg, rec.outcome = fiberErrorMessage(err)
		s.write(c, rec, ep.shape(st, Request{Endpoint: ep.name}, nil, rec.errMsg).body)
		return nil
	}
}

// fiberErrorMessage says what an error raised outside the WAzion handlers
// (by fasthttp, the router or a middleware) means for WAzion. Errors that
// are not *fiber.Error count as internal, as in fiber.DefaultErrorHandler.
func fiberErrorMessage(err error) (msg, outcome string) {
	var fe *fiber.Error
	if !errors.As(err, &fe) {
		return "internal error", OutcomeError
	}
	switch code := fe.Code; {
	case code == http.StatusRequestEntityTooLarge:
		return ErrBodyTooLarge.Error(), OutcomeBadRequest
	case code == http.StatusMethodNotAllowed:
		return "method not allowed", OutcomeBadRequest
	case code == http.StatusRequestHeaderFieldsTooLarge:
		return "request headers too large", OutcomeBadRequest
	case code == http.StatusRequestTimeout:
		return "request timeout", OutcomeTimeout
	case code == http.StatusTooManyRequests:
		return "too many requests", OutcomeError
	case code >= 500:
		return "internal error", OutcomeError
	}
	return "bad request", OutcomeBadRequest
}

// server holds what the handlers share.
type server struct {
	tenants   *Tenants
	bodyLimit int
	logger    *slog.Logger
	observer  Observer
	answerObs AnswerObserver              // observer, when it also counts reused answers
	encoder   func(v any) ([]byte, error) // nil: encoding/json
	endpoints map[string]*endpoint        // by lower-case name
	bufs      sync.Pool
}

// endpoint describes one WAzion operation to the generic handler.
type endpoint struct {
	name     string
	deadline time.Duration
	grace    time.Duration
	// unauthorized is the exact answer to a bad token.
	unauthorized []byte
	// call runs the Backend; its result may be a typed nil.
	call func(ctx context.Context, b Backend, req Request) (any, error)
	// shape turns a Backend answer (possibly nil) and an error message
	// into the body sent to WAzion.
	shape func(st *store, req Request, resp any, errMsg string) shaped
	// sample is the test=true answer.
	sample func(st *store, req Request) any
	// precheck answers without the Backend when the request cannot match
	// anything; ok is false otherwise.
	precheck func(req Request) (errMsg, outcome string, ok bool)
}

// shaped is a body ready to encode and what it says.
type shaped struct {
	body   any
	found  bool
	errMsg string
}

var (
	unauthorizedJSON           = []byte(`{"found":false,"error":"unauthorized"}`)
	unauthorizedFindToJoinJSON = []byte(`{"found":false,"error":"unauthorized","customers":[]}`)
	// internalErrorJSON is the answer when an answer cannot be encoded.
	internalErrorJSON = []byte(`{"found":false,"error":"internal error"}`)
)

func newServer(tenants *Tenants, opts Options) *server {
	if tenants == nil {
		panic("wazion: nil *Tenants")
	}
	s := &server{
		tenants:   tenants,
		bodyLimit: opts.BodyLimit,
		logger:    opts.Logger,
		observer:  opts.Observer,
		encoder:   opts.JSONEncoder,
		endpoints: make(map[string]*endpoint),
		bufs:      sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
	s.answerObs, _ = opts.Observer.(AnswerObserver)
	if s.bodyLimit <= 0 {
		s.bodyLimit = DefaultBodyLimit
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	margin := opts.Margin
	if margin <= 0 {
		margin = DefaultMargin
	}
	grace := max(min(margin/4, maxGrace), time.Millisecond)
	for _, ep := range endpointTable() {
		budget := opts.Budgets[ep.name]
		if budget <= 0 {
			budget = DefaultBudget
			if ep.name == EndpointGlobalSearch {
				budget = DefaultGlobalSearchBudget
			}
		}
		ep.deadline = max(budget-margin, budget/2)
		ep.grace = grace
		s.endpoints[strings.ToLower(ep.name)] = ep
	}
	return s
}

// endpointTable describes the five endpoints.
func endpointTable() []*endpoint {
	return []*endpoint{
		{
			name:         EndpointCustomerInfo,
			unauthorized: unauthorizedJSON,
			call: func(ctx context.Context, b Backend, req Request) (any, error) {
				return b.CustomerInfo(ctx, req)
			},
			shape: func(st *store, _ Request, resp any, errMsg string) shaped {
				r, _ := resp.(*CustomerInfoResponse)
				out := shapeCustomerInfo(r, storeLabels(st), errMsg)
				return shaped{body: out, found: out.Found, errMsg: out.Error}
			},
			sample: func(st *store, _ Request) any { return testCustomerInfo(storeLabels(st)) },
		},
		{
			name:         EndpointCustomerInitialInfo,
			unauthorized: unauthorizedJSON,
			call: func(ctx context.Context, b Backend, req Request) (any, error) {
				return b.CustomerInitialInfo(ctx, req)
			},
			shape: func(_ *store, _ Request, resp any, errMsg string) shaped {
				r, _ := resp.(*InitialInfoResponse)
				out := shapeInitialInfo(r, errMsg)
				return shaped{body: out, found: out.Found, errMsg: out.Error}
			},
			sample: func(st *store, _ Request) any { return testInitialInfo(storeLabels(st)) },
		},
		{
			name:         EndpointFindToJoin,
			unauthorized: unauthorizedFindToJoinJSON,
			call: func(ctx context.Context, b Backend, req Request) (any, error) {
				return b.FindToJoin(ctx, req)
			},
			shape: func(_ *store, _ Request, resp any, errMsg string) shaped {
				r, _ := resp.(*FindToJoinResponse)
				out := shapeFindToJoin(r, errMsg)
				return shaped{body: out, found: len(out.Customers) > 0, errMsg: out.Error}
			},
			sample: func(*store, Request) any { return testFindToJoin() },
		},
		{
			name:         EndpointSearchProducts,
			unauthorized: unauthorizedJSON,
			call: func(ctx context.Context, b Backend, req Request) (any, error) {
				return b.SearchProducts(ctx, req)
			},
			shape: func(_ *store, req Request, resp any, errMsg string) shaped {
				r, _ := resp.(*ProductSearch)
				found := r != nil && len(r.Products) > 0
				return shaped{body: renderProducts(r, req, errMsg), found: found, errMsg: errMsg}
			},
			sample: func(_ *store, req Request) any { return renderProducts(testProductSearch(), req, "") },
			precheck: func(req Request) (string, string, bool) {
				if utf8.RuneCountInString(req.Query) < MinQueryRunes {
					return "", OutcomeNotFound, true
				}
				return "", "", false
			},
		},
		{
			name:         EndpointGlobalSearch,
			unauthorized: unauthorizedJSON,
			call: func(ctx context.Context, b Backend, req Request) (any, error) {
				return b.GlobalSearch(ctx, req)
			},
			shape: func(_ *store, _ Request, resp any, errMsg string) shaped {
				r, _ := resp.(*GlobalSearchResponse)
				out := shapeGlobalSearch(r, errMsg)
				return shaped{body: out, found: out.Found, errMsg: out.Error}
			},
			sample: func(*store, Request) any { return testGlobalSearch() },
			precheck: func(req Request) (string, string, bool) {
				if utf8.RuneCountInString(req.Query) < MinQueryRunes {
					return fmt.Sprintf("query must be at least %d characters", MinQueryRunes), OutcomeBadRequest, true
				}
				return "", "", false
			},
		},
	}
}

func storeLabels(st *store) *Labels {
	if st == nil {
		return nil
	}
	return st.labels
}

// endpointForPath finds the endpoint a path like /x/wazion/globalSearch
// names, in any case, as Fiber's default routing is case-insensitive.
func (s *server) endpointForPath(path string) *endpoint {
	path = strings.TrimSuffix(path, "/")
	i := strings.LastIndexByte(path, '/')
	if i < 0 || !strings.HasSuffix(strings.ToLower(path[:i]), "/wazion") {
		return nil
	}
	return s.endpoints[strings.ToLower(path[i+1:])]
}

// record is what the access log and the Observer learn about a request.
type record struct {
	endpoint string
	start    time.Time
	info     *requestInfo
	store    string
	outcome  string
	phone    string
	errMsg   string
	detail   error // full cause, for the log only
	reused   bool  // a recent answer was sent again (Tenant.AnswerTTL)
}

func (s *server) begin(c *fiber.Ctx, ep *endpoint) *record {
	return &record{
		endpoint: ep.name,
		start:    time.Now(),
		info:     &requestInfo{id: requestID(c)},
		outcome:  OutcomeError,
	}
}

// handler is the one handler behind all five routes.
func (s *server) handler(ep *endpoint) fiber.Handler {
	return func(c *fiber.Ctx) error {
		rec := s.begin(c, ep)
		defer s.finish(c, rec)
		var st *store
		defer func() {
			if p := recover(); p != nil {
				s.logger.Error("wazion handler panic",
					slog.String("request_id", rec.info.id),
					slog.String("endpoint", ep.name),
					slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())))
				rec.outcome, rec.errMsg = OutcomePanic, "internal error"
				s.write(c, rec, ep.shape(st, Request{Endpoint: ep.name}, nil, rec.errMsg).body)
			}
		}()

		p, perr := parseFiber(c, ep.name, s.bodyLimit)
		var key *tokenKey
		st, key = s.tenants.authenticate(c, p)
		if st == nil {
			rec.outcome = OutcomeUnauthorized
			s.writeRaw(c, ep.unauthorized)
			return nil
		}
		rec.store = st.name
		req := p.req
		rec.phone = req.Phone
		if perr != nil {
			rec.outcome, rec.errMsg, rec.detail = OutcomeBadRequest, publicParseError(perr), perr
			s.write(c, rec, ep.shape(st, req, nil, rec.errMsg).body)
			return nil
		}
		if req.Test {
			rec.outcome = OutcomeTest
			s.write(c, rec, ep.sample(st, req))
			return nil
		}
		if ep.precheck != nil {
			if msg, outcome, ok := ep.precheck(req); ok {
				rec.outcome, rec.errMsg = outcome, msg
				s.write(c, rec, ep.shape(st, req, nil, msg).body)
				return nil
			}
		}
		if !key.allow() {
			rec.outcome, rec.errMsg = OutcomeRateLimited, "too many requests for this token: slow down"
			s.write(c, rec, ep.shape(st, req, nil, rec.errMsg).body)
			return nil
		}
		akey := ""
		var agen uint64
		if st.answers != nil {
			akey = answerKey(req)
			if a, ok := st.answers.get(akey, rec.start); ok {
				rec.outcome = OutcomeNotFound
				if a.found {
					rec.outcome = OutcomeFound
				}
				rec.reused = true
				s.observeAnswer(ep, st, true)
				s.writeRaw(c, a.body)
				return nil
			}
			s.observeAnswer(ep, st, false)
			agen = st.answers.generation()
		}
		res := s.callBackend(c, ep, st, req, rec.info)
		var out shaped
		switch {
		case res.panicked:
			rec.outcome, rec.errMsg = OutcomePanic, "internal error"
			out = ep.shape(st, req, nil, rec.errMsg)
		case res.timedOut:
			rec.outcome, rec.detail = OutcomeTimeout, res.ctxErr
			rec.errMsg = fmt.Sprintf("timeout: no answer within %s", ep.deadline)
			if errors.Is(res.ctxErr, context.Canceled) {
				rec.errMsg = "request cancelled"
			}
			out = ep.shape(st, req, nil, rec.errMsg)
		case res.err != nil:
			rec.detail = res.err
			rec.outcome, rec.errMsg = backendErrorMessage(res.err, ep.deadline)
			out = ep.shape(st, req, res.resp, rec.errMsg)
		default:
			out = ep.shape(st, req, res.resp, "")
			switch {
			case out.errMsg != "":
				rec.outcome, rec.errMsg = OutcomeError, out.errMsg
			case out.found:
				rec.outcome = OutcomeFound
			default:
				rec.outcome = OutcomeNotFound
			}
		}
		s.write(c, rec, out.body)
		if akey != "" && (rec.outcome == OutcomeFound || rec.outcome == OutcomeNotFound) {
			st.answers.put(akey, agen, bytes.Clone(c.Response().Body()), rec.outcome == OutcomeFound, time.Now())
		}
		return nil
	}
}

func (s *server) observeAnswer(ep *endpoint, st *store, reused bool) {
	if s.answerObs != nil {
		s.answerObs.ObserveAnswer(ep.name, st.name, reused)
	}
}

// backendErrorMessage picks the outcome and the text WAzion sees for a
// Backend error: the Error's own message, a timeout, or a generic line.
func backendErrorMessage(err error, deadline time.Duration) (outcome, msg string) {
	outcome = OutcomeError
	if errors.Is(err, context.DeadlineExceeded) {
		outcome = OutcomeTimeout
	}
	var pe *Error
	switch {
	case errors.As(err, &pe) && pe.Message != "":
		return outcome, pe.Message
	case outcome == OutcomeTimeout:
		return outcome, fmt.Sprintf("timeout: partial answer after %s", deadline)
	case errors.Is(err, context.Canceled):
		return outcome, "request cancelled"
	}
	return outcome, "upstream error"
}

// result is what the Backend goroutine hands back.
type result struct {
	resp     any
	err      error
	panicked bool
	timedOut bool
	ctxErr   error
}

// callBackend runs the Backend in its own goroutine under the endpoint's
// deadline and waits for it, or for the deadline plus a short grace in which
// a well-behaved Backend hands over its partial data. A Backend that ignores
// its context is abandoned, not waited for: WAzion gets its answer either
// way.
func (s *server) callBackend(c *fiber.Ctx, ep *endpoint, st *store, req Request, info *requestInfo) result {
	ctx, cancel := context.WithTimeout(withRequestInfo(c.UserContext(), info), ep.deadline)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				s.logger.Error("wazion backend panic",
					slog.String("request_id", info.id),
					slog.String("endpoint", ep.name),
					slog.String("store", st.name),
					slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())))
				done <- result{panicked: true}
			}
		}()
		resp, err := ep.call(ctx, st.backend, req)
		done <- result{resp: resp, err: err}
	}()
	select {
	case r := <-done:
		return r
	case <-ctx.Done():
	}
	grace := time.NewTimer(ep.grace)
	defer grace.Stop()
	select {
	case r := <-done:
		return r
	case <-grace.C:
		return result{timedOut: true, ctxErr: ctx.Err()}
	}
}

// write encodes body as the answer. Encoding only fails on values JSON
// cannot hold (NaN amounts, odd Raw values) or on a broken encoder; then
// WAzion still gets valid JSON with an error.
func (s *server) write(c *fiber.Ctx, rec *record, body any) {
	buf := s.bufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			s.bufs.Put(buf)
		}
	}()
	buf.Reset()
	if err := s.encode(buf, body); err != nil {
		rec.outcome, rec.errMsg = OutcomeError, "internal error"
		rec.detail = fmt.Errorf("encode %s answer: %w", rec.endpoint, err)
		buf.Reset()
		buf.Write(internalErrorJSON)
	}
	// json.Encoder ends with a newline and json.Marshal does not; answers
	// are the same bytes either way.
	s.writeRaw(c, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// encode writes body as JSON to buf, with the configured encoder or
// encoding/json, turning a panic into an error: fasthttp does not recover
// panics, so one here would end the process.
func (s *server) encode(buf *bytes.Buffer, body any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("encoder panic: %v", p)
		}
	}()
	if s.encoder != nil {
		b, err := s.encoder(body)
		if err != nil {
			return err
		}
		buf.Write(b)
		return nil
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false) // URLs keep their '&'
	return enc.Encode(body)
}

// writeRaw sends b as the JSON answer. SetBody copies b, so b may be reused.
func (s *server) writeRaw(c *fiber.Ctx, b []byte) {
	c.Status(fiber.StatusOK)
	c.Set(fiber.HeaderContentType, ContentTypeJSON)
	c.Response().SetBody(b)
}

// finish reports the request to the Observer and writes its access log line.
// The line never holds the token; the phone is masked.
func (s *server) finish(c *fiber.Ctx, rec *record) {
	d := time.Since(rec.start)
	if s.observer != nil {
		s.observer.ObserveRequest(rec.endpoint, rec.store, rec.outcome, d)
		s.observeError(rec)
	}
	notes := rec.info.finish()
	level := slog.LevelInfo
	switch rec.outcome {
	case OutcomePanic:
		level = slog.LevelError
	case OutcomeError, OutcomeTimeout, OutcomeBadRequest, OutcomeUnauthorized:
		level = slog.LevelWarn
	}
	ctx := c.UserContext()
	if !s.logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("request_id", rec.info.id),
		slog.String("method", c.Method()),
		slog.String("endpoint", rec.endpoint),
		slog.String("store", rec.store),
		slog.String("outcome", rec.outcome),
		slog.Float64("latency_ms", float64(d.Microseconds())/1000),
	)
	if rec.phone != "" {
		attrs = append(attrs, slog.String("phone", MaskPhone(rec.phone)))
	}
	if rec.errMsg != "" {
		attrs = append(attrs, slog.String("error", rec.errMsg))
	}
	if rec.detail != nil {
		attrs = append(attrs, slog.String("detail", rec.detail.Error()))
	}
	if rec.reused {
		attrs = append(attrs, slog.String("answer", "recent"))
	}
	if len(notes) > 0 {
		attrs = append(attrs, slog.Attr{Key: "notes", Value: slog.GroupValue(notes...)})
	}
	s.logger.LogAttrs(ctx, level, "wazion request", attrs...)
}

// requestID returns the caller's X-Request-Id when it is a sane token
// (also one set on the response by a request-id middleware), or a new
// random one, and echoes it on the response.
func requestID(c *fiber.Ctx) string {
	id := c.Request().Header.Peek(HeaderRequestID)
	if !validRequestID(id) {
		id = c.Response().Header.Peek(HeaderRequestID)
	}
	var s string
	if validRequestID(id) {
		s = string(id)
	} else {
		var b [16]byte
		_, _ = rand.Read(b[:]) // never fails, see crypto/rand.Read
		s = hex.EncodeToString(b[:])
	}
	c.Set(HeaderRequestID, s)
	return s
}

func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, b := range id {
		if b <= ' ' || b > '~' {
			return false
		}
	}
	return true
}
