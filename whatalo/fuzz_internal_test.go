package whatalo

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzDecodeResponse feeds arbitrary bodies, content types and statuses to
// the client's response decoding: it must never panic, and every failure
// must be a clear error (ErrBadResponse for success bodies, *Error for
// error statuses).
func FuzzDecodeResponse(f *testing.F) {
	seeds := []struct {
		status int
		ct     string
		body   string
	}{
		{200, "application/json", `{"data":[{"id":"1","name":"María","total_spent":1500.5}],"pagination":{"page":1,"per_page":25,"total":1,"total_pages":1}}`},
		{200, "application/json; charset=utf-8", `{"data":{"id":"1","order_number":1001,"items":[{"quantity":2,"unit_price":"10.5"}]}}`},
		{200, "application/json", `{"data":[{"id":"1"`},
		{200, "text/html", `<html>maintenance</html>`},
		{200, "", `{"data":null}`},
		{200, "application/json", `{"data":[{"total_spent":"abc"}]}`},
		{429, "application/json", `{"error":{"code":"RATE_LIMITED","message":"Rate limit exceeded. Try again in 45 seconds."}}`},
		{422, "application/json", `{"error":{"code":"VALIDATION_ERROR","message":"bad","details":[{"field":"name","message":"required"}]}}`},
		{403, "application/json", `{"error":{"code":"FORBIDDEN","details":{"required_scope":"read:orders"}}}`},
		{502, "text/plain", `Bad Gateway`},
	}
	for _, s := range seeds {
		f.Add(s.status, s.ct, []byte(s.body))
	}
	c, err := NewClient("wk_test_fuzz", WithMaxBodySize(4096))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		if status < 100 || status > 599 {
			status = 200
		}
		hr := &http.Response{
			StatusCode:    status,
			Header:        http.Header{"Content-Type": {ct}},
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)),
		}
		if status >= 300 {
			e := c.errorFrom("GET /customers", hr)
			if e.StatusCode != status || e.Error() == "" || strings.Contains(e.Error(), "wk_test_fuzz") {
				t.Fatalf("error %+v", e)
			}
			return
		}
		data, err := c.readBody(hr)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("readBody error %v is not ErrBadResponse", err)
			}
			return
		}
		var out []Customer
		var pg Pagination
		if err := decodeEnvelope(ct, data, &out, &pg); err != nil && !errors.Is(err, ErrBadResponse) {
			t.Fatalf("decode error %v is not ErrBadResponse", err)
		}
		var one Order
		if err := decodeEnvelope(ct, data, &one, &pg); err != nil && !errors.Is(err, ErrBadResponse) {
			t.Fatalf("decode error %v is not ErrBadResponse", err)
		}
	})
}
