package wazion

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gofiber/fiber/v2"
)

// record is what the access log and the Observer learn about a request.
type record struct {
	endpoint string
	start    time.Time
	info     requestInfo // in the Backend's context as &info
	store    string
	outcome  string
	phone    string
	masked   string // MaskPhone(phone), when known before finish
	errMsg   string
	detail   error      // full cause, for the log only
	reused   bool       // a recent answer was sent again (Tenant.AnswerTTL)
	series   Series     // the store's and endpoint's, from a SeriesObserver
	set      *tenantSet // the stores the request was authenticated against
	// id is the request's id, valid until the handler returns: in the
	// request's headers or in idBuf. info.id holds it as a string once
	// something keeps it (see record.requestID); a request answered
	// without the Backend never needs one.
	id    []byte
	idBuf [32]byte
	// lent: info went into a Backend's context, which may outlive the
	// request; the record is then left to the collector, not reused.
	lent bool
}

// begin starts the record of a request the route's handler answers, at
// the time fasthttp called the handler (now, for a handler called on its
// own, as tests do).
func (s *Server) begin(c *fiber.Ctx, endpoint string) *record {
	start := c.Context().Time()
	if start.IsZero() {
		start = time.Now()
	}
	return s.beginAt(c, endpoint, start)
}

// beginAt starts the record of a request at start.
func (s *Server) beginAt(c *fiber.Ctx, endpoint string, start time.Time) *record {
	rec, _ := s.records.Get().(*record)
	if rec == nil {
		rec = new(record)
	}
	*rec = record{
		endpoint: endpoint,
		start:    start,
		outcome:  OutcomeError,
	}
	rec.id = s.ids.requestID(c, &rec.idBuf)
	return rec
}

// requestID returns the request's id as a string that outlives it, made
// on the first call.
func (rec *record) requestID() string {
	if rec.info.id == "" {
		rec.info.id = string(rec.id)
	}
	return rec.info.id
}

// handle is the one handler behind all five routes, r being the route of
// ep.
func handle[Resp any](s *Server, r *route, ep *endpoint[Resp]) fiber.Handler {
	return func(c *fiber.Ctx) error {
		rec := s.begin(c, ep.name)
		defer s.finish(c, rec)
		var st *store // for the panic's answer, once known
		var none Resp // the answer of a Backend that gave none
		defer func() {
			if p := recover(); p != nil {
				s.logger.Error("wazion handler panic",
					slog.String("request_id", rec.requestID()),
					slog.String("endpoint", ep.name),
					slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())))
				rec.outcome, rec.errMsg = OutcomePanic, "internal error"
				s.write(c, rec, r.failure(st, Request{Endpoint: ep.name}, rec.errMsg))
			}
		}()

		rec.set = s.set.Load()
		e, ok := admit(s, c, rec, r, ep)
		if !ok {
			return nil
		}
		st = e.st
		rec.series = s.seriesOf(st, r)
		if !e.key.allow(rec.start) {
			rec.outcome, rec.errMsg = OutcomeRateLimited, msgRateLimited
			if e.limited != nil {
				s.writeRaw(c, e.limited)
			} else {
				writeError(s, c, rec, r, ep, st, e.req)
			}
			return nil
		}
		req, akey := e.req, e.akey
		var agen uint64
		if st.answers != nil {
			if a, ok := st.answers.get(akey, rec.start); ok {
				rec.outcome = OutcomeNotFound
				if a.found {
					rec.outcome = OutcomeFound
				}
				rec.reused = true
				s.observeAnswer(rec, st, true)
				s.writeRaw(c, a.body)
				return nil
			}
			s.observeAnswer(rec, st, false)
			agen = st.answers.generation()
		}
		rec.requestID() // the Backend may read it (RequestID)
		rec.lent = true
		// The Request may be the memo's, which other requests share.
		req.RelatedPhones = slices.Clone(req.RelatedPhones)
		res := callBackend(s, c, r, ep.call, st, req, &rec.info)
		var out shaped
		switch {
		case res.panicked:
			rec.outcome, rec.errMsg = OutcomePanic, "internal error"
			out = ep.shape(st.labels, req, none, rec.errMsg)
		case res.timedOut:
			rec.outcome, rec.detail = OutcomeTimeout, res.ctxErr
			rec.errMsg = fmt.Sprintf("timeout: no answer within %s", r.deadline)
			if errors.Is(res.ctxErr, context.Canceled) {
				rec.errMsg = "request cancelled"
			}
			out = ep.shape(st.labels, req, none, rec.errMsg)
		case res.err != nil:
			rec.detail = res.err
			rec.outcome, rec.errMsg = backendErrorMessage(res.err, r.deadline)
			out = ep.shape(st.labels, req, res.resp, rec.errMsg)
		default:
			out = ep.shape(st.labels, req, res.resp, "")
			switch {
			case out.errMsg != "":
				rec.outcome, rec.errMsg = OutcomeError, out.errMsg
			case out.found:
				rec.outcome = OutcomeFound
			default:
				rec.outcome = OutcomeNotFound
			}
		}
		s.write(c, rec, out.body)
		if akey != "" && (rec.outcome == OutcomeFound || rec.outcome == OutcomeNotFound) {
			st.answers.put(akey, agen, bytes.Clone(c.Response().Body()), rec.outcome == OutcomeFound, time.Now())
		}
		return nil
	}
}

