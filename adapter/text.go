package adapter

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// StripHTML turns a product description or note written in HTML into plain
// text: text nodes only, entities decoded, scripts and styles dropped. Block
// ends (<br>, </p>, </div>, headings, table rows) become line breaks and list
// items "- " bullets; other whitespace is collapsed as a browser would, and
// the result is trimmed and valid UTF-8 whatever the input. Text with no
// markup at all keeps its own line breaks.
func StripHTML(s string) string {
	if s == "" {
		return ""
	}
	// Text without markup keeps its line breaks (notes typed in a textarea);
	// inside HTML a newline is just a space.
	plain := !strings.Contains(s, "<")
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0 // depth inside elements whose text is not content
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			// io.EOF, or a reader error that strings.Reader never gives.
			return tidyLines(b.String())
		case html.TextToken:
			if skip == 0 {
				text := z.Text()
				if !plain {
					for i, c := range text {
						if c == '\n' || c == '\r' {
							text[i] = ' '
						}
					}
				}
				b.Write(text)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if hiddenElement(a) {
				if tt == html.StartTagToken {
					skip++
				}
				continue
			}
			switch {
			case a == atom.Li:
				b.WriteString("\n- ")
			case a == atom.Br || a == atom.Hr || blockElement(a):
				b.WriteByte('\n')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if hiddenElement(a) {
				if skip > 0 {
					skip--
				}
				continue
			}
			switch {
			case a == atom.Li || a == atom.Br || blockElement(a):
				b.WriteByte('\n')
			case a == atom.Td || a == atom.Th:
				b.WriteByte(' ')
			}
		}
	}
}

// hiddenElement reports elements whose text is not content: code, page
// metadata, and raw-text elements whose markup would leak through as text.
func hiddenElement(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Head, atom.Title,
		atom.Iframe, atom.Svg, atom.Textarea, atom.Noembed, atom.Noframes:
		return true
	}
	return false
}

// blockElement reports elements a browser puts on their own lines.
func blockElement(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
		atom.Ul, atom.Ol, atom.Dl, atom.Dt, atom.Dd, atom.Tr, atom.Table, atom.Blockquote,
		atom.Pre, atom.Section, atom.Article, atom.Header, atom.Footer, atom.Aside,
		atom.Nav, atom.Figure, atom.Figcaption, atom.Address, atom.Main, atom.Details,
		atom.Summary, atom.Caption, atom.Form, atom.Fieldset:
		return true
	}
	return false
}

// tidyLines collapses whitespace inside each line, drops empty lines and
// bullets without text, and makes the text valid UTF-8.
func tidyLines(s string) string {
	s = strings.ToValidUTF8(s, "")
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.Join(strings.FieldsFunc(line, isBlank), " ")
		if line == "" || line == "-" {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// isBlank is whitespace as a reader sees it: spaces of every kind (incl.
// the no-break space of &nbsp;), control characters and the U+FFFD a
// parser substitutes for NUL.
func isBlank(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError ||
		r == '\u200b' || r == '\ufeff'
}

// Truncate shortens s to at most n runes, on a rune boundary. A cut string
// ends in "…", counted in n, and is cut at the last space when that loses no
// more than a fifth of the room, so words stay whole when they can.
func Truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n == 1 {
		return "…"
	}
	// Byte offset just past the first n-1 runes, leaving room for "…".
	keep, runes := 0, 0
	for i := range s {
		if runes == n-1 {
			keep = i
			break
		}
		runes++
	}
	cut := s[:keep]
	next, _ := utf8.DecodeRuneInString(s[keep:])
	if !unicode.IsSpace(next) {
		if sp := strings.LastIndexFunc(cut, unicode.IsSpace); sp > 0 &&
			utf8.RuneCountInString(cut[sp:]) <= (n-1)/5 {
			cut = cut[:sp]
		}
	}
	cut = strings.TrimRightFunc(cut, func(r rune) bool {
		return unicode.IsSpace(r) || r == ',' || r == ';' || r == ':'
	})
	return cut + "…"
}
