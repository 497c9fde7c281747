package wazion

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"unicode/utf8"
)

// Bounds on what one request can add to its log line: a caller controls
// the request, and a field as long as the request would let it multiply
// its bytes into every log line (and every log shipper's bill).
const (
	maxAnnotations = 16
	// maxNoteKey and maxNoteValue bound each note; a Backend's value may
	// quote the request (an unreadable phone, a search query).
	maxNoteKey   = 64
	maxNoteValue = 256
	// MaxMaskedPhone is the longest string MaskPhone returns.
	MaxMaskedPhone = 32
	// maxLogField bounds any other request-derived text in a log line (the
	// method, an error's detail).
	maxLogField = 512
)

// clip cuts s to at most n bytes, marking the cut with "…" and keeping
// whole UTF-8 sequences, so a log field stays valid text.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := max(n-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// requestInfo travels in the Backend's context so the Backend can tell the
// access log what it did (cache hit, stale answer, upstream calls) without
// the handler knowing about caches.
type requestInfo struct {
	id string
	// caller is the token the request came with; set before the Backend
	// is called and never changed after.
	caller *tokenKey

	mu    sync.Mutex
	notes []slog.Attr
	done  bool // the log line is written; later notes are dropped
}

type requestInfoKey struct{}

func withRequestInfo(ctx context.Context, info *requestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// Annotate records key=value on the current WAzion request, to appear in its
// access log line under "notes"; a second value for a key replaces the first.
// It does nothing outside a request or once the line is written (a Backend
// still running after its deadline). Values must not be secrets or unmasked
// phones.
func Annotate(ctx context.Context, key, value string) {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	if info == nil || key == "" {
		return
	}
	key, value = clip(key, maxNoteKey), clip(value, maxNoteValue)
	info.mu.Lock()
	defer info.mu.Unlock()
	if info.done {
		return
	}
	for i := range info.notes {
		if info.notes[i].Key == key {
			info.notes[i].Value = slog.StringValue(value)
			return
		}
	}
	if len(info.notes) < maxAnnotations {
		info.notes = append(info.notes, slog.String(key, value))
	}
}

// RequestID returns the id of the current WAzion request (from X-Request-Id
// or generated), or "" outside a request, so a Backend can put it in its own
// log lines.
func RequestID(ctx context.Context) string {
	if info, _ := ctx.Value(requestInfoKey{}).(*requestInfo); info != nil {
		return info.id
	}
	return ""
}

// Caller identifies the token a WAzion request came with, so that a Backend
// can bound what each caller spends upstream: two requests with the same
// token have equal Callers, and a Caller says nothing of the token itself.
// The zero Caller is no caller.
type Caller struct{ key *tokenKey }

// CallerFrom returns the Caller of the current WAzion request, or the zero
// Caller outside a request.
func CallerFrom(ctx context.Context) Caller {
	if info, _ := ctx.Value(requestInfoKey{}).(*requestInfo); info != nil {
		return Caller{key: info.caller}
	}
	return Caller{}
}

// IsZero reports whether c is no caller.
func (c Caller) IsZero() bool { return c.key == nil }

// finish closes the notes and returns them for the log line.
func (info *requestInfo) finish() []slog.Attr {
	info.mu.Lock()
	defer info.mu.Unlock()
	info.done = true
	return info.notes
}

// MaskPhone hides the middle of a phone for logs: the first four and last two
// digits stay, so support can still tell numbers apart ("+18095550134" ->
// "+1809*****34"). Separators are dropped; numbers of six digits or fewer
// are masked whole, and a value without digits becomes "***". What comes
// from a request may be any length: the result is at most 32 characters.
func MaskPhone(phone string) string {
	phone = strings.TrimSpace(phone)
	if phone == "" {
		return ""
	}
	digits := digitsOf(phone)
	n := len(digits)
	if n > maxPhoneDigits {
		// A request may send any number of digits; a log line says how
		// many rather than repeating them, so it stays short.
		return fmt.Sprintf("%s%s********%s (%d digits)", plusOf(phone), digits[:4], digits[n-2:], n)
	}
	if n == 0 {
		return "***"
	}
	var b [1 + maxPhoneDigits]byte
	m := copy(b[:], plusOf(phone))
	switch {
	case n <= 6:
		m += copy(b[m:], stars[:n])
	default:
		m += copy(b[m:], digits[:4])
		m += copy(b[m:], stars[:n-6])
		m += copy(b[m:], digits[n-2:])
	}
	return string(b[:m])
}

// stars is the mask of up to maxPhoneDigits digits.
const stars = "***************"

// plusOf is the leading "+" of a phone, kept by its mask.
func plusOf(phone string) string {
	if phone[0] == '+' {
		return "+"
	}
	return ""
}

// maxPhoneDigits is the longest real number (E.164): past it, a masked
// phone keeps a fixed middle and says its length, at most MaxMaskedPhone
// characters.
const maxPhoneDigits = 15
