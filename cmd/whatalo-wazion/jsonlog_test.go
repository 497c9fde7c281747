package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// handlerPair returns slog's JSONHandler writing to std and jsonLog
// writing to fast, at debug level, both with the attributes of with.
func handlerPair(std, fast *bytes.Buffer, with []slog.Attr) (slog.Handler, slog.Handler) {
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	hs := slog.Handler(slog.NewJSONHandler(std, opts))
	hf := newJSONLog(fast, opts)
	if len(with) > 0 {
		hs, hf = hs.WithAttrs(with), hf.WithAttrs(with)
	}
	return hs, hf
}

// bothLines logs one record through slog's JSONHandler and through
// jsonLog, with the same attributes added by With, and returns the lines.
func bothLines(t testing.TB, with []slog.Attr, level slog.Level, msg string, attrs ...slog.Attr) (want, got string) {
	t.Helper()
	var std, fast bytes.Buffer
	hs, hf := handlerPair(&std, &fast, with)
	r := slog.NewRecord(time.Date(2026, 12, 1, 23, 4, 5, 123456789, time.FixedZone("x", -3*3600)), level, msg, 0)
	r.AddAttrs(attrs...)
	if err := hs.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if err := hf.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return std.String(), fast.String()
}

type marshals struct{ A int }

func (m marshals) MarshalJSON() ([]byte, error) { return []byte(`{"custom":true}`), nil }

type marshalErr struct{}

func (marshalErr) Error() string                { return "as error" }
func (marshalErr) MarshalJSON() ([]byte, error) { return []byte(`"as json"`), nil }

type lazy struct{}

func (lazy) LogValue() slog.Value { return slog.StringValue("resolved") }

