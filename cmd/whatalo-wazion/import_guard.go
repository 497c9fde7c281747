package main

import (
	"context"
	"net/http"
	"sync"
)

// sendGuard lets Ctrl-C stop a call that is still waiting for its turn, but
// never one already sent: cutting a POST short would leave unknown whether
// Whatalo created the customer. Once a request is on the wire the call runs
// to its answer (bounded by the transport's timeouts), so an interrupted
// import stops "after the current row".
type sendGuard struct {
	mu      sync.Mutex
	sent    bool
	stopped bool
	cancel  context.CancelFunc
}

type sendGuardKey struct{}

// guardedContext returns a context for one call that is cancelled when
// parent ends only while nothing has been sent yet. release must be called
// when the call returns.
func guardedContext(parent context.Context) (ctx context.Context, g *sendGuard, release func()) {
	inner, cancel := context.WithCancel(context.WithoutCancel(parent))
	g = &sendGuard{cancel: cancel}
	stop := context.AfterFunc(parent, g.interrupt)
	return context.WithValue(inner, sendGuardKey{}, g), g, func() {
		stop()
		cancel()
	}
}

func (g *sendGuard) interrupt() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.sent {
		g.stopped = true
		g.cancel()
	}
}

// markSent is called as a request leaves; false means the caller was
// interrupted first and the request must not go.
func (g *sendGuard) markSent() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	g.sent = true
	return true
}

// wasSent reports whether any attempt of the call reached the network.
func (g *sendGuard) wasSent() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sent
}

// guardTransport sits under the client's own transport, so it runs after
// the rate limiter granted the attempt and just before the request leaves.
type guardTransport struct {
	base http.RoundTripper
}

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if g, ok := req.Context().Value(sendGuardKey{}).(*sendGuard); ok && !g.markSent() {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, context.Canceled
	}
	return t.base.RoundTrip(req)
}
