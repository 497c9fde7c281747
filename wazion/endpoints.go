package wazion

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// endpoint describes one WAzion operation to the handler, typed by what its
// Backend method returns: the call, the test=true sample and the shaping of
// one endpoint must agree on Resp, so a mismatch fails to compile.
type endpoint[Resp any] struct {
	name string
	// unauthorized is the exact answer to a bad token.
	unauthorized []byte
	// call asks the Backend; its answer may be a nil pointer.
	call func(b Backend, ctx context.Context, req Request) (Resp, error)
	// sample is the test=true answer before shaping.
	sample func(labels *Labels) Resp
	// shape turns a Backend answer (possibly nil) and an error message
	// into the body sent to WAzion.
	shape func(labels *Labels, req Request, resp Resp, errMsg string) shaped
	// precheck answers without the Backend when the request cannot match
	// anything; ok is false otherwise.
	precheck func(req Request) (errMsg, outcome string, ok bool)
	// variantOf, when set, says which of variants an error answer to req
	// is (ok false: none, built per request), for an endpoint whose
	// error answers read the request; nil means they never do.
	variantOf func(req Request) (variant string, ok bool)
	variants  []string
}

// shaped is a body ready to encode and what it says.
type shaped struct {
	body   any
	found  bool
	errMsg string
}

// route is an endpoint ready to serve. newRoute builds its closures from the
// typed endpoint, so nothing past it needs the response type.
type route struct {
	name         string
	index        int // in Endpoints order
	deadline     time.Duration
	grace        time.Duration
	unauthorized []byte
	handler      fiber.Handler
	// failure is the body of an answer that has only an error to tell.
	failure func(st *store, req Request, errMsg string) any
	// errorBody is that body for a variant (endpoint.variantOf), for the
	// answers built at start (fixedAnswers).
	errorBody func(labels *Labels, variant, errMsg string) any
	variantOf func(req Request) (string, bool)
	variants  []string
}

var (
	unauthorizedJSON           = []byte(`{"found":false,"error":"unauthorized"}`)
	unauthorizedFindToJoinJSON = []byte(`{"found":false,"error":"unauthorized","customers":[]}`)
	// internalErrorJSON is the answer when an answer cannot be encoded.
	internalErrorJSON = []byte(`{"found":false,"error":"internal error"}`)
)

// newRoute makes ep servable by s. Its deadline and grace are set by the
// caller before the first request.
func newRoute[Resp any](s *Server, ep endpoint[Resp]) *route {
	r := &route{name: ep.name, unauthorized: ep.unauthorized}
	r.failure = func(st *store, req Request, errMsg string) any {
		var none Resp
		return ep.shape(storeLabels(st), req, none, errMsg).body
	}
	r.variantOf, r.variants = ep.variantOf, ep.variants
	if r.variantOf == nil {
		r.variants = []string{""}
	}
	r.errorBody = func(labels *Labels, variant, errMsg string) any {
		var none Resp
		return ep.shape(labels, Request{Endpoint: ep.name, Format: variant}, none, errMsg).body
	}
	r.handler = handle(s, r, &ep)
	return r
}

// endpointRoutes lists the five endpoints, in Endpoints order.
func (s *Server) endpointRoutes() []*route {
	return []*route{
		newRoute(s, endpoint[*CustomerInfoResponse]{
			name: EndpointCustomerInfo, unauthorized: unauthorizedJSON,
			call: Backend.CustomerInfo, sample: testCustomerInfo, shape: shapeCustomerInfo,
		}),
		newRoute(s, endpoint[*InitialInfoResponse]{
			name: EndpointCustomerInitialInfo, unauthorized: unauthorizedJSON,
			call: Backend.CustomerInitialInfo, sample: testInitialInfo, shape: shapeInitialInfo,
		}),
		newRoute(s, endpoint[*FindToJoinResponse]{
			name: EndpointFindToJoin, unauthorized: unauthorizedFindToJoinJSON,
			call: Backend.FindToJoin, sample: testFindToJoin, shape: shapeFindToJoin,
		}),
		newRoute(s, endpoint[*ProductSearch]{
			name: EndpointSearchProducts, unauthorized: unauthorizedJSON,
			call: Backend.SearchProducts, sample: testProductSearch, shape: shapeProducts,
			precheck:  shortQuery("", OutcomeNotFound),
			variantOf: productVariant, variants: []string{"", "ai"},
		}),
		newRoute(s, endpoint[*GlobalSearchResponse]{
			name: EndpointGlobalSearch, unauthorized: unauthorizedJSON,
			call: Backend.GlobalSearch, sample: testGlobalSearch, shape: shapeGlobalSearch,
			precheck: shortQuery(msgShortQuery, OutcomeBadRequest),
		}),
	}
}

// shortQuery is the precheck of the searches: a query under MinQueryRunes
// cannot match anything worth showing, so it is answered with errMsg and
// outcome without asking the Backend.
func shortQuery(errMsg, outcome string) func(Request) (string, string, bool) {
	return func(req Request) (string, string, bool) {
		if utf8.RuneCountInString(req.Query) < MinQueryRunes {
			return errMsg, outcome, true
		}
		return "", "", false
	}
}

func storeLabels(st *store) *Labels {
	if st == nil {
		return nil
	}
	return st.labels
}
