package wazion

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/textproto"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/time/rate"
)

// HeaderToken is the header WAzion can be told to send the token in, for
// every store. A store may name its own header too (Tenant.TokenHeader).
const HeaderToken = "X-Wazion-Token"

// Tenant is one store as WAzion sees it: the tokens that select it and the
// Backend that answers for it.
type Tenant struct {
	// Name identifies the store in logs and metrics; never a secret.
	Name string
	// Tokens are the secrets WAzion may present for this store. More than
	// one allows rotating a token without downtime.
	Tokens []string
	// TokenHeader optionally names an extra request header that carries
	// the token, for shops whose WAzion settings use a custom header. Like
	// every token source it is read on every request and its value matched
	// against all stores' tokens: the token, not the header, picks the store.
	TokenHeader string
	// Language is the label language ("es", "en", "pt-BR", ...); empty
	// means DefaultLanguage.
	Language string
	// Backend answers the five endpoints for this store.
	Backend Backend
	// RateLimit bounds the requests per second each of the store's tokens
	// may make to the Backend, with bursts up to RateBurst, so that a flood
	// is refused before it costs any work. Zero means no bound. Over it,
	// requests get an error answer without a Backend call. It counts
	// requests, not what they cost upstream: a Backend bounds that per
	// token itself, telling tokens apart by CallerFrom.
	RateLimit float64
	RateBurst int
	// AnswerTTL, when positive, keeps each error-free answer for that long
	// and serves it again to the same request (same endpoint and
	// parameters) for this store, without asking the Backend. A second
	// is well inside the lifetimes of the data behind the answers;
	// Tenants.Forget drops them early. Zero keeps nothing.
	AnswerTTL time.Duration
}

// Tenants resolves a token to its store. It keeps only SHA-256 digests of
// the tokens, and finds a token by its digest in a map: the time a lookup
// takes depends on the digest, which says nothing about any token's bytes
// to a caller who cannot invert SHA-256, and stays the same however many
// stores there are.
type Tenants struct {
	stores  []*store
	keys    []tokenKey
	byHash  map[[sha256.Size]byte]int // index in keys
	headers []string                  // distinct custom token headers, canonical form
}

// store is a Tenant ready to serve.
type store struct {
	name    string
	backend Backend
	labels  *Labels
	answers *answers // nil: none kept
	// def is what the store was made from, so that Update can tell a
	// tenant given again unchanged; limiters are its tokens' bounds, in
	// def.digests order.
	def      tenantDef
	limiters []*tokenBound
	// series are the store's Series of each endpoint (route.index), from
	// the SeriesObserver of the Server that last asked.
	series [numEndpoints]atomic.Pointer[storeSeries]
}

// storeSeries is a Series and the Server whose SeriesObserver gave it: a
// store may serve under more than one Server.
type storeSeries struct {
	srv    *Server
	series Series
}

// tenantDef is a Tenant as its store keeps it: digests, not tokens.
type tenantDef struct {
	backend          Backend
	digests          [][sha256.Size]byte
	header, language string
	rate             float64
	burst            int
	answerTTL        time.Duration
}

// same reports whether d and o make the same store. Backends compare as
// values when their type allows it (pointers, as every real Backend is),
// and as different otherwise.
func (d *tenantDef) same(o *tenantDef) bool {
	if d.header != o.header || d.language != o.language || d.rate != o.rate || d.burst != o.burst ||
		d.answerTTL != o.answerTTL || !slices.Equal(d.digests, o.digests) {
		return false
	}
	bt, ot := reflect.TypeOf(d.backend), reflect.TypeOf(o.backend)
	return bt == ot && bt != nil && bt.Comparable() && d.backend == o.backend
}

type tokenKey struct {
	digest  [sha256.Size]byte
	store   int
	limiter *tokenBound // nil: unlimited
}

// NewTenants checks the tenants and prepares token lookup. Every tenant needs
// a unique name, a Backend and at least one token; no token may be empty or
// shared, since a token is what selects the store. Errors name the tenant,
// never the token.
func NewTenants(tenants []Tenant) (*Tenants, error) {
	return newTenants(tenants, nil)
}

