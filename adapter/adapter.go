package adapter

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/phone"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// Defaults applied by New to zero fields of Options. The service's
// configuration reads these too, so a default lives here only.
const (
	DefaultOrdersCount     = 10
	DefaultOrdersWithItems = 5
	DefaultAIInfoMax       = 1500 // characters
	DefaultMoneyDivisor    = 1    // major units
)

// Options configure one store's Backend. Zero values take the defaults
// noted on each field.
type Options struct {
	// Name identifies the store in logs and metrics.
	Name string
	// Region is the default region for national phone numbers (e.g. "DO");
	// empty means the store's country_code.
	Region string
	// Language is the label language (es, en, pt, fr, de, it); default
	// wazion.DefaultLanguage.
	Language string
	// URLs build customer, order and product links.
	URLs URLTemplates
	// Locales localise product URLs by the customer's phone country.
	Locales []LocaleRule
	// OrdersCount is how many recent orders a customer shows (default
	// DefaultOrdersCount); OrdersWithItems how many of the newest carry
	// items (default DefaultOrdersWithItems, negative for none).
	OrdersCount     int
	OrdersWithItems int
	// State holds the customer state thresholds.
	State StateRules
	// AIInfoMax bounds the ai_CustomerInitialInfo text, in characters
	// (default DefaultAIInfoMax).
	AIInfoMax int
	// MoneyDivisor divides every amount (default DefaultMoneyDivisor).
	MoneyDivisor int
	// InternalNotes says where orders' internal notes are shown (default
	// InternalNotesPanel: in the panel, marked, never in the AI text).
	InternalNotes InternalNotes
	// Cache configures the per-store cache.
	Cache cache.Options
	// Index configures the phone index that Run keeps.
	Index IndexOptions
	// WebhookSecret signs this store's webhook deliveries. Empty: every
	// delivery is refused as unsigned.
	WebhookSecret string
	// TokenShare is the part of the store's budget (the client's Limiter)
	// that the Whatalo calls made for one WAzion token (wazion.Caller) may
	// spend; past it that token's lookups are answered from the cache or
	// with an error while other tokens go on. Zero means
	// DefaultTokenShare; 1 or more, no bound of its own.
	TokenShare float64
	// Shared connects the Backend to other replicas serving the store; the
	// zero value runs it alone.
	Shared SharedOptions
	// Observer, if set, is told about webhook deliveries and index syncs.
	Observer Observer
	// OnChange, if set, is called after a webhook (here or, with Redis, at
	// another replica) or an index sync changed what answers hold, so that
	// answers kept above the Backend can be dropped. It must be fast.
	OnChange func()
	// Logger receives background errors; default discards.
	Logger *slog.Logger
	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
}

// Observer receives events worth counting, for metrics. Its methods run on
// the caller's goroutine and must be fast. Label values are bounded: store is
// Options.Name, event one of Whatalo's documented event names or "unknown".
type Observer interface {
	// ObserveWebhook is told of every delivery HandleWebhook sees. result
	// is one of WebhookOK, WebhookDuplicate, WebhookBadSignature,
	// WebhookStaleTimestamp, WebhookBadPayload, WebhookIgnored.
	ObserveWebhook(store, event, result string)
	// ObserveIndex is told the index size after every sync and every
	// webhook update; lastSync is the end of the last successful sync.
	ObserveIndex(store string, customers, keys int, lastSync time.Time)
}

// Backend answers WAzion for one Whatalo store.
type Backend struct {
	client *whatalo.Client
	opts   Options
	cache  *cache.Cache
	carts  *carts
	phones *phone.Normalizer
	labels *wazion.Labels
	log    *slog.Logger
	now    func() time.Time

	callers       *callerBudgets
	resume        resumers
	index         *phoneIndex
	running       atomic.Bool // Run is active
	firstSync     chan struct{}
	firstSyncOnce sync.Once
	webhooks      *deliverySet
	orders        *versionSet // order versions webhooks told
	refresher     *customerRefresher

	// coldSearches rations lookups' searches until the index is first
	// ready (coldstart.go); nil: not rationed.
	coldSearches *rate.Limiter

	// With other replicas (Options.Shared).
	replica     string
	listening   atomic.Bool // Run is applying the bus's messages
	feed        orderFeed
	feedRunning atomic.Bool // Run is polling the order feed
	busReceived atomic.Int64
	busErrors   atomic.Int64
	share       indexShareState
}

