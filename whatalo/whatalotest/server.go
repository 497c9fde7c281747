package whatalotest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Server is a Fake behind an httptest server on 127.0.0.1 (NewServer), or
// served in memory (NewMemoryServer), closed by t.Cleanup.
type Server struct {
	*Fake
	URL    string // root, e.g. http://127.0.0.1:43211
	APIURL string // URL + "/v1", the client's base URL
	APIKey string // first API key

	ts *httptest.Server // nil when served in memory
}

// NewServer starts a Fake serving seed (nil: DemoSeed()) for the length of
// the test.
func NewServer(t testing.TB, seed *Seed, opts ...Option) *Server {
	t.Helper()
	f := New(seed, opts...)
	ts := httptest.NewServer(f)
	t.Cleanup(func() {
		f.Close() // end hung requests first: ts.Close waits for them
		ts.Close()
	})
	return &Server{Fake: f, URL: ts.URL, APIURL: ts.URL + "/v1", APIKey: f.cfg.keys[0], ts: ts}
}

// NewMemoryServer is NewServer without a socket: the fake is reached only
// through Client, which serves it in memory (Fake.Transport). A test in a
// testing/synctest bubble uses it, since the bubble's clock does not follow
// the network; it must be called inside the bubble.
func NewMemoryServer(t testing.TB, seed *Seed, opts ...Option) *Server {
	t.Helper()
	f := New(seed, opts...)
	t.Cleanup(f.Close)
	const root = "http://whatalo.test"
	return &Server{Fake: f, URL: root, APIURL: root + "/v1", APIKey: f.cfg.keys[0]}
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		return &http.Client{Transport: s.Transport()}
	}
	return s.ts.Client()
}

// Stop shuts the server down before the test ends: later requests fail
// with connection refused, as when the API host is down.
func (s *Server) Stop() {
	s.Fake.Close()
	if s.ts != nil {
		s.ts.Close()
	}
}