// Update returns the tenants given, checked as NewTenants does, for a
// Server to switch to (Server.SetTenants): a tenant given as ts holds it
// (same name, Backend, tokens, header, language and bounds) keeps its
// recent answers and its tokens' request bounds, so that a reload of the
// configuration leaves the stores it did not change as they were. ts is
// not changed.
func (ts *Tenants) Update(tenants []Tenant) (*Tenants, error) {
	return newTenants(tenants, ts)
}

func newTenants(tenants []Tenant, prev *Tenants) (*Tenants, error) {
	if len(tenants) == 0 {
		return nil, errors.New("new tenants: no tenant given")
	}
	var before map[string]*store
	if prev != nil {
		before = make(map[string]*store, len(prev.stores))
		for _, st := range prev.stores {
			before[st.name] = st
		}
	}
	ts := &Tenants{byHash: map[[sha256.Size]byte]int{}}
	names := make(map[string]bool, len(tenants))
	owner := make(map[[sha256.Size]byte]string)
	headers := make(map[string]bool)
	for i, t := range tenants {
		name := strings.TrimSpace(t.Name)
		switch {
		case name == "":
			return nil, fmt.Errorf("new tenants: tenant %d: empty name", i)
		case names[name]:
			return nil, fmt.Errorf("new tenants: tenant %q: duplicate name", name)
		case t.Backend == nil:
			return nil, fmt.Errorf("new tenants: tenant %q: no backend", name)
		case len(t.Tokens) == 0:
			return nil, fmt.Errorf("new tenants: tenant %q: no token", name)
		}
		names[name] = true
		if t.Language != "" && normalizeLanguage(t.Language) == "" {
			return nil, fmt.Errorf("new tenants: tenant %q: unsupported language %q (supported: %s)",
				name, t.Language, strings.Join(SupportedLanguages(), ", "))
		}
		def := tenantDef{backend: t.Backend, header: strings.TrimSpace(t.TokenHeader), language: t.Language,
			rate: t.RateLimit, burst: t.RateBurst, answerTTL: t.AnswerTTL}
		for j, tok := range t.Tokens {
			if strings.TrimSpace(tok) == "" {
				return nil, fmt.Errorf("new tenants: tenant %q: token %d is empty", name, j)
			}
			if tok != strings.TrimSpace(tok) {
				// Parsing trims every token it receives, so this one
				// could never match.
				return nil, fmt.Errorf("new tenants: tenant %q: token %d has surrounding spaces", name, j)
			}
			d := sha256.Sum256([]byte(tok))
			if other, dup := owner[d]; dup {
				return nil, fmt.Errorf("new tenants: tenant %q: token %d is also a token of tenant %q", name, j, other)
			}
			owner[d] = name
			def.digests = append(def.digests, d)
		}
		if h := def.header; h != "" {
			if strings.ContainsAny(h, " \t:\r\n") {
				return nil, fmt.Errorf("new tenants: tenant %q: invalid token header name %q", name, h)
			}
			h = textproto.CanonicalMIMEHeaderKey(h)
			if !headers[h] {
				headers[h] = true
				ts.headers = append(ts.headers, h)
			}
		}
		st := before[name]
		if st == nil || !st.def.same(&def) {
			// The shared read-only table: stores only read their labels,
			// and a thousand stores need not hold a thousand copies.
			st = &store{name: name, backend: t.Backend, labels: labelTable(normalizeLanguage(t.Language)), answers: newAnswers(t.AnswerTTL), def: def}
			for range def.digests {
				var lim *tokenBound
				if t.RateLimit > 0 {
					lim = &tokenBound{lim: rate.NewLimiter(rate.Limit(t.RateLimit), max(1, t.RateBurst))}
				}
				st.limiters = append(st.limiters, lim)
			}
		}
		for j, d := range def.digests {
			ts.byHash[d] = len(ts.keys)
			ts.keys = append(ts.keys, tokenKey{digest: d, store: len(ts.stores), limiter: st.limiters[j]})
		}
		ts.stores = append(ts.stores, st)
	}
	return ts, nil
}

// Names returns the store names in the order given to NewTenants.
func (ts *Tenants) Names() []string {
	names := make([]string, len(ts.stores))
	for i, s := range ts.stores {
		names[i] = s.name
	}
	return names
}

