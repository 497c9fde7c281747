package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/wazion/console"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// consoleProbeTimeout bounds each request of a check run from the console,
// as check's --timeout default does.
const consoleProbeTimeout = 10 * time.Second

// newConsoleRecorder returns the console's in-memory history of the stores
// when the console is on, else nil (which records nothing).
func newConsoleRecorder(cfg *config.Config) *console.Recorder {
	if !cfg.Console.Enabled {
		return nil
	}
	names := make([]string, 0, len(cfg.Stores))
	for _, sc := range cfg.Stores {
		names = append(names, sc.Name)
	}
	return console.NewRecorder(names)
}

// ObserveAnswerError implements wazion.ErrorObserver, for the console's
// list of the last answers with an error.
func (m *metrics) ObserveAnswerError(e wazion.AnswerError) {
	m.console.ObserveAnswerError(e)
}

// mountConsole serves the console at /console/ when it is enabled. Call it
// once every other route is registered: the console's previews go through
// the app's own handler.
func (s *service) mountConsole() error {
	cc := s.cfg.Console
	if !cc.Enabled {
		return nil
	}
	src := &consoleSource{s: s, wazion: s.app.Handler(), tokens: map[string]string{}}
	stores := make([]console.Store, 0, len(s.cfg.Stores))
	for _, sc := range s.cfg.Stores {
		tokens := make([]string, 0, len(sc.Tokens))
		for _, t := range sc.Tokens {
			tokens = append(tokens, t.Value())
		}
		stores = append(stores, console.Store{Name: sc.Name, Tokens: tokens})
		src.tokens[sc.Name] = tokens[0]
	}
	con, err := console.New(console.Options{
		Stores:     stores,
		Password:   cc.Password.Value(),
		PublicURL:  cc.PublicURL,
		SessionTTL: cc.SessionTTL,
		Setup:      src,
		Checker:    src,
		Webhooks:   src,
		Status:     src,
		Answerer:   src,
		Recorder:   s.metrics.console,
		Logger:     s.log.With("component", "console"),
	})
	if err != nil {
		return err
	}
	con.Register(s.app)
	if cc.Password == "" {
		s.log.Info("console: no operator password (CONSOLE_PASSWORD or console.password); store owners sign in with a WAzion token")
	}
	return nil
}

// consoleSource answers the console's questions from the service: the same
// code as wazion-settings, check and webhooks, over the running stores.
type consoleSource struct {
	s *service
	// wazion is the app's handler: a preview is a WAzion request.
	wazion fasthttp.RequestHandler
	tokens map[string]string // first WAzion token of each store
}

// storeConfig returns a store's configuration and its index in it.
func (cs *consoleSource) storeConfig(name string) (config.Store, int, error) {
	for i, sc := range cs.s.stores.Load().cfg.Stores {
		if sc.Name == name {
			return sc, i, nil
		}
	}
	return config.Store{}, 0, fmt.Errorf("no store %q", name)
}

// publicBase checks a public URL as wazion-settings does, worded for the
// console's field rather than the flag.
func publicBase(raw string) (publicURL, error) {
	pub, err := parsePublicURL(raw)
	if err == nil && pub.httpsProblem != "" {
		err = fmt.Errorf("%s: %s", pub.base, pub.httpsProblem)
	}
	if err != nil {
		return pub, errors.New(strings.ReplaceAll(err.Error(), "--public-url", "public address"))
	}
	return pub, nil
}

// Settings implements console.Setup with the code of wazion-settings.
func (cs *consoleSource) Settings(store, publicURL, method, auth string) (console.Settings, error) {
	sc, _, err := cs.storeConfig(store)
	if err != nil {
		return console.Settings{}, err
	}
	pub, err := publicBase(publicURL)
	if err != nil {
		return console.Settings{}, err
	}
	m := strings.ToUpper(strings.TrimSpace(method))
	a := strings.ToLower(strings.TrimSpace(auth))
	switch {
	case m != "GET" && m != "POST":
		return console.Settings{}, fmt.Errorf("method %q: want GET or POST", method)
	case !slices.Contains(authChoices, a):
		return console.Settings{}, fmt.Errorf("authentication %q: want one of %s", auth, strings.Join(authChoices, ", "))
	case a == authBody && m == "GET":
		return console.Settings{}, errors.New("authentication body needs method POST: a GET request has no body")
	}
	ss := storeSettingsShowing(cs.s.stores.Load().cfg, sc, pub.base, m, a, sc.Tokens[0].Mask())
	out := console.Settings{
		PublicURL: pub.base, Warnings: []string{}, Method: ss.Method, Body: ss.Body, Auth: ss.Auth,
		TokenLocation:      ss.TokenLocation,
		BudgetGlobalSearch: ss.BudgetGlobalSearch, BudgetOthers: ss.BudgetOthers,
		DeadlineGlobalSearch: ss.DeadlineGlobalSearch, DeadlineOthers: ss.DeadlineOthers,
	}
	if pub.httpsWarning != "" {
		out.Warnings = append(out.Warnings, pub.httpsWarning)
	}
	for _, u := range ss.URLs {
		out.URLs = append(out.URLs, console.EndpointURL(u))
	}
	for _, choice := range authChoices {
		if loc, ok := ss.Alternative[choice]; ok {
			out.Alternatives = append(out.Alternatives, console.Alternative{Auth: choice, Location: loc})
		}
	}
	return out, nil
}

