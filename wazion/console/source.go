package console

import (
	"context"
	"net/url"
	"time"
)

// Setup gives the facts to enter in WAzion's CRM endpoint settings, the
// same as the wazion-settings command prints.
type Setup interface {
	// Settings is store's settings for a service reached at publicURL,
	// with method GET or POST and auth one of header, query, body, basic.
	// The token in them is masked. The error is a bad publicURL, method
	// or auth, in words fit to show.
	Settings(store, publicURL, method, auth string) (Settings, error)
}

// Settings is what one store's WAzion settings hold.
type Settings struct {
	PublicURL     string        `json:"public_url"`
	Warnings      []string      `json:"warnings"`
	URLs          []EndpointURL `json:"urls"`
	Method        string        `json:"method"`
	Body          string        `json:"body,omitempty"` // POST body encoding
	Auth          string        `json:"auth"`
	TokenLocation string        `json:"token_location"`
	// Alternatives says where the token goes with each other auth choice.
	Alternatives []Alternative `json:"alternatives"`
	// Budgets: WAzion's, and the service's own deadlines inside them.
	BudgetGlobalSearch   string `json:"budget_global_search"`
	BudgetOthers         string `json:"budget_others"`
	DeadlineGlobalSearch string `json:"deadline_global_search"`
	DeadlineOthers       string `json:"deadline_others"`
}

// EndpointURL is one endpoint's URL.
type EndpointURL struct {
	Endpoint string `json:"endpoint"`
	URL      string `json:"url"`
}

// Alternative is where the token goes with another auth choice.
type Alternative struct {
	Auth     string `json:"auth"`
	Location string `json:"location"`
}

// Checker probes a store's Whatalo key as the check command does.
type Checker interface {
	Check(ctx context.Context, store string) (CheckReport, error)
}

// CheckReport is the outcome of a check, in plain words.
type CheckReport struct {
	Time     time.Time   `json:"time"`
	OK       bool        `json:"ok"`
	APIKey   string      `json:"api_key"` // masked
	BaseURL  string      `json:"base_url"`
	Checks   []CheckItem `json:"checks"`
	Warnings []string    `json:"warnings"`
	// Redis is set when the service shares state through Redis.
	Redis *CheckItem `json:"redis,omitempty"`
}

// CheckItem is one probe.
type CheckItem struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// Webhooks lists and registers the store's Whatalo webhook subscription,
// with the rules of the webhooks command.
type Webhooks interface {
	// Webhooks reports the subscriptions and whether one points at the
	// service's webhook URL under publicURL.
	Webhooks(ctx context.Context, store, publicURL string) (WebhookState, error)
	// RegisterWebhook subscribes the webhook URL under publicURL.
	RegisterWebhook(ctx context.Context, store, publicURL string) (Registration, error)
}

// WebhookState is the store's webhook URL and its Whatalo subscriptions.
type WebhookState struct {
	URL string `json:"url"`
	// Covered is true when an active subscription at URL has every event
	// the service uses.
	Covered       bool           `json:"covered"`
	Events        []string       `json:"events"` // the events the service uses
	Subscriptions []Subscription `json:"subscriptions"`
	// SecretConfigured says whether deliveries can be verified.
	SecretConfigured bool `json:"secret_configured"`
}

// Subscription is one Whatalo webhook subscription (never its secret).
type Subscription struct {
	ID            string     `json:"id"`
	URL           string     `json:"url"`
	Events        []string   `json:"events"`
	Active        bool       `json:"active"`
	LastTriggered *time.Time `json:"last_triggered,omitempty"`
	Failures      int        `json:"failures"`
	// PointsHere is true when URL is the service's webhook URL.
	PointsHere bool `json:"points_here"`
	// Missing lists the service's events the subscription lacks.
	Missing []string `json:"missing"`
}

// Registration is a subscription just created.
type Registration struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	// Secret is the signing secret Whatalo generated, shown only this once;
	// empty when the store's configured secret was used.
	Secret string `json:"secret,omitempty"`
	// Next says what the owner must do now, if anything.
	Next     string   `json:"next"`
	Warnings []string `json:"warnings"`
}

// Status reports a store's live state.
type Status interface {
	Status(store string) StoreStatus
}

// StoreStatus is what the status page shows besides the Recorder's
// history.
type StoreStatus struct {
	Index    IndexStatus    `json:"index"`
	Cache    CacheStatus    `json:"cache"`
	Upstream UpstreamStatus `json:"upstream"`
	// Redis is nil when no Redis is configured.
	Redis *RedisStatus `json:"redis,omitempty"`
}

// IndexStatus is the phone index's state.
type IndexStatus struct {
	State     string     `json:"state"` // disabled, building, ready, stale, failed
	Customers int        `json:"customers"`
	Keys      int        `json:"keys"`
	LastSync  *time.Time `json:"last_sync,omitempty"`
	Error     string     `json:"error,omitempty"`
	Role      string     `json:"role,omitempty"`
}

// CacheStatus counts cache lookups since the service started; stale
// answers count as hits, as in the README's hit ratio.
type CacheStatus struct {
	Hits    float64 `json:"hits"`
	Lookups float64 `json:"lookups"`
}

// UpstreamStatus is the store's Whatalo budget.
type UpstreamStatus struct {
	// Limit is the calls per minute the service allows itself.
	Limit int `json:"limit"`
	// Remaining and WindowLimit are Whatalo's last rate-limit headers,
	// when seen.
	Remaining   *int `json:"remaining,omitempty"`
	WindowLimit *int `json:"window_limit,omitempty"`
}

// RedisStatus is the shared Redis's state.
type RedisStatus struct {
	Status string     `json:"status"` // ok or degraded
	Reason string     `json:"reason,omitempty"`
	Since  *time.Time `json:"since,omitempty"`
}

// Answerer answers a WAzion request for a store through the service's own
// WAzion endpoint, so a preview is the answer WAzion would get and counts
// in the metrics like any other.
type Answerer interface {
	// Answer returns the JSON body of endpoint's answer to params.
	Answer(ctx context.Context, store, endpoint string, params url.Values) ([]byte, error)
}
