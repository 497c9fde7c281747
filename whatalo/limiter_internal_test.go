package whatalo

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBucketSizeFitsTheMinute(t *testing.T) {
	for _, perMinute := range []int{2, 3, 9, 10, 11, 59, 90, 100, 899, 900, 1000} {
		burst, perSecond := bucketSize(perMinute)
		if burst < 1 {
			t.Errorf("perMinute %d: burst %d, want >= 1", perMinute, burst)
		}
		if total := float64(burst) + 60*float64(perSecond); total > float64(perMinute)+1e-9 {
			t.Errorf("perMinute %d: burst %d + 60 * %.4f/s = %.3f, over the budget", perMinute, burst, perSecond, total)
		}
	}
}

// TestLimiterWindowsUnderGreedyLoad drives the buckets on a virtual clock,
// taking every token the moment it exists for five minutes, and checks every
// 60-second window: none may exceed perMinute, and the busiest should come
// close, or the limiter is wasting the key's budget.
func TestLimiterWindowsUnderGreedyLoad(t *testing.T) {
	for _, tc := range []struct {
		perMinute int
		share     float64
		priority  Priority
		want      int // the most a window may hold
	}{
		{perMinute: 90, share: 1, priority: Interactive, want: 90},
		{perMinute: 900, share: 0.5, priority: Interactive, want: 900},
		{perMinute: 90, share: 0.3, priority: Background, want: 27},
		{perMinute: 900, share: 0.25, priority: Background, want: 225},
	} {
		t.Run(strconv.Itoa(tc.perMinute)+"/"+tc.priority.String(), func(t *testing.T) {
			l := NewLimiter(tc.perMinute, tc.share)
			start := time.Unix(1_700_000_000, 0)
			var events []time.Time
			for at := start; at.Before(start.Add(5 * time.Minute)); at = at.Add(5 * time.Millisecond) {
				for {
					if tc.priority == Background {
						if !l.bg.AllowN(at, 1) {
							break
						}
					}
					if !l.main.AllowN(at, 1) {
						break
					}
					events = append(events, at)
				}
			}
			busiest := 0
			for i, j := 0, 0; i < len(events); i++ {
				for j < len(events) && events[j].Sub(events[i]) < time.Minute {
					j++
				}
				busiest = max(busiest, j-i)
			}
			if busiest > tc.want {
				t.Fatalf("a 60 s window held %d requests, budget %d", busiest, tc.want)
			}
			if busiest < tc.want*9/10 {
				t.Fatalf("busiest 60 s window held only %d of %d: budget wasted", busiest, tc.want)
			}
		})
	}
}

func TestBackoffIsBoundedAndGrows(t *testing.T) {
	first, limit := 100*time.Millisecond, time.Second
	wantCaps := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for attempt, want := range wantCaps {
		if got := backoffCap(first, limit, attempt, nil); got != want {
			t.Errorf("backoffCap(attempt %d) = %s, want %s", attempt, got, want)
		}
		for range 50 {
			d := backoff(first, limit, attempt, nil)
			if d < want/2 || d > want {
				t.Fatalf("backoff(attempt %d) = %s, want within [%s, %s]", attempt, d, want/2, want)
			}
		}
	}
	resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"30"}}}
	if got := backoffCap(first, limit, 0, resp); got != limit {
		t.Errorf("Retry-After 30 s on a 503: cap %s, want the %s ceiling", got, limit)
	}
	resp.Header.Set("Retry-After", "0")
	if got := backoffCap(first, limit, 1, resp); got != 200*time.Millisecond {
		t.Errorf("Retry-After 0: cap %s, want the exponential 200ms", got)
	}
}

func TestParseRate(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "100")
	h.Set("X-RateLimit-Remaining", "7")
	h.Set("X-RateLimit-Reset", "1700000042")
	r, ok := parseRate(h, now)
	if !ok || r.Limit != 100 || r.Remaining != 7 || !r.Reset.Equal(now.Add(42*time.Second)) {
		t.Fatalf("parseRate = %+v, %v", r, ok)
	}
	h.Set("X-RateLimit-Reset", "30") // seconds from now
	if r, _ := parseRate(h, now); !r.Reset.Equal(now.Add(30 * time.Second)) {
		t.Fatalf("relative reset: got %s", r.Reset)
	}
	if _, ok := parseRate(http.Header{}, now); ok {
		t.Fatal("parseRate without headers reported ok")
	}
	h = http.Header{"Retry-After": {now.Add(3 * time.Second).UTC().Format(http.TimeFormat)}}
	if d := parseRetryAfter(h, now); d != 3*time.Second {
		t.Fatalf("Retry-After as a date: %s, want 3s", d)
	}
}

func TestDecodeEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body, want string
	}{
		{"cut short", "application/json", `{"data":[{"id":"1"},{"id":`, "invalid JSON: ends early after 26 bytes (truncated)"},
		{"html inside", "application/json", `{"data":<html>`, "invalid JSON at byte 9: invalid character '<' looking for beginning of value"},
		{"empty", "application/json", "", "empty body"},
		{"no envelope", "application/json", `[{"id":"1"}]`, "invalid JSON"},
		{"no data", "application/json; charset=utf-8", `{"error":null}`, "response has no data field"},
		{"wrong type", "", `{"data":{"id":"1"}}`, "unexpected data: json: cannot unmarshal object into Go value of type []whatalo.Customer"},
		{"html", "text/html", `<html></html>`, "response is not JSON (content-type text/html)"},
	} {
		var out []Customer
		var pg Pagination
		err := decodeEnvelope(tc.ct, []byte(tc.body), &out, &pg)
		if err == nil || !errors.Is(err, ErrBadResponse) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want ErrBadResponse starting %q", tc.name, err, tc.want)
		}
	}
	var out []Customer
	var pg Pagination
	body := `{"data":[{"id":"1"}],"pagination":{"page":2,"per_page":1,"total":3,"total_pages":3}}`
	if err := decodeEnvelope("application/json", []byte(body), &out, &pg); err != nil || len(out) != 1 || pg.TotalPages != 3 {
		t.Fatalf("good body: %v, %v, %+v", err, out, pg)
	}
}
