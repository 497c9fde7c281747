package redisshare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults applied to zero fields of Options.
const (
	DefaultKeyPrefix    = "whatalo-wazion:"
	DefaultTimeout      = 50 * time.Millisecond
	DefaultPingInterval = time.Second
	// DefaultBulkTimeout bounds background calls that carry more data
	// (cache write batches, index snapshots) when their context has no
	// shorter deadline.
	DefaultBulkTimeout = 10 * time.Second
)

// ErrUnavailable is returned at once, without asking Redis, while Redis is
// taken for down: from a failed call until a ping or a call succeeds after
// the retry interval.
var ErrUnavailable = errors.New("redis unavailable")

// Options configure a Client.
type Options struct {
	// URL is redis://[user:password@]host:port[/db] or rediss:// for TLS;
	// with ?master_name=NAME (and addr=host:port for more sentinels,
	// password=… for the master) host:port is a Redis Sentinel.
	// It may hold a password: it never appears in errors or logs.
	URL string
	// KeyPrefix starts every key and channel, so that deployments can
	// share one Redis (default DefaultKeyPrefix). The limiter's keys start
	// with redis_rate's own "rate:" before it.
	KeyPrefix string
	// Timeout bounds each call on a request's path (default 50 ms).
	Timeout time.Duration
	// PingInterval is how often Redis is pinged, to report its health and
	// to end an outage as soon as it answers (default 1 s).
	PingInterval time.Duration
	// Logger receives changes of Redis' health; default discards.
	Logger *slog.Logger
	// OnChange, if set, is told when Redis goes down or comes back.
	OnChange func(up bool, err error)
}

// Ops counted by Stats: the keys of Stats.Calls and Stats.Errors.
const (
	OpRate       = "rate"        // the shared limiter
	OpCacheGet   = "cache_get"   // second-level cache reads
	OpCacheWrite = "cache_write" // second-level cache write batches
	OpPublish    = "publish"     // bus publications
	OpSubscribe  = "subscribe"   // bus subscriptions
	OpLease      = "lease"       // index lease
	OpIndex      = "index"       // index meta and snapshots
	OpWebhook    = "webhook"     // deliveries seen, carts, completed checkouts
	OpPing       = "ping"        // health pings
)

// ops lists every op, in the order of Client's counters.
var ops = [...]string{OpRate, OpCacheGet, OpCacheWrite, OpPublish, OpSubscribe, OpLease, OpIndex, OpWebhook, OpPing}

// Ops returns every op Stats counts, for metrics.
func Ops() []string { return slices.Clone(ops[:]) }

func opIndex(op string) int {
	for i, o := range ops {
		if o == op {
			return i
		}
	}
	return len(ops) - 1
}

// Client is one process's connection to the shared Redis. Create it with
// New and Close it when done; its Limiters and Stores share its connection
// pool and its view of Redis' health.
type Client struct {
	rdb     *redis.Client
	rate    *redis_rate.Limiter
	prefix  string
	timeout time.Duration
	log     *slog.Logger
	opts    Options

	calls  [len(ops)]atomic.Int64
	errors [len(ops)]atomic.Int64
	hits   atomic.Int64
	misses atomic.Int64

	isUp atomic.Bool // mirrors up, read without the lock on every call

	mu       sync.Mutex
	up       bool
	since    time.Time
	lastErr  string
	retryAt  time.Time
	failures int64

	stop chan struct{}
	done chan struct{}
}

// New connects to Redis as opts say. It does not wait for Redis: a Redis
// that is down at start is reported by Health and retried by the pinger.
func New(opts Options) (*Client, error) {
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = DefaultKeyPrefix
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultPingInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	rdb, err := newRedisClient(opts.URL, opts.Timeout)
	if err != nil {
		return nil, fmt.Errorf("read redis URL: %w", redactURL(err))
	}
	redis.SetLogger(poolLogger{opts.Logger})
	c := &Client{
		rdb:     rdb,
		rate:    redis_rate.NewLimiter(rdb),
		prefix:  opts.KeyPrefix,
		timeout: opts.Timeout,
		log:     opts.Logger,
		opts:    opts,
		up:      true,
		since:   time.Now(),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	c.isUp.Store(true)
	c.ping()
	go c.pinger()
	return c, nil
}

// newRedisClient connects to the Redis of rawURL: one Redis, or with a
// master_name parameter the master Redis Sentinel names (the URL's host and
// each addr parameter are sentinels, its user and password the sentinels',
// a password parameter the master's), followed through failovers.
func newRedisClient(rawURL string, timeout time.Duration) (*redis.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	// Deadlines come from each call's context; the client's own timeouts
	// only bound calls without one. One quick retry gets past a pooled
	// connection that died with a Redis restart; more would not fit a
	// request's timeout.
	const (
		retries    = 1
		minBackoff = time.Millisecond
		maxBackoff = 5 * time.Millisecond
		protocol   = 2
	)
	dial := max(timeout, time.Second)
	if u.Query().Has("master_name") {
		fo, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, err
		}
		fo.ContextTimeoutEnabled = true
		fo.DialTimeout, fo.ReadTimeout, fo.WriteTimeout, fo.PoolTimeout = dial, DefaultBulkTimeout, DefaultBulkTimeout, timeout
		fo.MaxRetries, fo.MinRetryBackoff, fo.MaxRetryBackoff = retries, minBackoff, maxBackoff
		fo.DisableIdentity, fo.Protocol = true, protocol
		return redis.NewFailoverClient(fo), nil
	}
	ro, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	ro.ContextTimeoutEnabled = true
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = dial, DefaultBulkTimeout, DefaultBulkTimeout, timeout
	ro.MaxRetries, ro.MinRetryBackoff, ro.MaxRetryBackoff = retries, minBackoff, maxBackoff
	ro.DisableIdentity, ro.Protocol = true, protocol
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return redis.NewClient(ro), nil
}