// Check implements console.Checker with check's probes, on the store's own
// limiter so they take their turn in its budget.
func (cs *consoleSource) Check(ctx context.Context, store string) (console.CheckReport, error) {
	sc, i, err := cs.storeConfig(store)
	if err != nil {
		return console.CheckReport{}, err
	}
	rep := checkStore(ctx, cs.s.stores.Load().cfg, i, cs.s.client(store).Limiter(), consoleProbeTimeout)
	out := console.CheckReport{
		Time: time.Now(), OK: rep.OK, APIKey: sc.APIKey.Mask(), BaseURL: rep.BaseURL, Warnings: rep.Warnings,
	}
	for _, c := range rep.Checks {
		out.Checks = append(out.Checks, console.CheckItem(c))
	}
	if r := checkRedis(ctx, cs.s.cfg, cs.s.sharing, consoleProbeTimeout); r != nil {
		item := console.CheckItem(*r)
		out.Redis = &item
		out.OK = out.OK && r.OK
	}
	return out, nil
}

// webhookURL is the store's webhook URL under a public URL.
func webhookURL(store, publicURL string) (string, error) {
	pub, err := parsePublicURL(publicURL)
	if err != nil {
		return "", errors.New(strings.ReplaceAll(err.Error(), "--public-url", "public address"))
	}
	return pub.base + "/webhooks/whatalo/" + store, nil
}

// explainWebhookError words a Whatalo failure as check does; the others
// (a refused URL, a subscription already there) are already plain words.
func (cs *consoleSource) explainWebhookError(err error, scope string, sc config.Store, i int) string {
	var we *whatalo.Error
	if errors.As(err, &we) || isNetworkError(err) || errors.Is(err, context.DeadlineExceeded) {
		return explainProbeError(err, scope, sc.BaseURL, webhookWait, fieldsOf(cs.s.stores.Load().cfg, i))
	}
	return err.Error()
}

// webhookWait is how long the console waits for Whatalo's webhook API.
const webhookWait = 15 * time.Second

