package wazion

import (
	"context"
	"log/slog"
	"time"
)

// AccessMessage is the message of every access log line.
const AccessMessage = "wazion request"

// AccessLine is one request's access log line: what the Server writes for
// every request, once it is answered. Phone is masked and the texts are
// clipped; an empty Phone, Error, Detail or Answer leaves its key out.
type AccessLine struct {
	Time      time.Time
	Level     slog.Level
	RequestID string
	Method    string
	Endpoint  string
	Store     string
	Outcome   string
	LatencyMS float64
	Phone     string
	Error     string
	Detail    string
	Answer    string // "recent" for a recent answer sent again
	Notes     []slog.Attr
}

// Attrs appends the line's attributes to dst, in the order of the line.
func (l *AccessLine) Attrs(dst []slog.Attr) []slog.Attr {
	dst = append(dst,
		slog.String("request_id", l.RequestID),
		slog.String("method", l.Method),
		slog.String("endpoint", l.Endpoint),
		slog.String("store", l.Store),
		slog.String("outcome", l.Outcome),
		slog.Float64("latency_ms", l.LatencyMS),
	)
	for _, a := range [...]struct{ key, value string }{{"phone", l.Phone}, {"error", l.Error}, {"detail", l.Detail}, {"answer", l.Answer}} {
		if a.value != "" {
			dst = append(dst, slog.String(a.key, a.value))
		}
	}
	if len(l.Notes) > 0 {
		dst = append(dst, slog.Attr{Key: "notes", Value: slog.GroupValue(l.Notes...)})
	}
	return dst
}

// Record returns the line as a slog.Record.
func (l *AccessLine) Record() slog.Record {
	var buf [11]slog.Attr
	r := slog.NewRecord(l.Time, l.Level, AccessMessage, 0)
	r.AddAttrs(l.Attrs(buf[:0])...)
	return r
}

// AccessHandler is a slog.Handler that writes access lines without a
// slog.Record: HandleAccess(ctx, l) writes exactly what Handle(ctx,
// l.Record()) would. A Server whose Logger's handler is one uses it for
// every request's line. The line comes by value, so that writing it
// allocates nothing, and its RequestID may be held in memory the next
// request reuses: it is valid only until HandleAccess returns.
type AccessHandler interface {
	slog.Handler
	HandleAccess(ctx context.Context, l AccessLine) error
}
