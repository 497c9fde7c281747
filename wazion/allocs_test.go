//go:build !race

// The race detector drops sync.Pool items at random, so allocation counts
// mean nothing under it; .ci/run runs these without it.

package wazion_test

import (
	"context"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// accessSink is an AccessHandler that keeps the last line's request id.
type accessSink struct {
	lines  int
	lastID []byte
}

func (h *accessSink) Enabled(context.Context, slog.Level) bool  { return true }
func (h *accessSink) Handle(context.Context, slog.Record) error { return nil }
func (h *accessSink) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h *accessSink) WithGroup(string) slog.Handler             { return h }

func (h *accessSink) HandleAccess(_ context.Context, l wazion.AccessLine) error {
	h.lines++
	h.lastID = append(h.lastID[:0], l.RequestID...)
	return nil
}

// allocsPerRequest serves uri from h and returns the allocations a
// request makes.
func allocsPerRequest(t *testing.T, h fasthttp.RequestHandler, uri string) float64 {
	t.Helper()
	var ctx fasthttp.RequestCtx
	return testing.AllocsPerRun(500, func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI(uri)
		h(&ctx)
		if ctx.Response.StatusCode() != fiber.StatusOK {
			t.Fatalf("status %d", ctx.Response.StatusCode())
		}
	})
}

// TestRecentAnswerAllocatesNoMoreThanBare: a request answered again from a
// recent answer, and one refused for its token, each with its access line
// written, allocate no more than a bare Fiber handler sending the same
// bytes; each line carries the request's id.
func TestRecentAnswerAllocatesNoMoreThanBare(t *testing.T) {
	sink := &accessSink{}
	app := staticTenant(t, wazion.Tenant{Name: "A", Tokens: []string{tokenA}, Backend: staticBackend{cachedAnswer()}, AnswerTTL: time.Hour},
		wazion.Options{Logger: slog.New(sink)})

	uri := "/wazion/sidePanel_CustomerInfo?phone=%2B34612345678&token="
	want := allocsPerRequest(t, bareFiber(), uri+tokenA)
	madeID := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, c := range []struct{ name, token string }{{"recent answer", tokenA}, {"unknown token", tokenB}} {
		before := sink.lines
		if got := allocsPerRequest(t, app, uri+c.token); got > want {
			t.Errorf("%s: %.1f allocations a request, bare Fiber %.1f", c.name, got, want)
		}
		if n := sink.lines - before; n < 500 {
			t.Errorf("%s: %d access lines for 501 requests", c.name, n)
		}
		if !madeID.Match(sink.lastID) {
			t.Errorf("%s: last line's request id %q, want 32 hex digits", c.name, sink.lastID)
		}
	}
}
