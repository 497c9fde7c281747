package whatalotest

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
)

// errRefused is what a closed fake's transport answers, as a stopped
// server's socket would.
var errRefused = errors.New("connect: connection refused")

// Transport serves the fake's API in memory, without a socket: a client
// built with it (whatalo.WithHTTPClient) works inside a testing/synctest
// bubble, whose clock does not follow the network, so that a test about
// deadlines measures them exactly. After Close it refuses every request, as
// a stopped server does.
func (f *Fake) Transport() http.RoundTripper { return fakeTransport{f} }

type fakeTransport struct{ f *Fake }

func (t fakeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.f.faultMu.Lock()
	closed := t.f.closed
	t.f.faultMu.Unlock()
	if closed {
		return nil, fmt.Errorf("dial %s: %w", req.URL.Host, errRefused)
	}
	return HandlerTransport(t.f).RoundTrip(req)
}

// HandlerTransport serves h in memory, as Transport serves the fake: for a
// test in a synctest bubble that talks HTTP to a handler of its own. A
// request whose context ends first returns the context's error, as a
// client giving up on a hung server does.
func HandlerTransport(h http.Handler) http.RoundTripper { return handlerTransport{h} }

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		rec := httptest.NewRecorder()
		t.h.ServeHTTP(rec, req)
		done <- rec
	}()
	select {
	case rec := <-done:
		return rec.Result(), nil
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
}
