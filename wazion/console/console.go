package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// Path is where the console is served. It is fixed and outside /wazion/,
// so no console route can answer WAzion.
const Path = "/console"

// Time allowed for the work a console request starts upstream.
const (
	checkTimeout   = 45 * time.Second
	webhookTimeout = 20 * time.Second
	// checkReuse is how long a check's report is shown again instead of
	// probing again, so repeated clicks do not spend the key's budget.
	checkReuse = 5 * time.Second
)

//go:embed static
var static embed.FS

// Store is one store the console shows.
type Store struct {
	Name string
	// Tokens are the store's WAzion tokens: a store owner signs in with
	// any of them, and may reveal them.
	Tokens []string
}

// Options configures a Console. Setup, Checker, Webhooks, Status and
// Answerer are required.
type Options struct {
	Stores []Store
	// Password is the operator's password, which sees every store; empty
	// leaves only store owners' sign-in.
	Password string
	// PublicURL is the address WAzion reaches the service at; empty uses
	// the address the browser opened the console at.
	PublicURL string
	// SessionTTL is how long a sign-in lasts; zero means DefaultSessionTTL.
	SessionTTL time.Duration
	Setup      Setup
	Checker    Checker
	Webhooks   Webhooks
	Status     Status
	Answerer   Answerer
	// Recorder supplies the last errors and the upstream calls per minute;
	// nil shows none.
	Recorder *Recorder
	// Logger receives the console's sign-ins and failures; nil discards.
	Logger *slog.Logger
}

// DefaultSessionTTL is how long a sign-in lasts unless configured.
const DefaultSessionTTL = 12 * time.Hour

// Console is the web console's handlers and state.
type Console struct {
	opts   Options
	names  []string
	known  map[string]bool
	tokens map[string][]string
	access *access
	log    *slog.Logger
	checks map[string]*checkState // read-only after New; each guards itself
}

// checkState is a store's last check; mu makes runs of one store take
// turns.
type checkState struct {
	mu     sync.Mutex
	report *CheckReport
}

// New returns a Console over opts.
func New(opts Options) (*Console, error) {
	if opts.Setup == nil || opts.Checker == nil || opts.Webhooks == nil || opts.Status == nil || opts.Answerer == nil {
		return nil, errors.New("console: Setup, Checker, Webhooks, Status and Answerer are required")
	}
	if len(opts.Stores) == 0 {
		return nil, errors.New("console: no stores")
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	con := &Console{
		opts:   opts,
		known:  map[string]bool{},
		tokens: map[string][]string{},
		access: newAccess(opts.Password, opts.Stores, opts.SessionTTL),
		log:    opts.Logger,
		checks: map[string]*checkState{},
	}
	if con.log == nil {
		con.log = slog.New(slog.DiscardHandler)
	}
	for _, s := range opts.Stores {
		con.names = append(con.names, s.Name)
		con.known[s.Name] = true
		con.tokens[s.Name] = append([]string(nil), s.Tokens...)
		con.checks[s.Name] = &checkState{}
	}
	return con, nil
}

// Register mounts the console on r at Path.
func (con *Console) Register(r fiber.Router) {
	g := r.Group(Path, securityHeaders)
	g.Get("/", con.page("static/index.html", "text/html; charset=utf-8"))
	g.Get("/console.js", con.page("static/console.js", "text/javascript; charset=utf-8"))
	g.Get("/console.css", con.page("static/console.css", "text/css; charset=utf-8"))

	api := g.Group("/api", noStore)
	api.Get("/session", con.handleSession)
	api.Post("/signin", con.handleSignIn)
	api.Post("/signout", con.signedIn, con.handleSignOut)

	st := api.Group("/stores/:store", con.signedIn, con.storeAllowed)
	st.Get("/setup", con.handleSetup)
	st.Post("/tokens", con.handleRevealTokens)
	st.Get("/check", con.handleLastCheck)
	st.Post("/check", con.handleRunCheck)
	st.Get("/webhooks", con.handleWebhooks)
	st.Post("/webhooks", con.handleRegisterWebhook)
	st.Get("/status", con.handleStatus)
	st.Get("/preview", con.handlePreview)
	st.Get("/products", con.handleProducts)
	api.Use(func(c *fiber.Ctx) error { return errorJSON(c, http.StatusNotFound, "no such console API") })
}

// securityHeaders keeps the pages self-contained: scripts, styles and
// images only from the console itself, no framing, no referrer.
func securityHeaders(c *fiber.Ctx) error {
	c.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "no-referrer")
	return c.Next()
}

