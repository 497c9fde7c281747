package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// jsonLog is the service's slog.Handler: the lines slog.JSONHandler writes
// (the same keys, values and escaping, parsed alike), at a fraction of its
// cost. The access log writes one line per WAzion request, and the standard
// handler spends most of a cached answer's own time on it: a json.Marshal
// for every float, a pooled encoder per record. This one appends each value
// straight into a pooled buffer and writes the line in one call, as the
// asynchronous writer under it requires.
//
// It covers what the service logs: attributes given with the record or
// added by With. A handler with groups (WithGroup) is the standard one,
// over the same writer and level, so nothing is ever encoded differently.
type jsonLog struct {
	w     io.Writer
	opts  *slog.HandlerOptions
	attrs []slog.Attr // added by WithAttrs, for the standard handler
	pre   []byte      // the same, encoded: `,"k":v` each
	bufs  *sync.Pool  // of *[]byte, shared by the handlers WithAttrs makes
}

// newJSONLog returns a jsonLog writing to w, dropping records below
// opts.Level. opts.ReplaceAttr and opts.AddSource are not supported: a
// handler given them is the standard one.
func newJSONLog(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	if opts.ReplaceAttr != nil || opts.AddSource {
		return slog.NewJSONHandler(w, opts)
	}
	return &jsonLog{w: w, opts: opts, bufs: &sync.Pool{New: func() any {
		b := make([]byte, 0, 1024)
		return &b
	}}}
}

// Enabled reports whether records at level are written.
func (h *jsonLog) Enabled(_ context.Context, level slog.Level) bool {
	min := slog.LevelInfo
	if h.opts.Level != nil {
		min = h.opts.Level.Level()
	}
	return level >= min
}

// WithAttrs returns a handler that writes attrs on every line.
func (h *jsonLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.attrs = append(h.attrs[:len(h.attrs):len(h.attrs)], attrs...)
	h2.pre = bytes.Clone(h.pre)
	for _, a := range attrs {
		h2.pre = appendAttr(h2.pre, a)
	}
	return &h2
}

// WithGroup returns the standard handler with the same writer, level and
// attributes, and the group open.
func (h *jsonLog) WithGroup(name string) slog.Handler {
	return slog.NewJSONHandler(h.w, h.opts).WithAttrs(h.attrs).WithGroup(name)
}

// Handle writes r as one line.
func (h *jsonLog) Handle(_ context.Context, r slog.Record) error {
	bp, b := h.start(r.Time, r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, a)
		return true
	})
	return h.write(bp, append(b, '}', '\n'))
}

// HandleAccess writes the access line l: the bytes Handle writes for
// l.Record(), without building the record.
func (h *jsonLog) HandleAccess(_ context.Context, l wazion.AccessLine) error {
	bp, b := h.start(l.Time, l.Level, wazion.AccessMessage)
	b = append(b, `,"request_id":`...)
	b = appendString(b, l.RequestID)
	b = append(b, `,"method":`...)
	b = appendString(b, l.Method)
	b = append(b, `,"endpoint":`...)
	b = appendString(b, l.Endpoint)
	b = append(b, `,"store":`...)
	b = appendString(b, l.Store)
	b = append(b, `,"outcome":`...)
	b = appendString(b, l.Outcome)
	b = append(b, `,"latency_ms":`...)
	b = appendMilliseconds(b, l.LatencyMS)
	for _, f := range [...]struct{ key, value string }{
		{`,"phone":`, l.Phone}, {`,"error":`, l.Error}, {`,"detail":`, l.Detail}, {`,"answer":`, l.Answer},
	} {
		if f.value != "" {
			b = append(b, f.key...)
			b = appendString(b, f.value)
		}
	}
	if len(l.Notes) > 0 {
		b = appendAttr(b, slog.Attr{Key: "notes", Value: slog.GroupValue(l.Notes...)})
	}
	return h.write(bp, append(b, '}', '\n'))
}

// start takes a buffer from the pool and begins a line in it: the time,
// level and message, and the attributes added by WithAttrs.
func (h *jsonLog) start(t time.Time, level slog.Level, msg string) (*[]byte, []byte) {
	bp := h.bufs.Get().(*[]byte)
	b := append((*bp)[:0], '{')
	if !t.IsZero() {
		b = append(b, `"time":`...)
		b = appendTime(b, t.Round(0))
		b = append(b, ',')
	}
	b = append(b, `"level":`...)
	b = appendString(b, level.String())
	b = append(b, `,"msg":`...)
	b = appendString(b, msg)
	return bp, append(b, h.pre...)
}

// write writes the line b, built in the pooled buffer bp, and gives the
// buffer back.
func (h *jsonLog) write(bp *[]byte, b []byte) error {
	_, err := h.w.Write(b)
	if cap(b) <= 64<<10 { // a huge line's buffer is not kept
		*bp = b
		h.bufs.Put(bp)
	}
	return err
}

