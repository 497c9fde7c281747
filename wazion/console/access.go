package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Names of the console's cookies and CSRF header.
const (
	sessionCookie = "wazion_console"
	loginCookie   = "wazion_console_login"
	// HeaderCSRF carries the CSRF token on every POST.
	HeaderCSRF = "X-CSRF-Token"
)

// Bounds of the console's in-memory state.
const (
	maxSessions = 1024
	// maxSignInClients bounds the client addresses whose failed sign-ins
	// are remembered; the least recent is forgotten first.
	maxSignInClients = 4096
	// signInBurst failed sign-ins are allowed at once from one address,
	// then one per signInEvery.
	signInBurst = 5
	signInEvery = 12 * time.Second
)

// session is one signed-in browser.
type session struct {
	csrf     string
	operator bool
	store    string // the one store of a store owner's session
	expires  time.Time
}

// may reports whether the session sees store.
func (s *session) may(store string) bool { return s.operator || s.store == store }

// access holds sign-in state: who may sign in, the sessions, and the
// failed sign-ins per client address.
type access struct {
	password []byte            // SHA-256 of the operator password; nil: no operator
	tokens   map[string][]byte // store name -> SHA-256 digests of its tokens, concatenated
	ttl      time.Duration
	sessions *lru.Cache[string, *session] // by SHA-256 of the cookie value

	mu       sync.Mutex // makes get-or-add of a limiter atomic
	failures *lru.Cache[string, *rate.Limiter]
}

func digest(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func newAccess(password string, stores []Store, ttl time.Duration) *access {
	// golang-lru's expirable LRU would expire sessions itself, but in
	// v2.0.7 it starts a goroutine that never ends; expiry is checked on
	// lookup instead.
	sessions, _ := lru.New[string, *session](maxSessions)
	failures, _ := lru.New[string, *rate.Limiter](maxSignInClients)
	a := &access{tokens: map[string][]byte{}, ttl: ttl, sessions: sessions, failures: failures}
	if password != "" {
		a.password = digest(password)
	}
	for _, s := range stores {
		var all []byte
		for _, t := range s.Tokens {
			all = append(all, digest(t)...)
		}
		a.tokens[s.Name] = all
	}
	return a
}

// operatorOK compares password with the operator's in constant time.
func (a *access) operatorOK(password string) bool {
	if a.password == nil {
		return false
	}
	return subtle.ConstantTimeCompare(digest(password), a.password) == 1
}

// ownerOK compares token with every token of store in constant time; an
// unknown store costs the same as a wrong token.
func (a *access) ownerOK(store, token string) bool {
	all, ok := a.tokens[store]
	d := digest(token)
	if !ok {
		all = make([]byte, sha256.Size)
	}
	match := 0
	for i := 0; i+sha256.Size <= len(all); i += sha256.Size {
		match |= subtle.ConstantTimeCompare(d, all[i:i+sha256.Size])
	}
	return ok && match == 1
}

// limiter returns the failed sign-in limiter of a client address.
func (a *access) limiter(addr string) *rate.Limiter {
	a.mu.Lock()
	defer a.mu.Unlock()
	if l, ok := a.failures.Get(addr); ok {
		return l
	}
	l := rate.NewLimiter(rate.Every(signInEvery), signInBurst)
	a.failures.Add(addr, l)
	return l
}

// newSession starts a session and returns its cookie value.
func (a *access) newSession(s *session) string {
	id := randomToken()
	s.csrf = randomToken()
	s.expires = time.Now().Add(a.ttl)
	a.sessions.Add(hex.EncodeToString(digest(id)), s)
	return id
}

// lookup returns the live session of a cookie value.
func (a *access) lookup(id string) *session {
	if id == "" {
		return nil
	}
	key := hex.EncodeToString(digest(id))
	s, ok := a.sessions.Get(key)
	if !ok {
		return nil
	}
	if time.Now().After(s.expires) {
		a.sessions.Remove(key)
		return nil
	}
	return s
}

func (a *access) end(id string) {
	if id != "" {
		a.sessions.Remove(hex.EncodeToString(digest(id)))
	}
}

// randomToken is 32 random bytes in hex.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails, see crypto/rand.Read
	return hex.EncodeToString(b[:])
}