// noStore keeps API answers, which hold store data, out of caches.
func noStore(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

func (con *Console) page(name, contentType string) fiber.Handler {
	body, err := static.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("console: embedded %s: %v", name, err))
	}
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, contentType)
		c.Set(fiber.HeaderCacheControl, "no-cache")
		return c.Send(body)
	}
}

// store is the request's store name, owning its memory.
func store(c *fiber.Ctx) string { return strings.Clone(c.Params("store")) }

// publicURL is the base URL the settings are built on: the page's choice,
// else the configured one, else where the browser reached the console.
func (con *Console) publicURL(c *fiber.Ctx, asked string) string {
	if asked = strings.TrimSpace(asked); asked != "" {
		return asked
	}
	if con.opts.PublicURL != "" {
		return con.opts.PublicURL
	}
	return c.BaseURL()
}

// setupAnswer is the setup page's data.
type setupAnswer struct {
	Store    string   `json:"store"`
	Settings Settings `json:"settings"`
	// Tokens are the store's WAzion tokens, masked.
	Tokens []string `json:"tokens"`
}

func (con *Console) handleSetup(c *fiber.Ctx) error {
	name := store(c)
	method := strings.Clone(c.Query("method", "GET"))
	auth := strings.Clone(c.Query("auth", "header"))
	s, err := con.opts.Setup.Settings(name, con.publicURL(c, strings.Clone(c.Query("public_url"))), method, auth)
	if err != nil {
		return errorJSON(c, http.StatusBadRequest, err.Error())
	}
	masked := make([]string, 0, len(con.tokens[name]))
	for _, t := range con.tokens[name] {
		masked = append(masked, wazion.MaskSecret(t))
	}
	return c.JSON(setupAnswer{Store: name, Settings: s, Tokens: masked})
}

// handleRevealTokens shows the store's tokens in full, on an explicit
// POST (with its CSRF token) of a session that sees the store.
func (con *Console) handleRevealTokens(c *fiber.Ctx) error {
	name := store(c)
	con.log.Info("console: tokens revealed", "store", name, "client", c.IP())
	return c.JSON(fiber.Map{"tokens": con.tokens[name]})
}

func (con *Console) handleLastCheck(c *fiber.Ctx) error {
	cs := con.checks[store(c)]
	cs.mu.Lock()
	r := cs.report
	cs.mu.Unlock()
	return c.JSON(fiber.Map{"report": r})
}

// handleRunCheck probes the store again; runs of one store take turns,
// and a report a few seconds old is given again rather than probing.
func (con *Console) handleRunCheck(c *fiber.Ctx) error {
	name := store(c)
	cs := con.checks[name]
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.report != nil && time.Since(cs.report.Time) < checkReuse {
		return c.JSON(fiber.Map{"report": cs.report})
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), checkTimeout)
	defer cancel()
	r, err := con.opts.Checker.Check(ctx, name)
	if err != nil {
		con.log.Warn("console: check failed", "store", name, "error", err)
		return errorJSON(c, http.StatusBadGateway, "the check could not run: "+err.Error())
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	cs.report = &r
	return c.JSON(fiber.Map{"report": cs.report})
}

func (con *Console) handleWebhooks(c *fiber.Ctx) error {
	name := store(c)
	ctx, cancel := context.WithTimeout(c.UserContext(), webhookTimeout)
	defer cancel()
	w, err := con.opts.Webhooks.Webhooks(ctx, name, con.publicURL(c, strings.Clone(c.Query("public_url"))))
	if err != nil {
		return errorJSON(c, http.StatusBadGateway, err.Error())
	}
	return c.JSON(w)
}

func (con *Console) handleRegisterWebhook(c *fiber.Ctx) error {
	name := store(c)
	var in struct {
		PublicURL string `json:"public_url" form:"public_url"`
	}
	if err := c.BodyParser(&in); err != nil && !errors.Is(err, fiber.ErrUnprocessableEntity) {
		return errorJSON(c, http.StatusBadRequest, "send public_url")
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), webhookTimeout)
	defer cancel()
	r, err := con.opts.Webhooks.RegisterWebhook(ctx, name, con.publicURL(c, strings.Clone(in.PublicURL)))
	if err != nil {
		return errorJSON(c, http.StatusBadRequest, err.Error())
	}
	con.log.Info("console: webhook registered", "store", name, "subscription", r.ID, "client", c.IP())
	return c.JSON(r)
}

// statusAnswer is the status page's data.
type statusAnswer struct {
	StoreStatus
	// PerMinute is Whatalo calls in each of the last minutes, oldest first.
	PerMinute []int         `json:"per_minute"`
	Errors    []answerError `json:"errors"`
	Now       time.Time     `json:"now"`
}

type answerError struct {
	Time     time.Time `json:"time"`
	Endpoint string    `json:"endpoint"`
	Outcome  string    `json:"outcome"`
	Phone    string    `json:"phone"`
	Error    string    `json:"error"`
}

