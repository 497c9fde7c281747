package wazion

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// DefaultBodyLimit is the largest request body read when Options.BodyLimit is
// zero. WAzion sends a handful of short fields, so anything near this size is
// a mistake or an attack, and refusing it keeps parsing cheap.
const DefaultBodyLimit = 64 << 10

// MaxRelatedPhones caps the related phones kept from one request. WAzion sends
// a few; more are ignored rather than refused, because refusing would count
// as a failure against the shop.
const MaxRelatedPhones = 50

// maxRelatedItems bounds how many relatedphones items are looked at, kept
// or not, so a list of one phone repeated thousands of times costs no more
// than a short one.
const maxRelatedItems = 10 * MaxRelatedPhones

// maxJSONDepth bounds nesting in a JSON body. WAzion's bodies are flat with at
// most one array, so a deep body is never legitimate.
const maxJSONDepth = 32

// Errors reported by ParseRequest. Their text is what WAzion sees in "error";
// the wrapped detail goes to the log only.
var (
	ErrBodyTooLarge        = errors.New("request body too large")
	ErrInvalidJSON         = errors.New("invalid JSON body")
	ErrJSONTooDeep         = errors.New("JSON body nested too deeply")
	ErrInvalidUTF8         = errors.New("request contains invalid UTF-8")
	ErrInvalidMultipart    = errors.New("invalid multipart body")
	ErrUnsupportedEncoding = errors.New("unsupported Content-Encoding")
)

// parseErrors lists the errors whose text may be shown to WAzion.
var parseErrors = [...]error{
	ErrBodyTooLarge, ErrInvalidJSON, ErrJSONTooDeep, ErrInvalidUTF8,
	ErrInvalidMultipart, ErrUnsupportedEncoding,
}

// publicParseError returns the part of a parse error that is safe and short
// enough to send back.
func publicParseError(err error) string {
	for _, pe := range parseErrors {
		if errors.Is(err, pe) {
			return pe.Error()
		}
	}
	return "bad request"
}

// ParseRequest builds the Request for endpoint from c: query string first,
// then the body (JSON, urlencoded or multipart form), whose non-empty values
// win. Every string in the result is a copy, safe to use after the handler
// returns. A bodyLimit of zero or less means DefaultBodyLimit. On error the
// Request still holds what the query string said.
func ParseRequest(c *fiber.Ctx, endpoint string, bodyLimit int) (Request, error) {
	p, err := parseFiber(c, endpoint, bodyLimit)
	return p.req, err
}

// parsed is a Request plus the tokens it carried, kept apart because the
// token is a secret and never travels in a Request.
type parsed struct {
	req        Request
	queryToken string
	bodyToken  string
}

// rawRequest is what parsing needs from an HTTP request, so the parser can be
// tested and fuzzed without a server.
type rawRequest struct {
	contentType     string
	contentEncoding string
	query           []byte
	body            []byte
}

func parseFiber(c *fiber.Ctx, endpoint string, bodyLimit int) (parsed, error) {
	r := c.Request()
	return parseRaw(endpoint, rawRequest{
		contentType:     string(r.Header.ContentType()),
		contentEncoding: string(r.Header.Peek(fiber.HeaderContentEncoding)),
		query:           r.URI().QueryString(),
		body:            r.Body(),
	}, bodyLimit)
}

// parseRaw does the work of ParseRequest. Its cost is linear in the size of
// the query string and of the body, which is capped at bodyLimit before any
// decoding.
func parseRaw(endpoint string, raw rawRequest, bodyLimit int) (parsed, error) {
	if bodyLimit <= 0 {
		bodyLimit = DefaultBodyLimit
	}
	var query, body paramSet
	qerr := query.readForm(raw.query, true)
	berr := readBody(&body, raw, bodyLimit)

	merged := query
	merged.overlay(&body)
	p := parsed{
		req:        merged.request(endpoint),
		queryToken: query.values[pToken],
		bodyToken:  body.values[pToken],
	}
	if berr != nil {
		// The body is unusable: answer from the query alone, body token too.
		p.req = query.request(endpoint)
		p.bodyToken = ""
		return p, berr
	}
	if qerr != nil {
		return p, fmt.Errorf("parse query string: %w", qerr)
	}
	return p, nil
}