// admit reads and authenticates the request, answering it when it goes
// no further: unauthorized, unreadable, a test, or refused by the
// endpoint's precheck. A request the memo knows skips the reading; one
// that passes, or is unauthorized, is remembered when the memo may keep it.
func admit[Resp any](s *Server, c *fiber.Ctx, rec *record, r *route, ep *endpoint[Resp]) (*memoEntry, bool) {
	set := rec.set
	var buf [memoMaxKey]byte
	mkey, memo := set.memo.memoKey(&buf, c.Request(), set.tenants.headers)
	var h uint64
	if memo {
		h = set.memo.hash(mkey)
		if e := set.memo.get(h, ep.name, mkey); e != nil {
			if e.st == nil {
				rec.outcome = OutcomeUnauthorized
				s.writeRaw(c, ep.unauthorized)
				return nil, false
			}
			rec.store, rec.info.caller, rec.phone, rec.masked = e.st.name, e.key, e.req.Phone, e.masked
			return e, true
		}
	}
	p, perr := parseFiber(c, ep.name, s.bodyLimit)
	st, key := set.tenants.authenticate(c, p)
	if st == nil {
		rec.outcome = OutcomeUnauthorized
		s.writeRaw(c, ep.unauthorized)
		if memo {
			set.memo.put(&memoEntry{hash: h, endpoint: ep.name}, mkey)
		}
		return nil, false
	}
	rec.store = st.name
	rec.info.caller = key
	req := p.req
	rec.phone = req.Phone
	if perr != nil {
		rec.outcome, rec.errMsg, rec.detail = OutcomeBadRequest, publicParseError(perr), perr
		writeError(s, c, rec, r, ep, st, req)
		return nil, false
	}
	if req.Test {
		rec.outcome = OutcomeTest
		s.write(c, rec, ep.shape(st.labels, req, ep.sample(st.labels), "").body)
		return nil, false
	}
	if ep.precheck != nil {
		if msg, outcome, ok := ep.precheck(req); ok {
			rec.outcome, rec.errMsg = outcome, msg
			writeError(s, c, rec, r, ep, st, req)
			return nil, false
		}
	}
	e := &memoEntry{hash: h, endpoint: ep.name, st: st, key: key, req: req}
	if st.answers != nil {
		e.akey = answerKey(req)
	}
	if memo {
		e.masked = MaskPhone(req.Phone)
		rec.masked = e.masked
		e.limited = set.fixed.lookup(st, r, req, msgRateLimited)
		set.memo.put(e, mkey)
	}
	return e, true
}

// writeError answers req with rec.errMsg and no data: with the bytes built
// at start when there are some for it, so refusing a request costs less
// than answering one, else shaped and encoded now.
func writeError[Resp any](s *Server, c *fiber.Ctx, rec *record, r *route, ep *endpoint[Resp], st *store, req Request) {
	if b := rec.set.fixed.lookup(st, r, req, rec.errMsg); b != nil {
		s.writeRaw(c, b)
		return
	}
	var none Resp
	s.write(c, rec, ep.shape(st.labels, req, none, rec.errMsg).body)
}

func (s *Server) observeAnswer(rec *record, st *store, reused bool) {
	switch {
	case rec.series != nil:
		rec.series.ObserveAnswer(reused)
	case s.answerObs != nil:
		s.answerObs.ObserveAnswer(rec.endpoint, st.name, reused)
	}
}