// poolLogger sends go-redis' own messages (a failed dial, repeated every
// second while Redis is down) to the process's log at debug level: the
// Client reports Redis' state itself, once per change.
type poolLogger struct{ log *slog.Logger }

func (l poolLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...))
}

// redactURL keeps a URL parse error's reason and drops the URL, which may
// hold a password.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New("invalid URL: " + ue.Err.Error())
	}
	msg := err.Error()
	if strings.Contains(msg, "@") || strings.Contains(msg, "://") {
		return errors.New("invalid URL")
	}
	return err
}

// Close stops the pinger and closes the connections.
func (c *Client) Close() error {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
	return c.rdb.Close()
}

func (c *Client) pinger() {
	defer close(c.done)
	t := time.NewTicker(c.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.ping()
		}
	}
}

func (c *Client) ping() {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	_ = c.Ping(ctx)
}

// Ping asks Redis whether it answers, within ctx, and updates Health
// with the outcome. Given longer than the calls' timeout, its error names
// the cause (a refused connection, a wrong password) rather than the
// deadline.
func (c *Client) Ping(ctx context.Context) error {
	c.calls[opIndex(OpPing)].Add(1)
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		c.errors[opIndex(OpPing)].Add(1)
		c.markDown(err)
		return err
	}
	c.markUp()
	return nil
}

// Health is Redis' state as this process sees it.
type Health struct {
	Up        bool
	Since     time.Time // when the current state began
	LastError string    // the last failure; kept after recovery
	Failures  int64     // failed calls and pings so far
}

// Health returns Redis' state.
func (c *Client) Health() Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Health{Up: c.up, Since: c.since, LastError: c.lastErr, Failures: c.failures}
}

// Stats are counters for metrics.
type Stats struct {
	Calls       map[string]int64 // by op
	Errors      map[string]int64 // by op
	CacheHits   int64            // second-level reads that found a value
	CacheMisses int64            // second-level reads that found none
}

// Stats returns the Client's counters.
func (c *Client) Stats() Stats {
	s := Stats{Calls: map[string]int64{}, Errors: map[string]int64{}, CacheHits: c.hits.Load(), CacheMisses: c.misses.Load()}
	for i, op := range ops {
		s.Calls[op] = c.calls[i].Load()
		s.Errors[op] = c.errors[i].Load()
	}
	return s
}

func (c *Client) markUp() {
	if c.isUp.Load() {
		return
	}
	c.mu.Lock()
	changed := !c.up
	if changed {
		c.up, c.since = true, time.Now()
		c.isUp.Store(true)
	}
	c.retryAt = time.Time{}
	c.mu.Unlock()
	if changed {
		c.log.Info("redis answers again; shared budget, cache and bus resume")
		if c.opts.OnChange != nil {
			c.opts.OnChange(true, nil)
		}
	}
}

func (c *Client) markDown(err error) {
	c.mu.Lock()
	changed := c.up
	if changed {
		c.up, c.since = false, time.Now()
		c.isUp.Store(false)
	}
	c.lastErr = err.Error()
	c.failures++
	c.retryAt = time.Now().Add(c.opts.PingInterval)
	c.mu.Unlock()
	if changed {
		c.log.Warn("redis unavailable; each replica falls back to its own share", "err", err)
		if c.opts.OnChange != nil {
			c.opts.OnChange(false, err)
		}
	}
}

// begin counts a call of op and refuses it at once while Redis is down
// and its retry time has not come.
func (c *Client) begin(op string) error {
	c.calls[opIndex(op)].Add(1)
	if c.isUp.Load() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.up && time.Now().Before(c.retryAt) {
		c.errors[opIndex(op)].Add(1)
		return ErrUnavailable
	}
	return nil
}

// end records a call's outcome. A call cut short by its caller's context
// says nothing about Redis.
func (c *Client) end(parent context.Context, op string, err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		c.markUp() // Redis answered
		return err
	}
	if parent.Err() != nil {
		return err
	}
	c.errors[opIndex(op)].Add(1)
	c.markDown(err)
	return fmt.Errorf("redis %s: %w", op, err)
}

// do runs call as one call of op: counted, refused at once while Redis is
// down (begin), bounded by the client's timeout, its outcome recorded
// (end).
func (c *Client) do(ctx context.Context, op string, call func(context.Context) error) error {
	return c.doWithin(ctx, op, c.timeout, call)
}

// doWithin is do bounded by d: DefaultBulkTimeout for a call that carries
// more than a key.
func (c *Client) doWithin(ctx context.Context, op string, d time.Duration, call func(context.Context) error) error {
	if err := c.begin(op); err != nil {
		return err
	}
	cctx, cancel := callCtx(ctx, d)
	defer cancel()
	return c.end(ctx, op, call(cctx))
}

// callCtx bounds a call by d as well as by ctx.
func callCtx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// keyID names an API key in Redis without revealing it.
func keyID(apiKey string) string {
	sum := sha256.Sum256([]byte(apiKey))
	return hex.EncodeToString(sum[:8])
}