func TestJSONLogWritesWhatSlogWrites(t *testing.T) {
	cases := []struct {
		name  string
		with  []slog.Attr
		level slog.Level
		msg   string
		attrs []slog.Attr
	}{
		{name: "access line", msg: "wazion request", attrs: []slog.Attr{
			slog.String("request_id", "0123456789abcdef"), slog.String("method", "GET"),
			slog.String("endpoint", "sidePanel_CustomerInfo"), slog.String("store", "demo"),
			slog.String("outcome", "ok"), slog.Float64("latency_ms", 0.123),
			slog.String("phone", "+1809*****34 (11 digits)"),
			slog.Group("notes", slog.String("cache", "hit"), slog.Int("upstream", 0)),
		}},
		{name: "with attrs", with: []slog.Attr{slog.String("store", "a"), slog.Group("g", slog.Int("n", 1))}, level: slog.LevelWarn, msg: "m", attrs: []slog.Attr{slog.Bool("b", true)}},
		{name: "levels", level: slog.LevelError + 2, msg: "x"},
		{name: "escapes", msg: "q\"\\\n\r\t\x00\x1f<>&\u2028\u2029é\xff", attrs: []slog.Attr{slog.String("k\n\"", "v\x7f\xc3")}},
		{name: "numbers", attrs: []slog.Attr{
			slog.Int64("i", math.MinInt64), slog.Uint64("u", math.MaxUint64),
			slog.Float64("f1", 1e-7), slog.Float64("f2", 1e21), slog.Float64("f3", 123456789.125),
			slog.Float64("f4", -0.000001), slog.Float64("f5", 0), slog.Float64("f6", 1e20),
			slog.Float64("nan", math.NaN()), slog.Float64("inf", math.Inf(-1)),
			slog.Duration("d", 1500*time.Millisecond),
		}},
		{name: "times", attrs: []slog.Attr{slog.Time("t", time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))}},
		{name: "any", attrs: []slog.Attr{
			slog.Any("err", errors.New("boom")), slog.Any("marshaler", marshals{}), slog.Any("both", marshalErr{}),
			slog.Any("map", map[string]int{"a": 1}), slog.Any("nil", nil), slog.Any("lazy", lazy{}),
			slog.Any("bad", func() {}), slog.Any("html", "<a&b>"),
		}},
		{name: "groups", attrs: []slog.Attr{
			slog.Group("empty"), slog.Group("", slog.String("inline", "yes")),
			slog.Group("outer", slog.Group("inner", slog.Int("x", 1)), slog.Attr{}),
			{}, slog.Group("onlyempty", slog.Attr{}),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, got := bothLines(t, c.with, c.level, c.msg, c.attrs...)
			if got != want {
				t.Errorf("line differs from slog.JSONHandler's\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestJSONLogLevelAndGroups(t *testing.T) {
	var buf bytes.Buffer
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelWarn)
	l := slog.New(newJSONLog(&buf, &slog.HandlerOptions{Level: lv}))
	l.Info("hidden")
	if buf.Len() != 0 {
		t.Fatalf("info logged at warn level: %s", buf.String())
	}
	lv.Set(slog.LevelInfo)
	l.With("store", "a").WithGroup("g").Info("shown", "k", 1)
	if got, want := buf.String(), `"level":"INFO","msg":"shown","store":"a","g":{"k":1}}`+"\n"; !bytes.HasSuffix([]byte(got), []byte(want)) {
		t.Errorf("grouped line %q, want it to end %q", got, want)
	}
}

func TestJSONLogYearOutOfRange(t *testing.T) {
	var buf bytes.Buffer
	slog.New(newJSONLog(&buf, nil)).Info("m", "far", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("line is not JSON: %v: %s", err, buf.String())
	}
	if got := line["far"]; got != "!ERROR:time.Time year outside of range [0,9999]" {
		t.Errorf("far = %q, want the error slog gives", got)
	}
}

// accessLines writes l through slog.JSONHandler (its Record) and through
// jsonLog.HandleAccess, both with the attributes of with, and returns the
// lines.
func accessLines(t testing.TB, with []slog.Attr, l wazion.AccessLine) (want, got string) {
	t.Helper()
	var std, fast bytes.Buffer
	hs, hf := handlerPair(&std, &fast, with)
	if err := hs.Handle(context.Background(), l.Record()); err != nil {
		t.Fatal(err)
	}
	ah, ok := hf.(wazion.AccessHandler)
	if !ok {
		t.Fatalf("%T is not a wazion.AccessHandler", hf)
	}
	if err := ah.HandleAccess(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	return std.String(), fast.String()
}

func TestJSONLogAccessLineIsSlogsLine(t *testing.T) {
	at := time.Date(2026, 12, 2, 3, 4, 5, 678901234, time.UTC)
	full := wazion.AccessLine{Time: at, Level: slog.LevelWarn, RequestID: "0123456789abcdef", Method: "POST",
		Endpoint: "sidePanel_CustomerInfo", Store: "tienda \"uno\"", Outcome: "error", LatencyMS: 12.345,
		Phone: "+1809*****34", Error: "upstream error\n", Detail: "whatalo: GET /v1/customers: 503 \u2028",
		Answer: "recent", Notes: []slog.Attr{slog.String("cache", "hit"), slog.String("upstream_calls", "2")}}
	cases := []struct {
		name string
		with []slog.Attr
		line wazion.AccessLine
	}{
		{name: "every field", line: full},
		{name: "with attributes", with: []slog.Attr{slog.String("service", "whatalo-wazion")}, line: full},
		{name: "only the fixed fields", line: wazion.AccessLine{Time: at, RequestID: "x", Method: "GET", Endpoint: "globalSearch", Outcome: "found", LatencyMS: 0.004}},
		{name: "no time, tiny and huge latency", line: wazion.AccessLine{Level: slog.LevelError, LatencyMS: 1e-7}},
		{name: "huge latency", line: wazion.AccessLine{Time: at, LatencyMS: 3e21}},
		{name: "empty notes group", line: wazion.AccessLine{Time: at, Notes: []slog.Attr{{}}}},
		{name: "invalid UTF-8", line: wazion.AccessLine{Time: at, Store: "\xff\xfe", Error: "\x00"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, got := accessLines(t, tc.with, tc.line)
			if got != want {
				t.Errorf("access line differs from slog.JSONHandler's\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func FuzzJSONLogMatchesSlog(f *testing.F) {
	f.Add("msg", "key", "value", 1.5)
	f.Add("\u2028", "\x00", "\xff\xfe", 1e-9)
	f.Fuzz(func(t *testing.T, msg, key, val string, fl float64) {
		want, got := bothLines(t, nil, slog.LevelInfo, msg, slog.String(key, val), slog.Float64("f", fl), slog.Group(key, slog.String(val, msg)))
		if got != want {
			t.Errorf("line differs from slog.JSONHandler's\n got: %s\nwant: %s", got, want)
		}
		want, got = accessLines(t, nil, wazion.AccessLine{RequestID: msg, Store: key, Error: val, LatencyMS: fl,
			Notes: []slog.Attr{slog.String(key, val)}})
		if got != want {
			t.Errorf("access line differs from slog.JSONHandler's\n got: %s\nwant: %s", got, want)
		}
	})
}

// FuzzJSONLogTimesAndLatencies checks the kept second and the latency's
// digits against the standard encodings: times of any second, fraction and
// zone, written twice so the second write reads the kept text, and
// latencies made as the access line makes them.
func FuzzJSONLogTimesAndLatencies(f *testing.F) {
	f.Add(int64(1796180645), int64(678901234), 0, int64(1234))
	f.Add(int64(1796180645), int64(0), -3*3600, int64(1000))
	f.Add(int64(-62135596800), int64(100), 19800, int64(0))
	f.Add(int64(253402300799), int64(999999999), 60, int64(1<<53))
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int, us int64) {
		zone := time.FixedZone("z", offset%(18*3600))
		at := time.Unix(sec, nsec%1e9).In(zone)
		want := string(appendMarshal(nil, at))
		if y := at.Year(); y < 0 || y >= 10000 {
			want = `"!ERROR:time.Time year outside of range [0,9999]"`
		}
		for range 2 {
			if got := string(appendTime(nil, at)); got != want {
				t.Fatalf("appendTime(%v) = %s, want %s", at, got, want)
			}
		}
		ms := float64(us) / 1000
		if got, want := string(appendMilliseconds(nil, ms)), string(appendMarshal(nil, ms)); got != want {
			t.Fatalf("appendMilliseconds(%v) = %s, want %s", ms, got, want)
		}
	})
}

func BenchmarkAccessLine(b *testing.B) {
	attrs := []slog.Attr{
		slog.String("request_id", "0123456789abcdef0123456789abcdef"), slog.String("method", "GET"),
		slog.String("endpoint", "sidePanel_CustomerInfo"), slog.String("store", "demo"),
		slog.String("outcome", "ok"), slog.Float64("latency_ms", 0.123),
		slog.String("phone", "+1809*****34 (11 digits)"),
	}
	for _, h := range []struct {
		name string
		new  func() slog.Handler
	}{
		{"slog", func() slog.Handler { return slog.NewJSONHandler(discard{}, nil) }},
		{"jsonLog", func() slog.Handler { return newJSONLog(discard{}, nil) }},
	} {
		b.Run(h.name, func(b *testing.B) {
			l := slog.New(h.new())
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				l.LogAttrs(ctx, slog.LevelInfo, "wazion request", attrs...)
			}
		})
	}
	b.Run("jsonLog.HandleAccess", func(b *testing.B) {
		h := newJSONLog(discard{}, nil).(wazion.AccessHandler)
		line := wazion.AccessLine{Time: time.Now(), RequestID: "0123456789abcdef0123456789abcdef", Method: "GET",
			Endpoint: "sidePanel_CustomerInfo", Store: "demo", Outcome: "ok", LatencyMS: 0.123, Phone: "+1809*****34 (11 digits)"}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_ = h.HandleAccess(ctx, line)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
