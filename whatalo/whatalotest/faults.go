package whatalotest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Duration is a time.Duration written in JSON as a Go duration string
// ("200ms"); a bare JSON number is read as milliseconds.
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string, a number of milliseconds or null.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*d = 0
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		if str == "" {
			*d = 0
			return nil
		}
		v, err := time.ParseDuration(str)
		if err != nil {
			return fmt.Errorf("duration %q: %w", str, err)
		}
		*d = Duration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("duration %s: want a string such as \"200ms\" or milliseconds", s)
	}
	*d = Duration(ms * float64(time.Millisecond))
	return nil
}

// Faults is what the fake does wrong, on purpose, to /v1 requests. Faults
// are checked after authentication and rate limiting, so a faulty request
// still counts against its key; a storm 429 counts in Stats.RateLimited.
type Faults struct {
	Latency        Duration `json:"latency"`          // extra latency, e.g. "200ms"
	ErrorRate      float64  `json:"error_rate"`       // 0..1 probability of answering ErrorStatus
	ErrorStatus    int      `json:"error_status"`     // default 503
	Hang           bool     `json:"hang"`             // never answer until the client gives up (or Reset/Close)
	MalformedJSON  bool     `json:"malformed_json"`   // 200 with an invalid JSON body
	TruncatedBody  bool     `json:"truncated_body"`   // half the body, Content-Length of the whole, then the connection closes
	RateLimitStorm bool     `json:"rate_limit_storm"` // every request 429 RATE_LIMITED with Retry-After
	RetryAfter     int      `json:"retry_after"`      // seconds for storm 429s (default 1)
	Times          int      `json:"times"`            // apply to the next N matching /v1 requests only, then clear (0 = until reset)
	Routes         []string `json:"routes"`           // route patterns ("GET /v1/orders" or "/v1/orders"); empty = all
}

func (f Faults) active() bool {
	return f.Latency > 0 || f.ErrorRate > 0 || f.Hang || f.MalformedJSON || f.TruncatedBody || f.RateLimitStorm
}

func (f Faults) validate() error {
	switch {
	case f.ErrorRate < 0 || f.ErrorRate > 1:
		return fmt.Errorf("error_rate %v: want 0..1", f.ErrorRate)
	case f.ErrorStatus != 0 && (f.ErrorStatus < 400 || f.ErrorStatus > 599):
		return fmt.Errorf("error_status %d: want 400..599", f.ErrorStatus)
	case f.Latency < 0:
		return fmt.Errorf("latency %s: want >= 0", time.Duration(f.Latency))
	case f.Times < 0:
		return fmt.Errorf("times %d: want >= 0", f.Times)
	case f.RetryAfter < 0:
		return fmt.Errorf("retry_after %d: want >= 0", f.RetryAfter)
	}
	return nil
}

func (f Faults) matches(pattern string) bool {
	if len(f.Routes) == 0 {
		return true
	}
	_, path, _ := strings.Cut(pattern, " ")
	for _, r := range f.Routes {
		if r == pattern || r == path {
			return true
		}
	}
	return false
}

// faultPlan is what the faults do to one request.
type faultPlan struct {
	latency    time.Duration
	storm      bool
	retryAfter int
	hang       bool
	errStatus  int
	malformed  bool
	truncated  bool
}

// planFaults decides what the current faults do to a request on pattern,
// and counts it against Faults.Times.
func (f *Fake) planFaults(pattern string) faultPlan {
	f.faultMu.Lock()
	defer f.faultMu.Unlock()
	ft := f.faults
	if !ft.active() || !ft.matches(pattern) {
		return faultPlan{}
	}
	if ft.Times > 0 {
		f.faultsLeft--
		if f.faultsLeft <= 0 {
			f.faults = Faults{}
		}
	}
	p := faultPlan{
		latency:    time.Duration(ft.Latency),
		storm:      ft.RateLimitStorm,
		retryAfter: ft.RetryAfter,
		hang:       ft.Hang,
		malformed:  ft.MalformedJSON,
		truncated:  ft.TruncatedBody,
	}
	if p.retryAfter <= 0 {
		p.retryAfter = 1
	}
	if ft.ErrorRate > 0 && f.rng.Float64() < ft.ErrorRate {
		p.errStatus = ft.ErrorStatus
		if p.errStatus == 0 {
			p.errStatus = 503
		}
	}
	return p
}

// SetFaults replaces the current faults.
func (f *Fake) SetFaults(ft Faults) {
	f.faultMu.Lock()
	defer f.faultMu.Unlock()
	f.faults = ft
	f.faults.Routes = append([]string(nil), ft.Routes...)
	f.faultsLeft = ft.Times
}

// CurrentFaults returns the faults in force.
func (f *Fake) CurrentFaults() Faults {
	f.faultMu.Lock()
	defer f.faultMu.Unlock()
	return f.faults
}

// released returns a channel closed when hung and delayed requests must
// end: on Reset and Close.
func (f *Fake) released() <-chan struct{} {
	f.faultMu.Lock()
	defer f.faultMu.Unlock()
	return f.release
}