func (con *Console) handleStatus(c *fiber.Ctx) error {
	name := store(c)
	now := time.Now()
	out := statusAnswer{
		StoreStatus: con.opts.Status.Status(name),
		PerMinute:   con.opts.Recorder.UpstreamPerMinute(name, now),
		Errors:      []answerError{},
		Now:         now,
	}
	for _, e := range con.opts.Recorder.Errors(name) {
		out.Errors = append(out.Errors, answerError{Time: e.Time, Endpoint: e.Endpoint, Outcome: e.Outcome, Phone: e.Phone, Error: e.Error})
	}
	return c.JSON(out)
}

// previewAnswer is what WAzion's agents would see for the typed text.
type previewAnswer struct {
	Input string `json:"input"`
	// Phone is the phone the side panel was asked about: the input, or
	// the phone of the first customer the search found.
	Phone string `json:"phone"`
	// Search is the globalSearch answer when the input was not a phone.
	Search       json.RawMessage `json:"search,omitempty"`
	CustomerInfo json.RawMessage `json:"customer_info,omitempty"`
	InitialInfo  json.RawMessage `json:"initial_info,omitempty"`
}

var orderNumber = regexp.MustCompile(`^#?\d{1,9}$`)

// looksLikePhone is true for text of phone characters with at least seven
// digits; order numbers are shorter.
func looksLikePhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			digits++
		case strings.ContainsRune("+-(). ", r):
		default:
			return false
		}
	}
	return digits >= 7
}

// handlePreview asks the store's own WAzion endpoints what an agent would
// see: a phone goes to the side panel and the AI text as WAzion sends it;
// a name, email or order number is first looked up with globalSearch, as
// the floating search does, and the first customer found is shown.
func (con *Console) handlePreview(c *fiber.Ctx) error {
	name := store(c)
	input := strings.TrimSpace(strings.Clone(c.Query("q")))
	if input == "" {
		return errorJSON(c, http.StatusBadRequest, "type a phone, a name, an email or an order number")
	}
	ctx := c.UserContext()
	out := previewAnswer{Input: input}
	ai := url.Values{}
	if looksLikePhone(input) {
		out.Phone = input
	} else {
		b, err := con.opts.Answerer.Answer(ctx, name, wazion.EndpointGlobalSearch, url.Values{"query": {input}})
		if err != nil {
			return errorJSON(c, http.StatusBadGateway, err.Error())
		}
		out.Search = b
		var gs wazion.GlobalSearchResponse
		if json.Unmarshal(b, &gs) == nil {
			for _, cu := range gs.Customers {
				if cu.Phone != "" {
					out.Phone = cu.Phone
					break
				}
			}
		}
		switch {
		case strings.Contains(input, "@"):
			ai.Set("email", input)
		case orderNumber.MatchString(input):
			ai.Set("order", strings.TrimPrefix(input, "#"))
		}
	}
	if out.Phone != "" {
		b, err := con.opts.Answerer.Answer(ctx, name, wazion.EndpointCustomerInfo, url.Values{"phone": {out.Phone}})
		if err != nil {
			return errorJSON(c, http.StatusBadGateway, err.Error())
		}
		out.CustomerInfo = b
		ai.Set("phone", out.Phone)
	}
	if ai.Get("phone") != "" || ai.Get("email") != "" {
		b, err := con.opts.Answerer.Answer(ctx, name, wazion.EndpointCustomerInitialInfo, ai)
		if err != nil {
			return errorJSON(c, http.StatusBadGateway, err.Error())
		}
		out.InitialInfo = b
	}
	return c.JSON(out)
}

// handleProducts runs search_Products in WAzion's normal and AI formats.
func (con *Console) handleProducts(c *fiber.Ctx) error {
	name := store(c)
	q := strings.TrimSpace(strings.Clone(c.Query("q")))
	params := url.Values{"q": {q}}
	if phone := strings.TrimSpace(strings.Clone(c.Query("phone"))); phone != "" {
		params.Set("phone", phone)
	}
	ctx := c.UserContext()
	normal, err := con.opts.Answerer.Answer(ctx, name, wazion.EndpointSearchProducts, params)
	if err != nil {
		return errorJSON(c, http.StatusBadGateway, err.Error())
	}
	params.Set("format", "ai")
	ai, err := con.opts.Answerer.Answer(ctx, name, wazion.EndpointSearchProducts, params)
	if err != nil {
		return errorJSON(c, http.StatusBadGateway, err.Error())
	}
	return c.JSON(fiber.Map{"normal": json.RawMessage(normal), "ai": json.RawMessage(ai)})
}