// lookup finds the store of token and the token's key, by the token's
// digest (see Tenants).
func (ts *Tenants) lookup(token []byte) (*store, *tokenKey) {
	token = bytes.TrimSpace(token)
	if len(token) == 0 {
		return nil, nil
	}
	i, ok := ts.byHash[sha256.Sum256(token)]
	if !ok {
		return nil, nil
	}
	k := &ts.keys[i]
	return ts.stores[k.store], k
}

// authenticate finds the store of the first token source that holds a known
// token, trying in order: body, query string, Authorization (Bearer, Basic
// password then user, or a bare value), X-Wazion-Token, then the custom
// headers. Trying every source means a stray header cannot hide a good
// token elsewhere.
func (ts *Tenants) authenticate(c *fiber.Ctx, p parsed) (*store, *tokenKey) {
	if s, k := ts.lookup([]byte(p.bodyToken)); s != nil {
		return s, k
	}
	if s, k := ts.lookup([]byte(p.queryToken)); s != nil {
		return s, k
	}
	h := &c.Request().Header
	toks, n := authorizationTokens(h.Peek(fiber.HeaderAuthorization))
	for _, tok := range toks[:n] {
		if s, k := ts.lookup(tok); s != nil {
			return s, k
		}
	}
	if s, k := ts.lookup(h.Peek(HeaderToken)); s != nil {
		return s, k
	}
	for _, name := range ts.headers {
		if s, k := ts.lookup(h.Peek(name)); s != nil {
			return s, k
		}
	}
	return nil, nil
}

// allow reports whether the token may make one more Backend call at now.
func (k *tokenKey) allow(now time.Time) bool {
	return k == nil || k.limiter == nil || k.limiter.allow(now)
}

// tokenBound is a token's bound (Tenant.RateLimit): a rate.Limiter, and
// the time before which it cannot allow a request, so that a flood past
// the bound is refused without taking the limiter's lock, which every
// core would otherwise pass back and forth.
type tokenBound struct {
	lim    *rate.Limiter
	closed atomic.Int64 // Unix nanoseconds; before it, no request is allowed
}

// maxClosed bounds how long the bound is taken as closed without asking
// the limiter: for a limit of a request an hour or less, the limiter is
// asked again each minute.
const maxClosed = time.Minute

func (b *tokenBound) allow(now time.Time) bool {
	if now.UnixNano() < b.closed.Load() {
		return false
	}
	if b.lim.AllowN(now, 1) {
		return true
	}
	// Tokens come back at the limit's rate and from nowhere else: there is
	// none before the bucket has refilled to one. A request read earlier
	// than the limiter's latest makes the wait start earlier: shorter, not
	// wrong.
	wait := time.Duration((1 - b.lim.TokensAt(now)) / float64(b.lim.Limit()) * float64(time.Second))
	b.closed.Store(now.Add(min(wait, maxClosed)).UnixNano())
	return false
}

// authorizationTokens returns the candidate tokens of an Authorization
// header value, the first n of toks: a Basic password then its user, or
// the credential of any other scheme, or a value without one.
func authorizationTokens(v []byte) (toks [2][]byte, n int) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return toks, 0
	}
	scheme, rest, found := bytes.Cut(v, []byte(" "))
	if !found {
		return [2][]byte{v}, 1
	}
	rest = bytes.TrimSpace(rest)
	if !bytes.EqualFold(scheme, []byte("Basic")) {
		// Bearer, Token or anything else: the credential is the rest.
		return [2][]byte{rest}, 1
	}
	raw, err := base64.StdEncoding.DecodeString(string(rest))
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(string(rest)); err != nil {
			return toks, 0
		}
	}
	user, pass, _ := bytes.Cut(raw, []byte(":"))
	if len(bytes.TrimSpace(pass)) == 0 {
		return [2][]byte{user}, 1
	}
	return [2][]byte{pass, user}, 2
}

// MaskSecret shows at most a secret's first 4 characters ("wk_l…"), and
// none of a short one: enough to tell which kind of key or which token is
// meant, never enough to guess it. Keys and tokens are masked by this one
// rule wherever they are shown.
func MaskSecret(secret string) string {
	r := []rune(secret)
	switch {
	case len(r) == 0:
		return ""
	case len(r) < 12:
		return "…"
	}
	return string(r[:4]) + "…"
}