func readBody(ps *paramSet, raw rawRequest, limit int) error {
	if len(raw.body) == 0 {
		return nil
	}
	if len(raw.body) > limit {
		return fmt.Errorf("read body of %d bytes, limit %d: %w", len(raw.body), limit, ErrBodyTooLarge)
	}
	body, err := decodeContent(raw.body, raw.contentEncoding, limit)
	if err != nil {
		return err
	}
	mediaType, _, _ := strings.Cut(raw.contentType, ";")
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	switch {
	case mediaType == "application/json" || mediaType == "text/json" || strings.HasSuffix(mediaType, "+json"):
		err = ps.readJSON(body)
	case mediaType == "application/x-www-form-urlencoded":
		err = ps.readForm(body, true)
	case mediaType == "multipart/form-data":
		err = ps.readMultipart(body, raw.contentType)
	default:
		// WAzion documents JSON or form bodies; a missing or odd
		// Content-Type is told apart by the first byte.
		if t := bytes.TrimSpace(body); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
			err = ps.readJSON(body)
		} else {
			err = ps.readForm(body, true)
		}
	}
	if err != nil {
		return fmt.Errorf("parse %q body: %w", mediaType, err)
	}
	return nil
}

// decodeContent undoes a gzip or deflate Content-Encoding without letting
// the result grow past limit.
func decodeContent(body []byte, encoding string, limit int) ([]byte, error) {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("decode gzip body: %w: %w", ErrUnsupportedEncoding, err)
		}
		r = zr
	case "deflate":
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("decode deflate body: %w: %w", ErrUnsupportedEncoding, err)
		}
		r = zr
	default:
		return nil, fmt.Errorf("decode body: %w", ErrUnsupportedEncoding)
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("decode %s body: %w: %w", encoding, ErrUnsupportedEncoding, err)
	}
	if len(out) > limit {
		return nil, fmt.Errorf("decode %s body: %w", encoding, ErrBodyTooLarge)
	}
	return out, nil
}

// param names a scalar parameter.
type param int

const (
	pPhone param = iota
	pToken
	pOrder
	pEmail
	pQuery
	pQ
	pFormat
	pTargetLocale
	pTest
	numParams
)

// paramSet holds the parameters of one source (query string or body).
// Empty values are never stored, so "set" means "non-empty".
type paramSet struct {
	values  [numParams]string
	related []string
	keys    []string // dedupe keys of related, in order: at most MaxRelatedPhones, so a scan beats a map
	items   int      // relatedphones items looked at
}

// relatedFull reports whether further related phones are to be ignored.
func (ps *paramSet) relatedFull() bool {
	return len(ps.related) >= MaxRelatedPhones || ps.items >= maxRelatedItems
}

// lookupParam maps a parameter name, in any case, to a scalar parameter or
// to the related phones list.
func lookupParam(name string) (p param, related, ok bool) {
	return paramNamed(strings.ToLower(strings.TrimSpace(name)))
}

// paramNamed is lookupParam for a name already trimmed and in lower case.
func paramNamed(name string) (p param, related, ok bool) {
	switch name {
	case "phone":
		return pPhone, false, true
	case "token":
		return pToken, false, true
	case "order":
		return pOrder, false, true
	case "email":
		return pEmail, false, true
	case "query":
		return pQuery, false, true
	case "q":
		return pQ, false, true
	case "format":
		return pFormat, false, true
	case "target_locale":
		return pTargetLocale, false, true
	case "test":
		return pTest, false, true
	case "relatedphones", "related_phones", "relatedphones[]":
		return 0, true, true
	}
	// PHP-style indexed keys: relatedphones[0]=...
	if strings.HasPrefix(name, "relatedphones[") && strings.HasSuffix(name, "]") {
		return 0, true, true
	}
	return 0, false, false
}