// seriesOf returns st's Series for r from the Server's SeriesObserver,
// asking it on st's first request to r; nil without one.
func (s *Server) seriesOf(st *store, r *route) Series {
	if s.seriesObs == nil {
		return nil
	}
	p := &st.series[r.index]
	if v := p.Load(); v != nil && v.srv == s {
		return v.series
	}
	v := &storeSeries{srv: s, series: s.seriesObs.Series(r.name, st.name)}
	p.Store(v)
	return v.series
}

// backendErrorMessage picks the outcome and the text WAzion sees for a
// Backend error: the Error's own message, a timeout, or a generic line.
func backendErrorMessage(err error, deadline time.Duration) (outcome, msg string) {
	outcome = OutcomeError
	if errors.Is(err, context.DeadlineExceeded) {
		outcome = OutcomeTimeout
	}
	var pe *Error
	switch {
	case errors.As(err, &pe) && pe.Message != "":
		return outcome, pe.Message
	case outcome == OutcomeTimeout:
		return outcome, fmt.Sprintf("timeout: partial answer after %s", deadline)
	case errors.Is(err, context.Canceled):
		return outcome, "request cancelled"
	}
	return outcome, "upstream error"
}

// result is what the Backend goroutine hands back.
type result[Resp any] struct {
	resp     Resp
	err      error
	panicked bool
	timedOut bool
	ctxErr   error
}

// callBackend runs call in its own goroutine under the route's deadline
// and waits for it, or for the deadline plus a short grace in which a
// well-behaved Backend hands over its partial data. A Backend that ignores
// its context is abandoned, not waited for: WAzion gets its answer either
// way.
func callBackend[Resp any](s *Server, c *fiber.Ctx, r *route, call func(Backend, context.Context, Request) (Resp, error),
	st *store, req Request, info *requestInfo) result[Resp] {
	ctx, cancel := context.WithTimeout(withRequestInfo(c.UserContext(), info), r.deadline)
	defer cancel()
	done := make(chan result[Resp], 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				s.logger.Error("wazion backend panic",
					slog.String("request_id", info.id),
					slog.String("endpoint", r.name),
					slog.String("store", st.name),
					slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())))
				done <- result[Resp]{panicked: true}
			}
		}()
		resp, err := call(st.backend, ctx, req)
		done <- result[Resp]{resp: resp, err: err}
	}()
	select {
	case res := <-done:
		return res
	case <-ctx.Done():
	}
	grace := time.NewTimer(r.grace)
	defer grace.Stop()
	select {
	case res := <-done:
		return res
	case <-grace.C:
		return result[Resp]{timedOut: true, ctxErr: ctx.Err()}
	}
}

// write encodes body as the answer. Encoding only fails on values JSON
// cannot hold (NaN amounts, odd Raw values) or on a broken encoder; then
// WAzion still gets valid JSON with an error.
func (s *Server) write(c *fiber.Ctx, rec *record, body any) {
	buf := s.bufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			s.bufs.Put(buf)
		}
	}()
	buf.Reset()
	if err := s.encode(buf, body); err != nil {
		rec.outcome, rec.errMsg = OutcomeError, "internal error"
		rec.detail = fmt.Errorf("encode %s answer: %w", rec.endpoint, err)
		buf.Reset()
		buf.Write(internalErrorJSON)
	}
	// json.Encoder ends with a newline and json.Marshal does not; answers
	// are the same bytes either way.
	answerJSON(c)
	c.Response().SetBody(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))) // a copy: buf goes back to the pool
}

// encode writes body as JSON to buf, with the configured encoder or
// encoding/json, turning a panic into an error: fasthttp does not recover
// panics, so one here would end the process.
func (s *Server) encode(buf *bytes.Buffer, body any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("encoder panic: %v", p)
		}
	}()
	if s.encoder != nil {
		b, err := s.encoder(body)
		if err != nil {
			return err
		}
		buf.Write(b)
		return nil
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false) // URLs keep their '&'
	return enc.Encode(body)
}

// writeRaw sends b as the JSON answer, without copying it: b is built at
// start or kept as a recent answer, and never changed after.
func (s *Server) writeRaw(c *fiber.Ctx, b []byte) {
	answerJSON(c)
	c.Response().SetBodyRaw(b)
}

// answerJSON sets the status and type of every WAzion answer.
func answerJSON(c *fiber.Ctx) {
	c.Response().SetStatusCode(fiber.StatusOK)
	c.Response().Header.SetContentType(ContentTypeJSON)
}