var _ wazion.Backend = (*Backend)(nil)

// New returns a Backend reading the store through client.
func New(client *whatalo.Client, opts Options) *Backend {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&opts.OrdersCount, DefaultOrdersCount)
	if opts.OrdersWithItems < 0 {
		opts.OrdersWithItems = 0
	} else if opts.OrdersWithItems == 0 {
		opts.OrdersWithItems = DefaultOrdersWithItems
	}
	opts.OrdersWithItems = min(opts.OrdersWithItems, opts.OrdersCount)
	def(&opts.AIInfoMax, DefaultAIInfoMax)
	def(&opts.MoneyDivisor, DefaultMoneyDivisor)
	if opts.Language == "" {
		opts.Language = wazion.DefaultLanguage
	}
	opts.Region = strings.ToUpper(opts.Region)
	opts.URLs = opts.URLs.WithDefaults()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Cache.Now == nil {
		opts.Cache.Now = opts.Now
	}
	opts.Index = opts.Index.withDefaults()
	if opts.Shared.Replica == "" {
		opts.Shared.Replica = newReplicaName()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Backend{
		client:    client,
		opts:      opts,
		cache:     cache.New(opts.Cache),
		carts:     newCarts(),
		phones:    phone.NewNormalizer(phone.Options{}),
		labels:    wazion.LabelsFor(opts.Language),
		log:       log.With("store", opts.Name),
		now:       opts.Now,
		callers:   newCallerBudgets(client.Limiter().PerMinute(), opts.TokenShare),
		resume:    newResumers(),
		index:     newPhoneIndex(opts.Index.Disabled),
		firstSync: make(chan struct{}),
		webhooks:  newDeliverySet(2*maxDeliveries, deliveryTTL), // an id and a signature each
		orders:    newVersionSet(maxOrderVersions, orderVersionTTL),
		replica:   opts.Shared.Replica,
	}
	b.coldSearches = newColdSearches(cmp.Or(opts.Index.ColdSearchesPerMinute, defaultColdSearches(client.Limiter())))
	b.refresher = newCustomerRefresher(whatalo.WithPriority(context.Background(), whatalo.Background),
		refreshWorkers, maxPendingRefreshes, b.refreshCustomer)
	return b
}

// Name is the store's name.
func (b *Backend) Name() string { return b.opts.Name }

// Close ends the background fetches started by webhooks and the cache's
// background work, waiting for both. Run ends with its own context.
func (b *Backend) Close() {
	b.refresher.close()
	b.cache.Close()
}

// msgCallerBudget is what a token past its share of the store's budget
// (Options.TokenShare) is told when its answer needed Whatalo.
const msgCallerBudget = "this token has used its share of the store's Whatalo budget; answers from cache only, try again shortly"

// public wraps err with the short message WAzion may show.
func public(err error) error {
	if err == nil {
		return nil
	}
	return wazion.PublicError(publicError(err), err)
}

// publicError turns an internal error into a short message for WAzion: no
// URLs, keys or upstream bodies, just what went wrong.
func publicError(err error) string {
	var we *whatalo.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "timeout: the store did not answer in time"
	case errors.Is(err, errIndexBuilding):
		return "phone index still building: new phones are looked up a few at a time, try again shortly"
	case errors.Is(err, whatalo.ErrCallerBudget):
		return msgCallerBudget
	case errors.Is(err, whatalo.ErrRateLimited):
		return "rate limited: the store's Whatalo API budget is exhausted, try again shortly"
	case errors.Is(err, whatalo.ErrUnauthorized):
		return "upstream rejected the API key"
	case errors.Is(err, whatalo.ErrForbidden):
		return "the API key lacks a required scope"
	case errors.As(err, &we):
		return "upstream error: " + strings.ToLower(strings.TrimSpace(we.Code))
	}
	var bad badPhones
	if errors.As(err, &bad) {
		return bad.Error()
	}
	return "upstream unavailable"
}

// Probe checks that the store answers (or answered recently: store info is
// cached), for readiness checks.
func (b *Backend) Probe(ctx context.Context) error {
	_, err := b.storeInfo(ctx)
	return err
}
