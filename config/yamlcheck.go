package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// checkYAML walks the parsed document against Config's fields before it is
// decoded, so that a typo or a value of the wrong kind is reported by its
// path (stores[0].region), its line and the fix, instead of as the YAML
// library's message, which names Go types and no field.
func checkYAML(doc *yaml.Node) error {
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		doc = doc.Content[0]
	}
	var errs []error
	walkYAML(doc, reflect.TypeFor[Config](), "", &errs)
	return errors.Join(errs...)
}

var durationType = reflect.TypeFor[time.Duration]()

func walkYAML(n *yaml.Node, t reflect.Type, path string, errs *[]error) {
	bad := func(n *yaml.Node, format string, a ...any) {
		*errs = append(*errs, fmt.Errorf("line %d: %s: %s", n.Line, pathOr(path), fmt.Sprintf(format, a...)))
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value leaves the default
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			bad(n, "must be a duration such as 5m or 90s")
			return
		}
		if _, err := time.ParseDuration(n.Value); err != nil {
			bad(n, "%q is not a duration such as 5m or 90s", n.Value)
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			bad(n, "must be a mapping of fields (%s)", strings.Join(yamlFields(t), ", "))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			f, ok := yamlField(t, key.Value)
			sub := joinPath(path, key.Value)
			if !ok {
				msg := "unknown field"
				if near := nearest(key.Value, yamlFields(t)); near != "" {
					msg += " (did you mean " + near + "?)"
				} else {
					msg += " (known fields: " + strings.Join(yamlFields(t), ", ") + ")"
				}
				*errs = append(*errs, fmt.Errorf("line %d: %s: %s", key.Line, sub, msg))
				continue
			}
			walkYAML(val, f.Type, sub, errs)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			bad(n, "must be a list, as in [a, b] or lines starting with -")
			return
		}
		for i, item := range n.Content {
			walkYAML(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case n.Kind != yaml.ScalarNode:
		bad(n, "must be a single value, not a list or mapping")
	default:
		switch t.Kind() {
		case reflect.Int, reflect.Int64, reflect.Int32:
			if _, err := strconv.Atoi(n.Value); err != nil {
				bad(n, "%q is not a whole number", n.Value)
			}
		case reflect.Float64, reflect.Float32:
			if _, err := strconv.ParseFloat(n.Value, 64); err != nil {
				bad(n, "%q is not a number such as 0.3", n.Value)
			}
		case reflect.Bool:
			var b bool
			if n.Decode(&b) != nil {
				bad(n, "%q is not true or false", n.Value)
			}
		}
	}
}

func pathOr(p string) string {
	if p == "" {
		return "(top level)"
	}
	return p
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlField finds the field of struct t whose yaml tag is name.
func yamlField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag := yamlTag(f); tag != "" && tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// yamlFields lists the yaml names of t's fields, sorted.
func yamlFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if tag := yamlTag(t.Field(i)); tag != "" {
			names = append(names, tag)
		}
	}
	sort.Strings(names)
	return names
}

func yamlTag(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if tag == "-" || !f.IsExported() {
		return ""
	}
	return tag
}

// nearest is the known name closest to s, when it is close enough to be
// the likely intent (a typo, a swapped pair, a missing underscore).
func nearest(s string, known []string) string {
	best, bestD := "", 0
	for _, k := range known {
		d := editDistance(strings.ToLower(s), k)
		if best == "" || d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" || bestD > max(2, len(best)/3) {
		return ""
	}
	return best
}

// editDistance is the Damerau–Levenshtein distance (optimal string
// alignment): a swapped pair of letters counts as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// yamlSyntaxLine matches the YAML library's syntax errors.
var yamlSyntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the YAML parser's (not scanner's) messages: the
// library reports their line counted from 0, one less than the file's.
var parserProblems = map[string]bool{
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
}

// syntaxError rewrites a YAML syntax error with the right line and, for
// the common case of an unquoted ${VAR} inside [ ], the fix.
func syntaxError(err error, data []byte) error {
	m := yamlSyntaxLine.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("YAML syntax: %w", err)
	}
	line, _ := strconv.Atoi(m[1])
	problem := m[2]
	if parserProblems[problem] {
		line++
	}
	msg := fmt.Sprintf("line %d: YAML syntax: %s", line, problem)
	lines := strings.Split(string(data), "\n")
	if line >= 1 && line <= len(lines) && strings.Contains(lines[line-1], "${") && strings.ContainsAny(lines[line-1], "[{") {
		msg += `; quote ${VAR} references inside [ ] or { }, as in tokens: ["${TOKEN}"]`
	}
	return errors.New(msg)
}
