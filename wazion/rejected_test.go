package wazion_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// rawAnswer sends req as bytes over a new connection to addr (then body,
// from another goroutine, since the server may answer before reading it)
// and reads the response.
func rawAnswer(t *testing.T, addr, req string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("write request: %v", err)
	}
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		if body != nil {
			_, _ = io.Copy(conn, body)
		}
	}()
	defer func() { conn.Close(); <-wrote }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response to %.60q: %v", req, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body to %.60q: %v", req, err)
	}
	return resp, raw
}

// TestRequestsTheServerRefusesAnswerJSON sends requests fasthttp refuses
// before any route runs, each carrying a token: every answer is 200 and
// JSON, none echoes the request, and the token is in no answer or log.
func TestRequestsTheServerRefusesAnswerJSON(t *testing.T) {
	var logs logBuffer
	fake := &fakeBackend{name: "A"}
	ts, err := wazion.NewTenants([]wazion.Tenant{{Name: "A", Tokens: []string{tokenA}, Backend: fake}})
	if err != nil {
		t.Fatal(err)
	}
	srv := wazion.NewServer(ts, wazion.Options{BodyLimit: 2048, Logger: newLogger(&logs)})
	app := fiber.New(srv.FiberConfig(fiber.Config{BodyLimit: 4096, DisableStartupMessage: true}))
	srv.Routes(app)
	addr := strings.TrimPrefix(serve(t, app), "http://")

	const target = "/wazion/" + wazion.EndpointGlobalSearch
	head := "POST " + target + " HTTP/1.1\r\nHost: x\r\nX-Wazion-Token: " + tokenA + "\r\n"
	// Larger than loopback's socket buffers, so that an unread rest
	// resets the connection.
	big := strings.Repeat("a", 12<<20)
	for name, tc := range map[string]struct {
		req   string
		body  io.Reader
		error string
	}{
		"body over the limit": {
			req: head + "Content-Type: application/json\r\nContent-Length: 12582912\r\n\r\n", body: strings.NewReader(big),
			error: wazion.ErrBodyTooLarge.Error(),
		},
		"chunked body over the limit": {
			req:   head + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
			body:  io.MultiReader(strings.NewReader("C00000\r\n"), strings.NewReader(big), strings.NewReader("\r\n0\r\n\r\n")),
			error: wazion.ErrBodyTooLarge.Error(),
		},
		"headers over the buffer": {
			req: head + "X-Pad: " + strings.Repeat("p", 20000) + "\r\nContent-Length: 0\r\n\r\n", error: "request headers too large",
		},
		"query over the buffer": {
			req: "GET " + target + "?token=" + tokenA + "&query=" + strings.Repeat("q", 20000) + " HTTP/1.1\r\nHost: x\r\n\r\n", error: "request headers too large",
		},
		"malformed chunks": {
			req: head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{\"query\":\"" + tokenA + "\"}\r\n0\r\n\r\n", error: "bad request",
		},
		"negative Content-Length": {
			req: head + "Content-Length: -1\r\n\r\n{}", error: "bad request",
		},
	} {
		t.Run(name, func(t *testing.T) {
			resp, raw := rawAnswer(t, addr, tc.req, tc.body)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != wazion.ContentTypeJSON {
				t.Errorf("status %d, Content-Type %q: %.200q", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("body is not JSON: %.200q", raw)
			}
			if m["error"] != tc.error || m["found"] != false {
				t.Errorf("answer %s, want found false and error %q", raw, tc.error)
			}
			if strings.Contains(string(raw), tokenA) || strings.Contains(string(raw), "Host") {
				t.Errorf("answer echoes the request: %s", raw)
			}
		})
	}
	if strings.Contains(logs.String(), tokenA) || strings.Contains(logs.String(), "contents") {
		t.Errorf("log echoes the request: %.500s", logs.String())
	}
	if fake.calls() != 0 {
		t.Errorf("backend called %d times", fake.calls())
	}
}

// TestBodyOverTheLimitIsAnswered sends a body far over Fiber's limit, as an
// HTTP client does (no Expect: 100-continue): the client gets the JSON
// answer, not a reset connection.
func TestBodyOverTheLimitIsAnswered(t *testing.T) {
	fake := &fakeBackend{name: "A"}
	ts, err := wazion.NewTenants([]wazion.Tenant{{Name: "A", Tokens: []string{tokenA}, Backend: fake}})
	if err != nil {
		t.Fatal(err)
	}
	srv := wazion.NewServer(ts, wazion.Options{BodyLimit: 2048})
	app := fiber.New(srv.FiberConfig(fiber.Config{BodyLimit: 4096, DisableStartupMessage: true}))
	srv.Routes(app)
	base := serve(t, app)
	for range 3 {
		body := `{"phone":"` + strings.Repeat("1", 6<<20) + `"}`
		a := doHTTP(t, clientReq(t, base+path(wazion.EndpointCustomerInfo)+"?token="+tokenA, "application/json", body))
		if a.str("error") != wazion.ErrBodyTooLarge.Error() || a.json["labels"] == nil {
			t.Fatalf("answer %s", a.raw)
		}
	}
}