// lookupParamBytes is lookupParam for a name in bytes, without copying a
// short ASCII one (any WAzion sends).
func lookupParamBytes(name []byte) (p param, related, ok bool) {
	name = bytes.TrimSpace(name)
	var lower [32]byte
	if len(name) > len(lower) {
		return lookupParam(string(name))
	}
	for i, c := range name {
		if c >= utf8.RuneSelf {
			return lookupParam(string(name)) // Unicode case folding
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return paramNamed(string(lower[:len(name)]))
}

// set stores a scalar value. plusDecoded says the value came from
// urlencoded text, where an unescaped '+' of an E.164 phone arrives as a
// space.
func (ps *paramSet) set(p param, v string, plusDecoded bool) error {
	if !utf8.ValidString(v) {
		return ErrInvalidUTF8
	}
	if p == pPhone {
		v = cleanPhone(v, plusDecoded)
	} else {
		v = strings.TrimSpace(v)
	}
	if v != "" {
		ps.values[p] = v
	}
	return nil
}

// overlay lets every non-empty value of body replace the one in ps.
func (ps *paramSet) overlay(body *paramSet) {
	for i, v := range body.values {
		if v != "" {
			ps.values[i] = v
		}
	}
	if len(body.related) > 0 {
		ps.related = body.related
		ps.keys = body.keys
	}
}

func (ps *paramSet) request(endpoint string) Request {
	v := &ps.values
	req := Request{
		Endpoint:      endpoint,
		Phone:         v[pPhone],
		RelatedPhones: ps.related,
		Order:         v[pOrder],
		Email:         v[pEmail],
		TargetLocale:  v[pTargetLocale],
		Test:          isTrue(v[pTest]),
	}
	if req.RelatedPhones == nil {
		req.RelatedPhones = []string{}
	}
	if strings.EqualFold(v[pFormat], "ai") {
		req.Format = "ai"
	}
	// search_Products names its search text q, the others query; each
	// falls back to the other name so a misconfigured caller still works.
	if endpoint == EndpointSearchProducts {
		req.Query = firstNonEmpty(v[pQ], v[pQuery])
	} else {
		req.Query = firstNonEmpty(v[pQuery], v[pQ])
	}
	return req
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// isTrue reports whether a test flag means yes: JSON true, "true" in any
// case, or 1.
func isTrue(v string) bool {
	return v == "1" || strings.EqualFold(v, "true")
}

// cleanPhone trims a phone and, for urlencoded input, restores the '+' of an
// E.164 number sent unescaped ("?phone=+34612345678" decodes to
// " 34612345678").
func cleanPhone(v string, plusDecoded bool) string {
	if plusDecoded && strings.HasPrefix(v, " ") {
		rest := strings.TrimLeft(v, " ")
		if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			return "+" + strings.TrimSpace(rest)
		}
	}
	return strings.TrimSpace(v)
}

// addPhone adds one related phone, trimmed, skipping empties and duplicates
// (same digits), and ignoring any past MaxRelatedPhones.
func (ps *paramSet) addPhone(v string, plusDecoded bool) {
	if ps.relatedFull() {
		return
	}
	ps.items++
	v = cleanPhone(v, plusDecoded)
	if v == "" {
		return
	}
	key := phoneKey(v)
	if slices.Contains(ps.keys, key) {
		return
	}
	ps.keys = append(ps.keys, key)
	ps.related = append(ps.related, v)
}

// phoneKey is the digits of a phone, so "+34 612 345 678" and
// "+34612345678" count once; a value without digits is its own key.
func phoneKey(v string) string {
	if d := digitsOf(v); d != "" {
		return d
	}
	return v
}

// digitsOf returns the ASCII digits of s, in order: a part of s, without
// copying, when its digits are all together (a phone such as +34612345678).
func digitsOf(s string) string {
	start, end := -1, -1
	together := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			if start < 0 {
				start = i
			} else if end >= 0 {
				together = false
				break
			}
		} else if start >= 0 && end < 0 {
			end = i
		}
	}
	switch {
	case start < 0:
		return ""
	case together && end < 0:
		return s[start:]
	case together:
		return s[start:end]
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			if b.Len() == 0 {
				b.Grow(len(s) - i)
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// addRelatedString reads one textual relatedphones value: a JSON array
// (`["+34698765432"]`), or a comma-separated list, or a single phone.
func (ps *paramSet) addRelatedString(v string, plusDecoded bool) error {
	if !utf8.ValidString(v) {
		return ErrInvalidUTF8
	}
	t := strings.TrimSpace(v)
	if strings.HasPrefix(t, "[") {
		if ps.readPlainStrings(t, plusDecoded) {
			return nil
		}
		// Read into a scratch set first, so a half-read invalid array
		// leaves no trace before the fallback below.
		var arr paramSet
		if err := arr.readRelatedJSON(t, plusDecoded); err == nil {
			for _, phone := range arr.related {
				ps.addPhone(phone, false)
			}
			return nil
		}
		// Not JSON after all (e.g. [+34698765432] unquoted): read it as a
		// list between brackets.
		v = strings.TrimSuffix(strings.TrimPrefix(t, "["), "]")
		ps.addPhoneList(v, plusDecoded, true)
		return nil
	}
	ps.addPhoneList(v, plusDecoded, false)
	return nil
}

// addPhoneList splits v on commas without building a slice, so a huge list
// costs no more than reading it, and stops at the cap.
func (ps *paramSet) addPhoneList(v string, plusDecoded, unquote bool) {
	for v != "" && !ps.relatedFull() {
		item, rest, _ := strings.Cut(v, ",")
		if unquote {
			item = strings.Trim(strings.TrimSpace(item), `"'`)
		}
		ps.addPhone(item, plusDecoded)
		v = rest
	}
}

// readRelatedJSON reads a JSON array of phones held in a string.
func (ps *paramSet) readRelatedJSON(s string, plusDecoded bool) error {
	raw := []byte(s)
	if err := checkJSONDepth(raw); err != nil {
		return err
	}
	return ps.decodeRelatedArray(raw, plusDecoded)
}

// readRelatedArray reads a JSON array of phones: strings (each may itself
// be a comma-separated list) and numbers; anything else is skipped. It stops
// reading at the cap, so a huge array costs no more than a short one.
func (ps *paramSet) readRelatedArray(raw []byte, plusDecoded bool) error {
	if ps.readPlainStrings(string(raw), plusDecoded) {
		return nil
	}
	return ps.decodeRelatedArray(raw, plusDecoded)
}

// readPlainStrings reads the usual relatedphones value, a short array of
// plain strings, in place, and reports whether s was one; anything else
// (escapes, numbers, odd spacing) is left to decodeRelatedArray.
func (ps *paramSet) readPlainStrings(s string, plusDecoded bool) bool {
	items, ok := plainStrings(s)
	for _, p := range items {
		ps.addPhoneList(p, plusDecoded, false)
	}
	return ok
}

// decodeRelatedArray is readRelatedArray through encoding/json.
func (ps *paramSet) decodeRelatedArray(raw []byte, plusDecoded bool) error {
	// A short array of strings decodes in one call; the size check keeps a
	// huge array on the capped path below.
	if len(raw) <= 1024 {
		var phones []string
		if json.Unmarshal(raw, &phones) == nil {
			for _, p := range phones {
				ps.addPhoneList(p, plusDecoded, false)
			}
			return nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return fmt.Errorf("%w: relatedphones is not an array", ErrInvalidJSON)
	}
	for dec.More() {
		if ps.relatedFull() {
			return nil
		}
		var e json.RawMessage
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("%w: relatedphones: %w", ErrInvalidJSON, err)
		}
		switch e[0] {
		case '"':
			var s string
			if err := json.Unmarshal(e, &s); err != nil {
				return fmt.Errorf("%w: relatedphones: %w", ErrInvalidJSON, err)
			}
			ps.addPhoneList(s, plusDecoded, false)
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			ps.addPhone(string(e), false)
		default:
			ps.items++
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return fmt.Errorf("%w: relatedphones: %w", ErrInvalidJSON, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: relatedphones: data after the array", ErrInvalidJSON)
	}
	return nil
}

// maxPlainStrings bounds the strings plainStrings returns: past it the
// array takes the decoder's capped path.
const maxPlainStrings = 8

// plainStrings reads a JSON array of up to maxPlainStrings strings with no
// escapes and no control characters, such as ["+34698765432"], whose
// elements are their bytes as they stand. ok is false for anything else,
// which the caller leaves to encoding/json. The input is valid UTF-8.
func plainStrings(s string) (items []string, ok bool) {
	s = trimJSONSpace(s)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	s = trimJSONSpace(s[1 : len(s)-1])
	if s == "" {
		return nil, true
	}
	var out [maxPlainStrings]string
	n := 0
	for {
		if n == maxPlainStrings || len(s) < 2 || s[0] != '"' {
			return nil, false
		}
		end := 1
		for end < len(s) && s[end] != '"' {
			if c := s[end]; c == '\\' || c < 0x20 {
				return nil, false
			}
			end++
		}
		if end == len(s) {
			return nil, false
		}
		out[n] = s[1:end]
		n++
		s = trimJSONSpace(s[end+1:])
		if s == "" {
			return out[:n:n], true
		}
		if s[0] != ',' {
			return nil, false
		}
		s = trimJSONSpace(s[1:])
	}
}

// trimJSONSpace trims the four bytes JSON counts as white space.
func trimJSONSpace(s string) string {
	return strings.Trim(s, " \t\n\r")
}

// checkJSONDepth refuses JSON nested deeper than maxJSONDepth. It is one
// pass over the bytes, so a deep body is refused before the decoder
// recurses into it.
func checkJSONDepth(b []byte) error {
	depth := 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			if depth++; depth > maxJSONDepth {
				return ErrJSONTooDeep
			}
		case ']', '}':
			depth--
		}
	}
	return nil
}

// readJSON reads a JSON object body. Unknown keys are skipped, numbers and
// booleans are taken as their text, null counts as absent, and a bare null
// body as no parameters. Keys are matched in any case; when two keys differ
// only in case, the one sorting last wins, so the result never depends on
// map order.
func (ps *paramSet) readJSON(body []byte) error {
	if !utf8.Valid(body) {
		return ErrInvalidUTF8
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if err := checkJSONDepth(body); err != nil {
		return err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidJSON, err)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := ps.readJSONValue(k, obj[k]); err != nil {
			return err
		}
	}
	return nil
}

func (ps *paramSet) readJSONValue(key string, raw json.RawMessage) error {
	p, related, known := lookupParam(key)
	if !known || len(raw) == 0 {
		return nil
	}
	var text string
	switch raw[0] {
	case '[':
		if related {
			return ps.readRelatedArray(raw, false)
		}
		return nil
	case '{', 'n': // objects are not parameters; null is absent
		return nil
	case '"':
		if err := json.Unmarshal(raw, &text); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidJSON, key, err)
		}
	default: // numbers and booleans, as written
		text = string(raw)
	}
	if related {
		return ps.addRelatedString(text, false)
	}
	return ps.set(p, text, false)
}

// readForm reads urlencoded pairs (a query string or a form body). It never
// fails on syntax, as browsers and PHP do not; only invalid UTF-8 in a value
// the service uses is an error.
func (ps *paramSet) readForm(data []byte, plusDecoded bool) error {
	var kb, vb [64]byte // decoded key and value; longer ones grow onto the heap
	for len(data) > 0 {
		var k, v []byte
		k, v, data = nextFormPair(data)
		if len(k) == 0 && len(v) == 0 {
			continue
		}
		p, related, ok := lookupParamBytes(decodeFormAppend(kb[:0], k))
		switch {
		case !ok:
		case related:
			if err := ps.addRelatedString(string(decodeFormAppend(vb[:0], v)), plusDecoded); err != nil {
				return err
			}
		default:
			if err := ps.set(p, string(decodeFormAppend(vb[:0], v)), plusDecoded); err != nil {
				return err
			}
		}
	}
	return nil
}

// nextFormPair splits the first key=value pair off urlencoded data, still
// encoded: the pairs and their decoding are fasthttp.Args' (a pair without
// '=' is a key with no value), read without copying data into an Args.
func nextFormPair(data []byte) (key, value, rest []byte) {
	pair := data
	if i := bytes.IndexByte(data, '&'); i >= 0 {
		pair, rest = data[:i], data[i+1:]
	}
	if i := bytes.IndexByte(pair, '='); i >= 0 {
		return pair[:i], pair[i+1:], rest
	}
	return pair, nil, rest
}

// decodeFormAppend appends src to dst with '+' as a space and each %XX as
// its byte; a '%' not followed by two hex digits stays as it is.
func decodeFormAppend(dst, src []byte) []byte {
	i := 0
	for i < len(src) && src[i] != '%' && src[i] != '+' {
		i++
	}
	if i == len(src) {
		return append(dst, src...)
	}
	dst = append(dst, src[:i]...)
	for ; i < len(src); i++ {
		switch c := src[i]; c {
		case '+':
			dst = append(dst, ' ')
		case '%':
			if i+2 >= len(src) {
				return append(dst, src[i:]...) // as fasthttp: a '%' this near the end ends decoding
			}
			if hi, lo := unhex(src[i+1]), unhex(src[i+2]); hi < 16 && lo < 16 {
				dst = append(dst, hi<<4|lo)
				i += 2
			} else {
				dst = append(dst, '%')
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// unhex is the value of the hex digit c, or 16 for any other byte.
func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 16
}

// setField stores one named textual value from a form or query string.
func (ps *paramSet) setField(name, value string, plusDecoded bool) error {
	p, related, ok := lookupParam(name)
	switch {
	case !ok:
		return nil
	case related:
		return ps.addRelatedString(value, plusDecoded)
	default:
		return ps.set(p, value, plusDecoded)
	}
}

// readMultipart reads the text fields of a multipart/form-data body; file
// parts are skipped.
func (ps *paramSet) readMultipart(body []byte, contentType string) error {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return fmt.Errorf("%w: no boundary", ErrInvalidMultipart)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidMultipart, err)
		}
		name := part.FormName()
		if name == "" || part.FileName() != "" {
			continue
		}
		if _, _, ok := lookupParam(name); !ok {
			continue
		}
		// The body is already capped, so reading a part whole is bounded.
		value, err := io.ReadAll(part)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidMultipart, err)
		}
		if err := ps.setField(name, string(value), false); err != nil {
			return err
		}
	}
}
