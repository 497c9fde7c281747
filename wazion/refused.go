package wazion

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// Bounds on reading the rest of a body refused as too large, so that the
// JSON answer reaches the caller: closing a connection with unread bytes
// makes the kernel reset it, and the reset discards the answer. A body
// longer than maxDiscard is not read at all: the reset is then the cheaper
// way out.
const (
	maxDiscard = 16 << 20
	// discardWait bounds the whole read, discardGap each pause of the
	// sender: a body whose length is not known (chunked) ends when its
	// sender stops.
	discardWait = 3 * time.Second
	discardGap  = 200 * time.Millisecond
)

// errMalformed stands for every other reading error: fasthttp's own text
// may quote the request, token included.
var errMalformed = errors.New("malformed request")

// GuardServer sets up fs, the fasthttp server under a fiber.App, for the
// requests it refuses while reading them, before any route runs: headers
// over the read buffer, broken framing, a body over the limit. Routes calls
// it when given the fiber.App itself. After it:
//
//   - No error text quotes the request (fasthttp would put the first bytes
//     of the request, token included, in the error Fiber answers and logs).
//   - A request fasthttp could not read far enough to know its path (the
//     header failed to parse, or a body failed to read, after which
//     fasthttp forgets the request) is answered 200 with WAzion's JSON
//     error shape, whatever its path: it may have been a WAzion request.
//   - A body over the limit is read and discarded (up to maxDiscard) before
//     the answer, so that the caller gets the answer, not a reset.
//
// Requests whose headers were read go on to fiber's error handler, which
// FiberConfig wraps for the WAzion routes.
func (s *Server) GuardServer(fs *fasthttp.Server) {
	fs.SecureErrorLogMessage = true
	next := fs.ErrorHandler
	fs.ErrorHandler = func(ctx *fasthttp.RequestCtx, err error) {
		if errors.Is(err, fasthttp.ErrBodyTooLarge) {
			discardBody(ctx.Conn(), ctx.Request.Header.ContentLength())
		}
		// fasthttp resets the whole request when reading its header or
		// body fails; a request with headers was read up to its body.
		if next == nil || len(ctx.Request.Header.RawHeaders()) == 0 {
			s.answerRefused(ctx, err)
			return
		}
		next(ctx, withoutRequestBytes(err))
	}
}

// withoutRequestBytes keeps the errors Fiber tells apart by type and whose
// text holds no request bytes, and replaces every other with errMalformed.
func withoutRequestBytes(err error) error {
	var ne net.Error
	switch {
	case errors.As(err, new(*fasthttp.ErrSmallBuffer)), // its text is safe with SecureErrorLogMessage
		errors.Is(err, fasthttp.ErrBodyTooLarge),
		errors.Is(err, fasthttp.ErrGetOnly),
		errors.As(err, &ne):
		return err
	}
	return errMalformed
}

// refusedMessage is the "error" WAzion reads for a refused request.
func refusedMessage(err error) (msg, outcome string) {
	var ne net.Error
	switch {
	case errors.As(err, new(*fasthttp.ErrSmallBuffer)):
		return "request headers too large", OutcomeBadRequest
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return ErrBodyTooLarge.Error(), OutcomeBadRequest
	case errors.As(err, &ne) && ne.Timeout():
		return "request timeout", OutcomeTimeout
	}
	return "bad request", OutcomeBadRequest
}

// answerRefused answers a request of unknown path with WAzion's error
// shape, and logs it without any of its bytes.
func (s *Server) answerRefused(ctx *fasthttp.RequestCtx, err error) {
	msg, outcome := refusedMessage(err)
	body, _ := json.Marshal(msg) // a fixed text: cannot fail
	ctx.Response.Reset()
	ctx.SetStatusCode(fiber.StatusOK)
	ctx.SetContentType(ContentTypeJSON)
	ctx.SetBodyString(`{"found":false,"error":` + string(body) + `}`)
	s.logger.LogAttrs(ctx, slog.LevelWarn, "request refused before routing",
		slog.String("outcome", outcome),
		slog.String("error", msg),
		slog.String("remote", ctx.RemoteIP().String()))
}

// discardBody reads what is left of a refused body from conn, within the
// bounds above; contentLength is the declared length, 0 or less when
// unknown.
func discardBody(conn net.Conn, contentLength int) {
	left := int64(maxDiscard)
	if contentLength > maxDiscard {
		return
	}
	if contentLength > 0 {
		left = int64(contentLength)
	}
	end := time.Now().Add(discardWait)
	buf := make([]byte, 32<<10)
	for left > 0 {
		dl := time.Now().Add(discardGap)
		if dl.After(end) {
			dl = end
		}
		_ = conn.SetReadDeadline(dl)
		n, err := conn.Read(buf[:min(int64(len(buf)), left)])
		left -= int64(n)
		if err != nil {
			return
		}
	}
}