// finish reports the request to the Observer and writes its access log line.
// The line never holds the token; the phone is masked.
func (s *Server) finish(c *fiber.Ctx, rec *record) {
	defer s.release(rec)
	// One reading of the monotonic clock; the line's time follows from
	// the start's.
	d := time.Since(rec.start)
	now := rec.start.Add(d)
	switch {
	case rec.series != nil:
		rec.series.ObserveRequest(rec.outcome, d)
	case s.observer != nil:
		s.observer.ObserveRequest(rec.endpoint, rec.store, rec.outcome, d)
	}
	s.observeError(rec)
	notes := rec.info.finish()
	level := slog.LevelInfo
	switch rec.outcome {
	case OutcomePanic:
		level = slog.LevelError
	case OutcomeError, OutcomeTimeout, OutcomeBadRequest, OutcomeUnauthorized:
		level = slog.LevelWarn
	}
	// The line goes to the handler directly: slog.Logger would also look
	// up its caller's program counter, which no handler here writes, on
	// every request. An AccessHandler takes it without a slog.Record.
	ctx := c.UserContext()
	h := s.logger.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	if rec.masked == "" {
		rec.masked = MaskPhone(rec.phone)
	}
	ah, _ := h.(AccessHandler)
	id := rec.info.id
	switch {
	case id != "":
	case ah != nil:
		// An AccessHandler is done with the line when it returns.
		id = unsafe.String(unsafe.SliceData(rec.id), len(rec.id))
	default:
		id = rec.requestID()
	}
	l := AccessLine{
		Time:      now,
		Level:     level,
		RequestID: id,
		Method:    clip(c.Method(), maxLogField),
		Endpoint:  rec.endpoint,
		Store:     rec.store,
		Outcome:   rec.outcome,
		LatencyMS: float64(d.Microseconds()) / 1000,
		Phone:     rec.masked,
		Error:     clip(rec.errMsg, maxLogField),
		Notes:     notes,
	}
	if rec.detail != nil {
		// The detail adds the cause to the error; one that only says the
		// error again is left out.
		if d := rec.detail.Error(); d != rec.errMsg {
			l.Detail = clip(d, maxLogField)
		}
	}
	if rec.reused {
		l.Answer = "recent"
	}
	// A log that cannot be written is not the request's failure.
	if ah != nil {
		_ = ah.HandleAccess(ctx, l)
		return
	}
	_ = h.Handle(ctx, l.Record())
}

// release gives rec back for another request, unless it was lent.
func (s *Server) release(rec *record) {
	if !rec.lent {
		s.records.Put(rec)
	}
}

// requestIDs makes the ids of requests that come without one, 32 hex
// digits as a random id would be, unique without reading the system's
// randomness per request: a random prefix drawn once per Server, then
// fasthttp's number of the connection and the request's number on it, so
// that requests on different cores share no counter. A request handled
// outside a server (a test's RequestCtx, connection number 0) takes the
// next of a counter in place of its request number.
type requestIDs struct {
	prefix [12]byte // hex
	header []byte   // HeaderRequestID, in the canonical form fasthttp keeps
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var p [6]byte
	_, _ = rand.Read(p[:]) // never fails, see crypto/rand.Read
	ids := &requestIDs{header: []byte(HeaderRequestID)}
	hex.Encode(ids.prefix[:], p[:])
	return ids
}

// requestID returns the caller's X-Request-Id when it is a sane token
// (also one set on the response by a request-id middleware), or a new one
// made in buf, and echoes it on the response. The id is valid until the
// handler returns.
func (ids *requestIDs) requestID(c *fiber.Ctx, buf *[32]byte) []byte {
	id := c.Request().Header.Peek(HeaderRequestID)
	if !validRequestID(id) {
		id = c.Response().Header.Peek(HeaderRequestID)
	}
	if !validRequestID(id) {
		conn, n := c.Context().ConnID(), c.Context().ConnRequestNum()
		if conn == 0 {
			n = ids.n.Add(1)
		}
		copy(buf[:12], ids.prefix[:])
		var v [10]byte // 40 bits of each: a trillion connections, a trillion requests on one
		binary.BigEndian.PutUint64(v[:8], conn<<24|(n>>16)&(1<<24-1))
		binary.BigEndian.PutUint16(v[8:], uint16(n))
		hex.Encode(buf[12:], v[:])
		id = buf[:]
	}
	c.Response().Header.SetCanonical(ids.header, id)
	return id
}

func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, b := range id {
		if b <= ' ' || b > '~' {
			return false
		}
	}
	return true
}
