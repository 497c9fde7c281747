package whatalo

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// query builds a list call's query string, leaving out unset filters so
// Whatalo applies its own defaults.
type query url.Values

func (q query) str(key, v string) {
	if v != "" {
		url.Values(q).Set(key, v)
	}
}

func (q query) list(key string, vs []string) {
	var kept []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			kept = append(kept, v)
		}
	}
	q.str(key, strings.Join(kept, ","))
}

func (q query) positive(key string, v int) {
	if v > 0 {
		url.Values(q).Set(key, strconv.Itoa(v))
	}
}

func (q query) intPtr(key string, v *int) {
	if v != nil {
		url.Values(q).Set(key, strconv.Itoa(*v))
	}
}

func (q query) money(key string, v *Money) {
	if v != nil {
		url.Values(q).Set(key, v.Decimal.String())
	}
}

func (q query) time(key string, t time.Time) {
	if !t.IsZero() {
		url.Values(q).Set(key, t.UTC().Format(time.RFC3339Nano))
	}
}

func (q query) boolPtr(key string, v *bool) {
	if v != nil {
		url.Values(q).Set(key, strconv.FormatBool(*v))
	}
}

func (q query) page(page, perPage int) {
	q.positive("page", page)
	q.positive("per_page", perPage)
}

// escapeID path-escapes an ID, refusing an empty one, which would turn
// "GET /customers/{id}" into a list call.
func escapeID(route, id string) (string, error) {
	if id == "" {
		return "", errors.New("whatalo: " + route + ": empty id")
	}
	if id == "." || id == ".." { // would walk up the path
		return strings.ReplaceAll(id, ".", "%2E"), nil
	}
	return url.PathEscape(id), nil
}
