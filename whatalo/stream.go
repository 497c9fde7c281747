package whatalo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
)

// errStreamStopped ends a page whose consumer stopped part way: the walk
// ends without an error.
var errStreamStopped = errors.New("whatalo: stream stopped by its consumer")

// stream walks a list as pages does, but decodes each page item by item
// into one T, handed to yield before the next item is read: no page is
// ever held whole, as a body or as a slice. The *T is reused (reset to the
// zero value before each item), so a consumer copies what it keeps. A
// failed page ends the walk with its error, which may come after some of
// the page's items were yielded.
func stream[T, O any, PO pager[O]](ctx context.Context, c *Client, route, path string, opts PO, query func(PO) url.Values, walkOpts []WalkOption) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		item := new(T)
		stopped := false
		each := func(v *T) bool {
			if !yield(v, nil) {
				stopped = true
			}
			return !stopped
		}
		get := func(ctx context.Context, o PO, _ int) (int, *Response, error) {
			return streamList(ctx, c, route, path, query(o), item, each)
		}
		walkPages(ctx, opts, walkOpts, get, func(err error) bool {
			switch {
			case stopped || errors.Is(err, errStreamStopped):
				return false
			case err != nil:
				yield(nil, err)
				return false
			}
			return true
		})
	}
}

// streamList makes one list call and decodes its items into item one at a
// time, calling each after every one; it returns how many were decoded.
// When each returns false it stops reading and returns errStreamStopped.
func streamList[T any](ctx context.Context, c *Client, route, path string, q url.Values, item *T, each func(*T) bool) (int, *Response, error) {
	hr, resp, err := c.send(ctx, route, path, q, nil)
	if err != nil {
		return 0, resp, err
	}
	defer hr.Body.Close()
	if hr.ContentLength > c.maxBody {
		return 0, resp, fmt.Errorf("whatalo: %s: read response: %w", route, &badResponse{msg: "response body exceeds " + formatSize(c.maxBody)})
	}
	if ct := hr.Header.Get("Content-Type"); !isJSON(ct) {
		return 0, resp, fmt.Errorf("whatalo: %s: decode response: %w", route,
			&badResponse{msg: fmt.Sprintf("response is not JSON (content-type %s)", ct)})
	}
	body := &countingReader{r: io.LimitReader(hr.Body, c.maxBody+1)}
	n, err := decodeListStream(json.NewDecoder(body), &resp.Pagination, item, each)
	switch {
	case err == nil || errors.Is(err, errStreamStopped):
		return n, resp, err
	case body.n > c.maxBody:
		return n, resp, fmt.Errorf("whatalo: %s: read response: %w", route, &badResponse{msg: "response body exceeds " + formatSize(c.maxBody)})
	case body.err != nil && !errors.Is(body.err, io.EOF):
		if errors.Is(body.err, io.ErrUnexpectedEOF) {
			body.err = &badResponse{msg: fmt.Sprintf("truncated body after %d bytes", body.n), err: body.err}
		}
		return n, resp, fmt.Errorf("whatalo: %s: read response: %w", route, body.err)
	}
	return n, resp, fmt.Errorf("whatalo: %s: decode response: %w", route, streamError(err, body.n))
}

// decodeListStream reads a list envelope, {"data": [...], "pagination":
// {...}} in any key order, decoding the items of data one at a time into
// item.
func decodeListStream[T any](dec *json.Decoder, pg *Pagination, item *T, each func(*T) bool) (int, error) {
	if err := expectDelim(dec, '{'); err != nil {
		return 0, err
	}
	n, sawData := 0, false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return n, err
		}
		switch key, _ := tok.(string); key {
		case "data":
			sawData = true
			tok, err := dec.Token()
			if err != nil {
				return n, err
			}
			if tok == nil { // null: no items, as json.Unmarshal reads it
				continue
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return n, &badResponse{msg: "unexpected data", err: fmt.Errorf("want a list, got %v", tok)}
			}
			var zero T
			for dec.More() {
				*item = zero
				if err := dec.Decode(item); err != nil {
					return n, err
				}
				n++
				if !each(item) {
					return n, errStreamStopped
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return n, err
			}
		case "pagination":
			var p *Pagination
			if err := dec.Decode(&p); err != nil {
				return n, err
			}
			if p != nil {
				*pg = *p
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return n, err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return n, err
	}
	// Read to the end, as json.Unmarshal would, so that trailing junk is an
	// error and the connection can be reused.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = &badResponse{msg: "invalid JSON: data after the envelope"}
		}
		return n, err
	}
	if !sawData {
		return n, &badResponse{msg: "response has no data field"}
	}
	return n, nil
}

// expectDelim reads the next token and wants it to be d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return fmt.Errorf("want %q, got %v", d, tok)
	}
	return nil
}

// streamError words a decoding error as decodeEnvelope does, read bytes
// into the body.
func streamError(err error, read int64) error {
	var br *badResponse
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &br):
		return err
	case errors.Is(err, io.EOF) && read == 0:
		return &badResponse{msg: "empty body"}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &badResponse{msg: fmt.Sprintf("invalid JSON: ends early after %d bytes (truncated)", read)}
	case errors.As(err, &se):
		return &badResponse{msg: fmt.Sprintf("invalid JSON at byte %d", se.Offset), err: err}
	case errors.As(err, &te):
		return &badResponse{msg: "unexpected data", err: err}
	}
	return &badResponse{msg: "invalid JSON", err: err}
}

// countingReader counts the bytes read and keeps the first read error, so
// a body cut short is told from JSON that ends early.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