// Webhooks implements console.Webhooks: the subscriptions, as webhooks
// list shows them.
func (cs *consoleSource) Webhooks(ctx context.Context, store, publicURL string) (console.WebhookState, error) {
	sc, i, err := cs.storeConfig(store)
	if err != nil {
		return console.WebhookState{}, err
	}
	u, err := webhookURL(store, publicURL)
	if err != nil {
		return console.WebhookState{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, webhookWait)
	defer cancel()
	hooks, _, err := cs.s.client(store).Webhooks.List(ctx)
	if err != nil {
		return console.WebhookState{}, errors.New("list Whatalo's webhook subscriptions: " + cs.explainWebhookError(err, webhookScope("read"), sc, i))
	}
	out := console.WebhookState{URL: u, Events: adapter.WebhookEvents(), Subscriptions: []console.Subscription{}, SecretConfigured: sc.WebhookSecret != ""}
	for _, w := range hooks {
		sub := console.Subscription{
			ID: w.ID, URL: w.URL, Events: w.Events, Active: w.IsActive, LastTriggered: w.LastTriggeredAt,
			Failures: w.FailureCount, PointsHere: w.URL == u, Missing: missingEvents(w.Events),
		}
		if sub.Missing == nil {
			sub.Missing = []string{}
		}
		if sub.PointsHere && sub.Active && len(sub.Missing) == 0 {
			out.Covered = true
		}
		out.Subscriptions = append(out.Subscriptions, sub)
	}
	return out, nil
}

// webhookScope names the webhook scope of an access ("read" or
// "write"), for explainProbeError's advice.
func webhookScope(access string) string { return access + ":webhooks" }

// RegisterWebhook implements console.Webhooks with the rules of webhooks
// register. The store's configured secret signs the deliveries when there
// is one, so they verify at once; otherwise Whatalo's generated secret is
// shown this once.
func (cs *consoleSource) RegisterWebhook(ctx context.Context, store, publicURL string) (console.Registration, error) {
	sc, i, err := cs.storeConfig(store)
	if err != nil {
		return console.Registration{}, err
	}
	u, err := webhookURL(store, publicURL)
	if err != nil {
		return console.Registration{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, webhookWait)
	defer cancel()
	out := console.Registration{Warnings: []string{}}
	secret := sc.WebhookSecret.Value()
	w, err := registerWebhook(ctx, cs.s.client(store), store, u, secret, false, func(msg string) {
		out.Warnings = append(out.Warnings, msg)
	})
	if err != nil {
		return console.Registration{}, errors.New(cs.explainWebhookError(err, webhookScope("write"), sc, i))
	}
	out.ID, out.URL, out.Events = w.ID, w.URL, w.Events
	field := "WHATALO_WEBHOOK_SECRET"
	if cs.s.cfg.Source != "environment" {
		field = fmt.Sprintf("webhook_secret: in store %s's entry of %s", store, cs.s.cfg.Source)
	}
	switch {
	case secret != "":
		out.Next = "Deliveries are signed with the store's configured webhook secret: nothing else to do."
	case w.Secret != "":
		out.Secret = w.Secret
		out.Next = "Set " + field + " to this secret and restart the service, so deliveries can be verified."
	default:
		out.Warnings = append(out.Warnings, "Whatalo returned no secret; deliveries cannot be verified. Delete this subscription in Whatalo and register again with: whatalo-wazion webhooks register --secret")
	}
	return out, nil
}

// Status implements console.Status from the running store.
func (cs *consoleSource) Status(store string) console.StoreStatus {
	var out console.StoreStatus
	if b := cs.s.backend(store); b != nil {
		ix := b.IndexStatus()
		out.Index = console.IndexStatus{State: ix.State, Customers: ix.Customers, Keys: ix.Keys, Error: ix.LastError, Role: ix.Role}
		if !ix.LastSync.IsZero() {
			t := ix.LastSync
			out.Index.LastSync = &t
		}
	}
	out.Cache.Hits, out.Cache.Lookups = cs.s.metrics.storeCacheLookups(store)
	if c := cs.s.client(store); c != nil {
		out.Upstream.Limit = c.Limiter().PerMinute()
		if rem, lim, ok := c.Limiter().Remaining(); ok && rem >= 0 && lim > 0 {
			out.Upstream.Remaining, out.Upstream.WindowLimit = &rem, &lim
		}
	}
	if h := cs.s.sharing.health(); h != nil {
		out.Redis = &console.RedisStatus{Status: h.Status, Reason: h.Reason, Since: h.Since}
	}
	return out
}

// storeCacheLookups adds up a store's cache lookups since start: hits (fresh,
// from the shared level, or stale) and all of them.
func (m *metrics) storeCacheLookups(store string) (hits, lookups float64) {
	mfs, err := m.reg.Gather()
	if err != nil {
		return 0, 0
	}
	for _, mf := range mfs {
		if mf.GetName() != metricsNamespace+"_cache_lookups_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			var st, result string
			for _, lp := range mt.GetLabel() {
				switch lp.GetName() {
				case "store":
					st = lp.GetValue()
				case "result":
					result = lp.GetValue()
				}
			}
			if st != store {
				continue
			}
			v := mt.GetCounter().GetValue()
			lookups += v
			if result == "hit" || result == "shared_hit" || result == "stale" {
				hits += v
			}
		}
	}
	return hits, lookups
}

// consoleAddr is the client address of a preview request.
var consoleAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}

// Answer implements console.Answerer: the request goes through the app's
// own WAzion route with the store's token, so it is authenticated, limited,
// answered, logged and counted like one from WAzion. The route keeps its
// own deadline; ctx is not passed on, as Fiber gives a handler no way in.
func (cs *consoleSource) Answer(_ context.Context, store, endpoint string, params url.Values) ([]byte, error) {
	tok, ok := cs.tokens[store]
	if !ok {
		return nil, fmt.Errorf("no store %q", store)
	}
	var req fasthttp.Request
	req.Header.SetMethod(fasthttp.MethodGet)
	req.SetRequestURI("/wazion/" + endpoint + "?" + params.Encode())
	req.Header.Set(wazion.HeaderToken, tok)
	var id [8]byte
	_, _ = rand.Read(id[:]) // never fails, see crypto/rand.Read
	req.Header.Set(wazion.HeaderRequestID, "console-"+hex.EncodeToString(id[:]))
	var fctx fasthttp.RequestCtx
	fctx.Init(&req, consoleAddr, nil)
	cs.wazion(&fctx)
	if code := fctx.Response.StatusCode(); code != fasthttp.StatusOK {
		return nil, fmt.Errorf("%s answered HTTP %d", endpoint, code)
	}
	return bytes.Clone(fctx.Response.Body()), nil
}
