package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// utf8BOM is what Excel puts before "CSV UTF-8" files.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// customerColumns maps the header names the import understands, lowercased,
// to the customer field they fill. Spanish names are accepted because most
// Whatalo stores keep their spreadsheets in Spanish.
var customerColumns = map[string]string{
	"name": "name", "nombre": "name", "full name": "name", "nombre completo": "name",
	"email": "email", "e-mail": "email", "correo": "email", "correo electrónico": "email", "correo electronico": "email",
	"phone": "phone", "telephone": "phone", "mobile": "phone", "whatsapp": "phone",
	"teléfono": "phone", "telefono": "phone", "celular": "phone", "móvil": "phone", "movil": "phone",
	"notes": "notes", "note": "notes", "notas": "notes", "nota": "notes",
}

// customerFile is a customers CSV as read: its header, dialect and rows.
type customerFile struct {
	header []string
	comma  rune
	bom    bool
	rows   []*customerRow
}

// customerRow is one data row.
type customerRow struct {
	line   int      // line of the file where the row starts, as spreadsheets number it
	fields []string // the record as read, for the failures file
	name   string
	email  string
	phone  string
	notes  string
	// key identifies the row in the journal by content, so a rerun
	// recognises it even if rows were added, removed or fixed around it:
	// a hash of the four fields and which occurrence of that content it is.
	key string
}

// readCustomerCSV reads a customers CSV: a header naming at least the name
// column (case-insensitive; other columns are ignored), fields separated by
// ',' ';' or tab (detected from the header), UTF-8 with or without a BOM.
// Blank rows are dropped.
func readCustomerCSV(path string) (*customerFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f := &customerFile{}
	if rest, ok := bytes.CutPrefix(data, utf8BOM); ok {
		data, f.bom = rest, true
	}
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalidUTF8(data)], []byte("\n"))
		return nil, fmt.Errorf("%s: line %d is not UTF-8; save the file as \"CSV UTF-8\"", path, line)
	}
	f.comma = detectComma(data)
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = f.comma
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file; want a header such as name,email,phone,notes", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	f.header = header
	cols := map[string]int{}
	for i, h := range header {
		field, ok := customerColumns[strings.ToLower(strings.TrimSpace(h))]
		if !ok {
			continue
		}
		if j, dup := cols[field]; dup {
			return nil, fmt.Errorf("%s: columns %d (%q) and %d (%q) are both the %s", path, j+1, header[j], i+1, h, field)
		}
		cols[field] = i
	}
	if _, ok := cols["name"]; !ok {
		return nil, fmt.Errorf("%s: no name column in the header %q (separator %q); want columns name, email, phone, notes",
			path, strings.Join(header, string(f.comma)), f.comma)
	}
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		get := func(field string) string {
			i, ok := cols[field]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		row := &customerRow{line: line, fields: rec, name: get("name"), email: get("email"), phone: get("phone"), notes: get("notes")}
		if row.name == "" && row.email == "" && row.phone == "" && row.notes == "" && blank(rec) {
			continue
		}
		sum := sha256.Sum256([]byte(row.name + "\x1f" + row.email + "\x1f" + row.phone + "\x1f" + row.notes))
		h := hex.EncodeToString(sum[:8])
		seen[h]++
		row.key = h + "." + strconv.Itoa(seen[h])
		f.rows = append(f.rows, row)
	}
	return f, nil
}

func blank(rec []string) bool {
	for _, s := range rec {
		if strings.TrimSpace(s) != "" {
			return false
		}
	}
	return true
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// detectComma picks the separator used most in the header line outside
// quotes: spreadsheets in Spanish-speaking locales export ';'.
func detectComma(data []byte) rune {
	counts := map[rune]int{}
	quoted := false
	for _, c := range string(data) {
		if c == '"' {
			quoted = !quoted
			continue
		}
		if !quoted && (c == '\n' || c == '\r') {
			break
		}
		if !quoted {
			counts[c]++
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

// importFailure is a row that was not imported, and why.
type importFailure struct {
	row    *customerRow
	reason string
}

// writeFailures writes the failed rows with the original columns, in the
// input's separator and BOM so they open like the input, plus the line they
// came from and the reason. The file is written even when empty, so a stale
// one from an earlier run never lingers.
func writeFailures(path string, f *customerFile, failures []importFailure) error {
	if len(failures) == 0 {
		// A failures file from an earlier run no longer says anything true.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove the earlier failures file: %w", err)
		}
		return nil
	}
	var buf bytes.Buffer
	if f.bom {
		buf.Write(utf8BOM)
	}
	w := csv.NewWriter(&buf)
	w.Comma = f.comma
	width := len(f.header)
	w.Write(append(append([]string(nil), f.header...), "line", "reason"))
	for _, fl := range failures {
		rec := make([]string, width, width+2)
		copy(rec, fl.row.fields)
		w.Write(append(rec, strconv.Itoa(fl.row.line), fl.reason))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("write failures: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write failures: %w", err)
	}
	return nil
}
