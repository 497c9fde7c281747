// Package contract checks answers of WAzion's five CRM endpoints against the
// shapes WAzion documents: which fields an answer has, their JSON types,
// the limits WAzion applies (15 globalSearch customers, 500-character
// descriptions in the normal product format, ...), and what a test=true
// call or a wrong token must get.
//
// It reads answers as JSON and knows nothing of how they were made, so it
// judges this service (the selftest command, the golden files, the
// test=true samples) and any other implementation alike.
package contract

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// Call is what an answer was asked for, as far as its contract depends on
// it.
type Call struct {
	// Endpoint is the endpoint's name, e.g. wazion.EndpointCustomerInfo.
	Endpoint string
	// Format is search_Products' format: "ai" for the AI format, else the
	// normal one.
	Format string
	// Test is set for a test=true call, which must answer sample data.
	Test bool
	// Phones are the conversation's phone and related phones, which
	// sidePanel_CustomerFindToJoin must leave out of a real answer.
	Phones []string
	// WrongToken is set for a call with a token of no store: the answer
	// must refuse it and hold no data.
	WrongToken bool
}

// Problem is one place where an answer departs from the contract.
type Problem struct {
	// Path is where, as a JSON path such as customers[0].orders[1].date;
	// empty for the answer as a whole.
	Path string
	// Message says what is wrong, in WAzion's terms.
	Message string
}

// String is the problem as one line, "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Result is what Check found in one answer.
type Result struct {
	// Summary says in a few words what the answer holds, e.g. "found: 1
	// customer, 3 orders".
	Summary string
	// Error is the answer's "error" field. The contract allows one, so it
	// is no Problem; a caller that expected success may count it as one.
	Error string
	// Problems break the contract: WAzion would fail, refuse the answer
	// or show wrong data.
	Problems []Problem
	// Warnings are allowed by the contract but likely not what the store
	// wants (an empty phone, a repeated customer).
	Warnings []Problem
}

// OK reports whether the answer keeps the contract.
func (r Result) OK() bool { return len(r.Problems) == 0 }

// Check judges body, the answer to call, against WAzion's contract.
func Check(call Call, body []byte) Result {
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil || doc == nil {
		return Result{Problems: []Problem{{Message: "not a JSON object (WAzion requires valid JSON): " + snippet(body)}}}
	}
	c := &checker{}
	var res Result
	res.Error = c.str(doc, "", "error", false)
	if call.WrongToken {
		res.Summary = c.refusal(doc, res.Error)
	} else {
		switch call.Endpoint {
		case wazion.EndpointCustomerInfo:
			res.Summary = c.customerInfo(doc, call)
		case wazion.EndpointCustomerInitialInfo:
			res.Summary = c.initialInfo(doc, call)
		case wazion.EndpointFindToJoin:
			res.Summary = c.findToJoin(doc, call)
		case wazion.EndpointSearchProducts:
			if call.Format == "ai" {
				res.Summary = c.productsAI(doc, call)
			} else {
				res.Summary = c.products(doc, call)
			}
		case wazion.EndpointGlobalSearch:
			res.Summary = c.globalSearch(doc, call)
		default:
			c.fail("", "%q is not one of WAzion's endpoints", call.Endpoint)
		}
	}
	res.Problems, res.Warnings = c.problems, c.warnings
	return res
}

// snippet shows the start of a body that is not JSON.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "empty body"
	}
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%d bytes, not UTF-8", len(b))
	}
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// checker collects what is wrong with an answer, by JSON path.
type checker struct {
	problems []Problem
	warnings []Problem
}

func (c *checker) fail(path, format string, a ...any) {
	c.problems = append(c.problems, Problem{Path: path, Message: fmt.Sprintf(format, a...)})
}

func (c *checker) warn(path, format string, a ...any) {
	c.warnings = append(c.warnings, Problem{Path: path, Message: fmt.Sprintf(format, a...)})
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// field returns obj[key] when it has type want. A missing or null field is a
// problem only when required; a field of another type always is.
func (c *checker) field(obj map[string]any, path, key, want string, required bool) (any, bool) {
	v, ok := obj[key]
	if !ok || v == nil {
		if required {
			c.fail(joinPath(path, key), "missing (WAzion expects a %s)", want)
		}
		return nil, false
	}
	if got := jsonType(v); got != want {
		c.fail(joinPath(path, key), "is a %s, WAzion expects a %s", got, want)
		return nil, false
	}
	return v, true
}

func (c *checker) str(obj map[string]any, path, key string, required bool) string {
	v, _ := c.field(obj, path, key, "string", required)
	s, _ := v.(string)
	return s
}

func (c *checker) num(obj map[string]any, path, key string, required bool) (float64, bool) {
	v, ok := c.field(obj, path, key, "number", required)
	f, _ := v.(float64)
	return f, ok
}

func (c *checker) boolean(obj map[string]any, path, key string, required bool) (bool, bool) {
	v, ok := c.field(obj, path, key, "boolean", required)
	b, _ := v.(bool)
	return b, ok
}

// objects returns the array obj[key] as objects; ok is false when absent.
func (c *checker) objects(obj map[string]any, path, key string, required bool) ([]map[string]any, bool) {
	v, ok := c.field(obj, path, key, "array", required)
	if !ok {
		return nil, false
	}
	arr := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for i, e := range arr {
		m, isObj := e.(map[string]any)
		if !isObj {
			c.fail(fmt.Sprintf("%s[%d]", joinPath(path, key), i), "is a %s, WAzion expects an object", jsonType(e))
			continue
		}
		out = append(out, m)
	}
	return out, true
}

// id accepts a string or a number, as WAzion shows both kinds of ids.
func (c *checker) id(obj map[string]any, path, key string) {
	switch v := obj[key].(type) {
	case string:
		if strings.TrimSpace(v) == "" {
			c.fail(joinPath(path, key), "is empty")
		}
	case float64:
	default:
		c.fail(joinPath(path, key), "is a %s, WAzion expects a string id", jsonType(v))
	}
}

func (c *checker) date(obj map[string]any, path, key string, required bool) {
	d := c.str(obj, path, key, required)
	if d == "" {
		return
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if _, err := time.Parse(layout, d); err == nil {
			return
		}
	}
	c.fail(joinPath(path, key), "%q is not an ISO 8601 date", d)
}

// digits keeps the digits of a phone, which is how WAzion tells phones
// apart.
func digits(phone string) string {
	return strings.Map(func(r rune) rune {
		if r < '0' || r > '9' {
			return -1
		}
		return r
	}, phone)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