// sameSecret compares two CSRF tokens in constant time.
func sameSecret(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// setCookie sets a console cookie: HttpOnly, SameSite=Strict, limited to
// the console's path, and Secure when the console is served over TLS.
func (con *Console) setCookie(c *fiber.Ctx, name, value string, expires time.Time) {
	c.Cookie(&fiber.Cookie{
		Name:     name,
		Value:    value,
		Path:     Path,
		Expires:  expires,
		HTTPOnly: true,
		Secure:   con.secure(c),
		SameSite: fiber.CookieSameSiteStrictMode,
	})
}

// secure reports whether the browser reached the console over TLS (or a
// TLS-terminating proxy said so), or the public URL is https.
func (con *Console) secure(c *fiber.Ctx) bool {
	return c.Protocol() == "https" || strings.HasPrefix(con.opts.PublicURL, "https://")
}

// session returns the request's live session, or nil.
func (con *Console) session(c *fiber.Ctx) *session {
	return con.access.lookup(c.Cookies(sessionCookie))
}

// errorJSON answers status with {"error": msg}.
func errorJSON(c *fiber.Ctx, status int, msg string) error {
	return c.Status(status).JSON(fiber.Map{"error": msg})
}

// signedIn is middleware for the API routes that need a session; a POST
// must also carry the session's CSRF token.
func (con *Console) signedIn(c *fiber.Ctx) error {
	s := con.session(c)
	if s == nil {
		return errorJSON(c, http.StatusUnauthorized, "not signed in")
	}
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead && !sameSecret(c.Get(HeaderCSRF), s.csrf) {
		return errorJSON(c, http.StatusForbidden, "missing or wrong CSRF token: reload the page")
	}
	c.Locals(sessionKey{}, s)
	return c.Next()
}

type sessionKey struct{}

// storeAllowed is middleware for /api/stores/:store/...: an unknown store
// and a store the session may not see get the same answer.
func (con *Console) storeAllowed(c *fiber.Ctx) error {
	s, _ := c.Locals(sessionKey{}).(*session)
	name := c.Params("store")
	if s == nil || !con.known[name] || !s.may(name) {
		return errorJSON(c, http.StatusNotFound, "no such store")
	}
	return c.Next()
}

// sessionInfo is what the page learns about its session.
type sessionInfo struct {
	SignedIn bool     `json:"signed_in"`
	Operator bool     `json:"operator,omitempty"`
	Stores   []string `json:"stores,omitempty"`
	CSRF     string   `json:"csrf"`
	// OperatorSignIn says whether an operator password is configured.
	OperatorSignIn bool `json:"operator_sign_in"`
}

// handleSession tells the page whether it is signed in. Signed out, it
// hands out the CSRF token the sign-in form must send, as a cookie and in
// the answer (double submit): a sign-in is a state change too.
func (con *Console) handleSession(c *fiber.Ctx) error {
	if s := con.session(c); s != nil {
		return c.JSON(sessionInfo{SignedIn: true, Operator: s.operator, Stores: con.visible(s), CSRF: s.csrf, OperatorSignIn: con.access.password != nil})
	}
	tok := c.Cookies(loginCookie)
	if len(tok) != 64 {
		tok = randomToken()
		con.setCookie(c, loginCookie, tok, time.Time{})
	}
	return c.JSON(sessionInfo{CSRF: tok, OperatorSignIn: con.access.password != nil})
}

// visible lists the stores a session sees, in configuration order.
func (con *Console) visible(s *session) []string {
	var out []string
	for _, n := range con.names {
		if s.may(n) {
			out = append(out, n)
		}
	}
	return out
}

// signIn is the sign-in form: an empty store with the operator password,
// or a store's name with one of its WAzion tokens.
type signIn struct {
	Store    string `json:"store" form:"store"`
	Password string `json:"password" form:"password"`
}

// handleSignIn checks a sign-in. Failed ones are rate limited per client
// address, and while the limit holds even a right password is refused, so
// guessing cannot go on.
func (con *Console) handleSignIn(c *fiber.Ctx) error {
	if !sameSecret(c.Get(HeaderCSRF), c.Cookies(loginCookie)) {
		return errorJSON(c, http.StatusForbidden, "missing or wrong CSRF token: reload the page")
	}
	lim := con.access.limiter(c.IP())
	if lim.Tokens() < 1 {
		return errorJSON(c, http.StatusTooManyRequests, "too many failed sign-ins from this address: wait a minute and try again")
	}
	var in signIn
	if err := c.BodyParser(&in); err != nil {
		return errorJSON(c, http.StatusBadRequest, "send store and password")
	}
	store := strings.ToLower(strings.TrimSpace(in.Store))
	var s *session
	switch {
	case store == "" && con.access.operatorOK(in.Password):
		s = &session{operator: true}
	case store != "" && con.access.ownerOK(store, in.Password):
		s = &session{store: con.canonical(store)}
	}
	if s == nil {
		lim.Allow()
		msg := "wrong store name or token"
		if store == "" {
			msg = "wrong password"
		}
		return errorJSON(c, http.StatusUnauthorized, msg)
	}
	id := con.access.newSession(s)
	con.setCookie(c, sessionCookie, id, s.expires)
	return c.JSON(sessionInfo{SignedIn: true, Operator: s.operator, Stores: con.visible(s), CSRF: s.csrf, OperatorSignIn: con.access.password != nil})
}

// canonical returns the configured spelling of a store name that matched,
// owning its own memory (Fiber's body strings are reused).
func (con *Console) canonical(store string) string {
	for _, n := range con.names {
		if n == store {
			return n
		}
	}
	return strings.Clone(store)
}

// handleSignOut ends the session.
func (con *Console) handleSignOut(c *fiber.Ctx) error {
	con.access.end(c.Cookies(sessionCookie))
	con.setCookie(c, sessionCookie, "", time.Unix(1, 0))
	return c.JSON(fiber.Map{"signed_in": false})
}
