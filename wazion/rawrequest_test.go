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

// TestMalformedRequestsAnswerJSONWithoutEchoing: requests fasthttp itself
// refuses before any route (bad framing, a negative Content-Length, headers
// over the limit) still get valid JSON with an error on WAzion's routes,
// HTTP 200, and never the request's bytes, whose headers hold the token.
func TestMalformedRequestsAnswerJSONWithoutEchoing(t *testing.T) {
	const token = "raw-request-token-9876"
	ts, err := wazion.NewTenants([]wazion.Tenant{{Name: "A", Tokens: []string{token}, Backend: &fakeBackend{name: "A"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := wazion.NewServer(ts, wazion.Options{})
	app := fiber.New(srv.FiberConfig(fiber.Config{DisableStartupMessage: true, ReadBufferSize: 4096}))
	srv.Routes(app)
	addr := strings.TrimPrefix(serve(t, app), "http://")
	head := "POST /wazion/globalSearch HTTP/1.1\r\nHost: x\r\nX-Wazion-Token: " + token + "\r\n"
	for name, raw := range map[string]string{
		"negative content length": head + "Content-Length: -1\r\n\r\n",
		"malformed chunked body":  head + "Transfer-Encoding: chunked\r\n\r\nzz\r\nquery=ab\r\n0\r\n\r\n",
		"headers over the limit":  head + "X-Pad: " + strings.Repeat("a", 8192) + "\r\nContent-Length: 0\r\n\r\n",
		"garbled request line":    "POST /wazion/globalSearch HTTP/1.1 junk\r\nX-Wazion-Token: " + token + "\r\nContent-Length: x\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, raw); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no HTTP answer: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var out struct {
				Found *bool  `json:"found"`
				Error string `json:"error"`
			}
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
				json.Unmarshal(body, &out) != nil || out.Error == "" || out.Found == nil || *out.Found {
				t.Errorf("answer %d %s %q, want 200 JSON with found:false and an error", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if strings.Contains(string(body), token) || strings.Contains(string(body), "X-Wazion-Token") {
				t.Errorf("the answer echoes the request: %q", body)
			}
		})
	}
}
