package whatalo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinels for errors.Is. An *Error matches the one for its HTTP status; a
// *LimiterError matches ErrRateLimited.
var (
	ErrUnauthorized = errors.New("whatalo: unauthorized")
	ErrForbidden    = errors.New("whatalo: forbidden")
	ErrNotFound     = errors.New("whatalo: not found")
	ErrRateLimited  = errors.New("whatalo: rate limited")
	// ErrBadResponse matches a response that arrived but cannot be used:
	// not JSON, malformed, truncated or larger than the size limit.
	ErrBadResponse = errors.New("whatalo: unusable response")
)

// Error is a non-2xx answer from Whatalo. Branch on StatusCode (or errors.Is
// with the sentinels): Whatalo's docs disagree on the Code strings.
type Error struct {
	StatusCode int
	Code       string          // e.g. NOT_FOUND, VALIDATION_ERROR; empty when the body was not JSON
	Message    string          // Whatalo's message, or a description of the unreadable body
	Details    json.RawMessage // an array of FieldError for validation errors, an object otherwise
	RetryAfter time.Duration   // from Retry-After (or X-RateLimit-Reset on a 429)
	Route      string          // the route pattern, e.g. "GET /customers/{id}"
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("whatalo: ")
	if e.Route != "" {
		b.WriteString(e.Route)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Is matches the sentinel of e's status: 401 ErrUnauthorized, 403
// ErrForbidden, 404 ErrNotFound, 429 ErrRateLimited.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// RequiredScope returns the scope a 403 says the key lacks (details
// {"required_scope": "read:orders"}), or "".
func (e *Error) RequiredScope() string {
	var d struct {
		RequiredScope string `json:"required_scope"`
		Scope         string `json:"scope"`
	}
	if json.Unmarshal(e.Details, &d) != nil {
		return ""
	}
	if d.RequiredScope != "" {
		return d.RequiredScope
	}
	return d.Scope
}

// FieldErrors returns the per-field messages of a VALIDATION_ERROR, or nil.
func (e *Error) FieldErrors() []FieldError {
	var fe []FieldError
	if json.Unmarshal(e.Details, &fe) != nil {
		return nil
	}
	return fe
}

// badResponse is a response that arrived but cannot be used.
type badResponse struct {
	msg string
	err error
}

func (e *badResponse) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *badResponse) Unwrap() error { return e.err }

func (e *badResponse) Is(target error) bool { return target == ErrBadResponse }
