package wazion

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// A SeriesObserver is an Observer that resolves, once per store and
// endpoint, the series a request of theirs counts in, so that counting a
// request costs no look-up by name: on a recent answer that look-up
// costs more than the counting. The Server asks for a store's Series on
// its first request to each endpoint, and then counts every request of
// that store and endpoint through it; requests that name no store go to
// ObserveRequest.
type SeriesObserver interface {
	Observer
	Series(endpoint, store string) Series
}

// Series counts the requests of one store to one endpoint: its methods
// are Observer.ObserveRequest and AnswerObserver.ObserveAnswer with the
// endpoint and store given.
type Series interface {
	ObserveRequest(outcome string, d time.Duration)
	ObserveAnswer(reused bool)
}

// Options tunes the WAzion handlers. The zero value is ready to use.
type Options struct {
	// BodyLimit is the largest request body read, in bytes; zero means
	// DefaultBodyLimit. Larger bodies get an error answer. Fiber's own
	// fiber.Config.BodyLimit must be at least this big, or Fiber refuses the
	// body before the handler sees it (Server.FiberConfig sees to that).
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

// numEndpoints is how many endpoints Endpoints names.
const numEndpoints = 5

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

// Server answers WAzion's five endpoints for a set of stores. Build one
// with NewServer and hand it to Fiber twice: FiberConfig when creating the
// fiber.App, so that errors Fiber raises itself keep WAzion's contract, and
// Routes to mount the endpoints:
//
//	srv := wazion.NewServer(tenants, opts)
//	app := fiber.New(srv.FiberConfig(fiber.Config{}))
//	srv.Routes(app)
type Server struct {
	set       atomic.Pointer[tenantSet] // swapped whole by SetTenants
	bodyLimit int
	logger    *slog.Logger
	observer  Observer
	answerObs AnswerObserver              // observer, when it also counts reused answers
	errorObs  ErrorObserver               // observer, when it also hears errored answers
	seriesObs SeriesObserver              // observer, when it resolves series per store
	encoder   func(v any) ([]byte, error) // nil: encoding/json
	routes    []*route                    // in Endpoints order
	byName    map[string]*route           // by lower-case name
	bufs      sync.Pool
	records   sync.Pool // of *record, see record.lent
	ids       *requestIDs
}

// tenantSet is the stores a Server answers for and the answers built for
// them at start. A request reads it once, so it finishes on the set it
// began with whatever SetTenants does meanwhile.
type tenantSet struct {
	tenants *Tenants
	fixed   *fixedAnswers
	memo    *requestMemo
}

// NewServer prepares the five endpoints for tenants. It panics on a nil
// tenants, a programming error: NewTenants never returns one without an
// error.
func NewServer(tenants *Tenants, opts Options) *Server {
	if tenants == nil {
		panic("wazion: nil *Tenants")
	}
	s := &Server{
		bodyLimit: opts.BodyLimit,
		logger:    opts.Logger,
		observer:  opts.Observer,
		encoder:   opts.JSONEncoder,
		byName:    make(map[string]*route),
		bufs:      sync.Pool{New: func() any { return new(bytes.Buffer) }},
		ids:       newRequestIDs(),
	}
	s.answerObs, _ = opts.Observer.(AnswerObserver)
	s.errorObs, _ = opts.Observer.(ErrorObserver)
	s.seriesObs, _ = opts.Observer.(SeriesObserver)
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
	for i, r := range s.endpointRoutes() {
		r.index = i
		budget := opts.Budgets[r.name]
		if budget <= 0 {
			budget = DefaultBudget
			if r.name == EndpointGlobalSearch {
				budget = DefaultGlobalSearchBudget
			}
		}
		r.deadline = max(budget-margin, budget/2)
		r.grace = grace
		s.routes = append(s.routes, r)
		s.byName[strings.ToLower(r.name)] = r
	}
	s.set.Store(&tenantSet{tenants: tenants, fixed: newFixedAnswers(s, tenants, nil), memo: newRequestMemo()})
	return s
}

// SetTenants makes the Server answer for tenants from the next request on;
// requests already running finish with the stores they began with. Build
// tenants with the current set's Tenants.Update to keep the state of the
// stores that did not change. It panics on a nil tenants, as NewServer does.
func (s *Server) SetTenants(tenants *Tenants) {
	if tenants == nil {
		panic("wazion: nil *Tenants")
	}
	prev := s.set.Load()
	s.set.Store(&tenantSet{tenants: tenants, fixed: newFixedAnswers(s, tenants, prev.fixed), memo: newRequestMemo()})
}

// Tenants returns the stores the Server answers for now.
func (s *Server) Tenants() *Tenants { return s.set.Load().tenants }

// Routes mounts GET and POST /wazion/<endpoint> on r for the five
// endpoints. Every answer on these routes is HTTP 200 with a JSON body, as
// WAzion requires; failures are told in the body's "error". Build the
// fiber.App with FiberConfig so that errors Fiber raises itself keep that
// promise too. When r is the fiber.App itself, Routes also sets up the
// fasthttp server under it for requests it refuses before any route (see
// GuardServer).
func (s *Server) Routes(r fiber.Router) {
	if app, ok := r.(*fiber.App); ok {
		s.GuardServer(app.Server())
	}
	for _, rt := range s.routes {
		r.Get("/wazion/"+rt.name, rt.handler)
		r.Post("/wazion/"+rt.name, rt.handler)
	}
}

// FiberConfig returns cfg set up for the WAzion routes: its ErrorHandler
// wrapped so that errors Fiber raises itself on the WAzion routes (a body
// over Fiber's BodyLimit, a method other than GET or POST, an error from a
// middleware) are answered the WAzion way, multipart pre-parsing off
// (fasthttp would refuse a malformed multipart body before any handler and
// forget the path, so the answer could not follow WAzion's contract), and a
// BodyLimit no smaller than Options.BodyLimit.
func (s *Server) FiberConfig(cfg fiber.Config) fiber.Config {
	cfg.ErrorHandler = s.errorHandler(cfg.ErrorHandler)
	cfg.DisablePreParseMultipartForm = true
	if cfg.BodyLimit > 0 && cfg.BodyLimit < s.bodyLimit {
		cfg.BodyLimit = s.bodyLimit
	}
	return cfg
}

// errorHandler answers errors Fiber raises on the WAzion routes with HTTP
// 200 and JSON: unauthorized unless the request still holds a valid token,
// else the endpoint's answer with the error. Other paths go to next
// (fiber.DefaultErrorHandler when nil).
func (s *Server) errorHandler(next fiber.ErrorHandler) fiber.ErrorHandler {
	if next == nil {
		next = fiber.DefaultErrorHandler
	}
	return func(c *fiber.Ctx, err error) error {
		r := s.routeForPath(c.Path())
		if r == nil {
			if serverLevel(err) {
				// fasthttp refused the request before its path was read
				// (malformed framing, headers too large): it may have been
				// meant for a WAzion route, which must answer JSON, and
				// fasthttp's message quotes the request's bytes, token
				// included, so none of it is echoed.
				msg, _ := fiberErrorMessage(err)
				return c.Status(http.StatusOK).JSON(fiber.Map{"found": false, "error": msg})
			}
			return next(c, err)
		}
		// fasthttp calls this handler also for a request it could not
		// read, before its own clock reading for it: the time is now.
		rec := s.beginAt(c, r.name, time.Now())
		defer s.finish(c, rec)
		rec.detail = err
		// Whatever part of the request was read still counts: after a
		// middleware error the body is there, after fasthttp refused the
		// body only the query string and headers are.
		p, _ := parseFiber(c, r.name, s.bodyLimit)
		st, _ := s.set.Load().tenants.authenticate(c, p)
		if st == nil {
			rec.outcome = OutcomeUnauthorized
			s.writeRaw(c, r.unauthorized)
			return nil
		}
		rec.store = st.name
		rec.errMsg, rec.outcome = fiberErrorMessage(err)
		s.write(c, rec, r.failure(st, Request{Endpoint: r.name}, rec.errMsg))
		return nil
	}
}

// serverLevel reports whether err is fasthttp's refusal of a request it
// could not read, as opposed to the router's 404 or 405 for a request it
// read whole.
func serverLevel(err error) bool {
	var fe *fiber.Error
	if !errors.As(err, &fe) {
		return false
	}
	switch fe.Code {
	case http.StatusBadRequest, http.StatusRequestHeaderFieldsTooLarge, http.StatusRequestEntityTooLarge, http.StatusRequestTimeout:
		return true
	}
	return false
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

// routeForPath finds the endpoint a path like /x/wazion/globalSearch
// names, in any case, as Fiber's default routing is case-insensitive.
func (s *Server) routeForPath(path string) *route {
	path = strings.TrimSuffix(path, "/")
	i := strings.LastIndexByte(path, '/')
	if i < 0 || !strings.HasSuffix(strings.ToLower(path[:i]), "/wazion") {
		return nil
	}
	return s.byName[strings.ToLower(path[i+1:])]
}