// appendAttr appends `,"key":value`, nothing for an empty attribute or
// group, and a group with no key inline, as slog.JSONHandler does.
func appendAttr(b []byte, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Key == "" && a.Value.Kind() == slog.KindAny && a.Value.Any() == nil {
		return b // the zero Attr, which slog leaves out
	}
	if a.Value.Kind() == slog.KindGroup {
		g := a.Value.Group()
		if len(g) == 0 {
			return b
		}
		if a.Key == "" {
			for _, ga := range g {
				b = appendAttr(b, ga)
			}
			return b
		}
		mark := len(b)
		b = append(b, ',')
		b = appendString(b, a.Key)
		b = append(b, ':', '{')
		start := len(b)
		for _, ga := range g {
			b = appendAttr(b, ga)
		}
		if len(b) == start { // only empty members: no group at all
			return b[:mark]
		}
		b = append(b[:start], b[start+1:]...) // each member began with a comma
		return append(b, '}')
	}
	b = append(b, ',')
	b = appendString(b, a.Key)
	b = append(b, ':')
	return appendValue(b, a.Value)
}

// appendValue encodes v as slog.JSONHandler does: durations in
// nanoseconds, times in RFC 3339, errors as their text, other values
// through encoding/json (and an error text in their place when that fails,
// as "!ERROR:..." in slog).
func appendValue(b []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return appendMarshal(b, f)
		}
		return appendFloat(b, f)
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		return strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindTime:
		return appendTime(b, v.Time())
	default:
		a := v.Any()
		if err, ok := a.(error); ok {
			if _, jm := a.(json.Marshaler); !jm {
				return appendString(b, err.Error())
			}
		}
		return appendMarshal(b, a)
	}
}

// appendFloat writes f as encoding/json does: plain notation, and
// exponents only for very large or small magnitudes.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		// json writes 1e-07 as 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// appendTime writes t in RFC 3339 with nanoseconds, and in place of a year
// RFC 3339 cannot write, the error slog gives (as a valid string, where
// slog writes both). The text of the second, before its fraction, and of
// the zone are kept for the last second written, which is the one of
// nearly every line.
func appendTime(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	ts := lastSecond.Load()
	if ts == nil || ts.unix != sec || ts.loc != loc {
		if y := t.Year(); y < 0 || y >= 10000 {
			return appendString(b, "!ERROR:time.Time year outside of range [0,9999]")
		}
		ts = &secondText{unix: sec, loc: loc}
		ts.date = t.AppendFormat(nil, "2006-01-02T15:04:05")
		ts.zone = t.AppendFormat(nil, "Z07:00")
		lastSecond.Store(ts)
	}
	b = append(b, '"')
	b = append(b, ts.date...)
	if ns := t.Nanosecond(); ns != 0 {
		// time.RFC3339Nano's fraction: nine digits, trailing zeros cut.
		var f [10]byte
		f[0] = '.'
		for i := 9; i > 0; i-- {
			f[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for f[n-1] == '0' {
			n--
		}
		b = append(b, f[:n]...)
	}
	b = append(b, ts.zone...)
	return append(b, '"')
}

// secondText is the RFC 3339 text of one second in one location: its date
// and time of day, and its zone.
type secondText struct {
	unix       int64
	loc        *time.Location
	date, zone []byte
}

var lastSecond atomic.Pointer[secondText]

// appendMilliseconds writes ms, a count of microseconds over 1000 as the
// access line's latency is, as encoding/json would write the float: the
// digits of the count with the decimal point three from its end and the
// trailing zeros cut. Other values take the general way.
func appendMilliseconds(b []byte, ms float64) []byte {
	us := math.Round(ms * 1000)
	if !(ms > 0 && us < 1e15 && us/1000 == ms) {
		return appendValue(b, slog.Float64Value(ms))
	}
	n := int64(us)
	b = strconv.AppendInt(b, n/1000, 10)
	if frac := n % 1000; frac != 0 {
		d := [4]byte{'.', byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
		end := 4
		for d[end-1] == '0' {
			end--
		}
		b = append(b, d[:end]...)
	}
	return b
}

// appendMarshal is the slow path for values the fast one does not know.
func appendMarshal(b []byte, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return appendString(b, "!ERROR:"+err.Error())
	}
	return append(b, bytes.TrimRight(buf.Bytes(), "\n")...)
}

// safeJSON marks the ASCII bytes written as they are inside a JSON string:
// all but control characters, the quote and the backslash. HTML characters
// are not escaped, as in slog.
var safeJSON = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string with slog's escaping: \n, \r, \t
// and \u00XX for other control characters, U+FFFD for invalid UTF-8, and
// U+2028 and U+2029 escaped for JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if safeJSON[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
