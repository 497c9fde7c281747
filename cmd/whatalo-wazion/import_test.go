package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/redisshare/redistest"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

const postCustomers = "POST /v1/customers"

// importTestEnv configures one store from the environment against fake,
// with a budget large enough that the local limiter never slows a test.
func importTestEnv(fake *whatalotest.Server) func(string) string {
	env := map[string]string{
		"WHATALO_API_KEY":    fake.APIKey,
		"WAZION_TOKEN":       "some-token-123",
		"WHATALO_BASE_URL":   fake.APIURL,
		"DEFAULT_REGION":     "DO",
		"WHATALO_RATE_LIMIT": "6000",
	}
	return func(k string) string { return env[k] }
}

// writeImportCSV writes content to dir/customers.csv and returns its path.
func writeImportCSV(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "customers.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runImportCmd runs "whatalo-wazion import args..." as a user would.
func runImportCmd(ctx context.Context, getenv func(string) string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(ctx, append([]string{"whatalo-wazion", "import"}, args...), getenv, &out, &errOut)
	return out.String(), errOut.String(), err
}

// customersByName reads every customer of the fake through the API.
func customersByName(t *testing.T, fake *whatalotest.Server) map[string][]whatalo.Customer {
	t.Helper()
	c, err := whatalo.NewClient(fake.APIKey, whatalo.WithBaseURL(fake.APIURL), whatalo.WithLimiter(whatalo.NewLimiter(6000, 1)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]whatalo.Customer{}
	for cu, err := range c.Customers.All(context.Background(), nil) {
		if err != nil {
			t.Fatalf("list customers: %v", err)
		}
		out[cu.Name] = append(out[cu.Name], cu)
	}
	return out
}

func posts(fake *whatalotest.Server) int64 { return fake.Stats().PerRoute[postCustomers] }

// waitFor polls cond every few milliseconds until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for %s", what)
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// mixedCSV has a BOM, ';' separators, mixed-case headers, an extra column,
// a blank row and every kind of row the import tells apart.
const mixedCSV = "\uFEFF" + `Name;EMAIL;Phone;NoTes;Extra
Nuevo Uno;nuevo.uno@example.com;809 555 8001;VIP;x
Nuevo Dos;;(829) 555-8002;;
Malo Teléfono;malo@example.com;12;;
María Duplicada;;809-555-1234;;
Juan Otro;JUAN.PEREZ@example.com;;;
Nuevo Uno Bis;;+1 809-555-8001;;
;sin-nombre@example.com;;;
Solo Nombre;;;;
;;;;
"Tres; con punto y coma";tres@example.com;8095558003;"nota, con coma";
Mal Correo;no-es-correo;;;
`

func TestImportCSV(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	getenv := importTestEnv(fake)
	path := writeImportCSV(t, mixedCSV)
	failuresPath := filepath.Join(filepath.Dir(path), "customers.failures.csv")

	stdout, stderr, err := runImportCmd(context.Background(), getenv, "--allow-no-contact", path)
	if err == nil || !strings.Contains(err.Error(), "3 rows failed") || !strings.Contains(err.Error(), failuresPath) {
		t.Fatalf("err = %v, want 3 failed rows pointing at %s", err, failuresPath)
	}
	for _, want := range []string{
		"10 rows",
		"created  4\n",
		"updated  0\n",
		"skipped  3 (2 already in the store, 1 duplicate of an earlier row)\n",
		"failed   3 (3 invalid)\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "import: 10/10 rows (100%)") {
		t.Errorf("stderr lacks the final progress line:\n%s", stderr)
	}
	if n := posts(fake); n != 4 {
		t.Errorf("POST /v1/customers = %d, want 4", n)
	}

	byName := customersByName(t, fake)
	wantPhones := map[string]string{
		"Nuevo Uno":              "+18095558001",
		"Nuevo Dos":              "+18295558002",
		"Solo Nombre":            "",
		"Tres; con punto y coma": "+18095558003",
	}
	for name, phone := range wantPhones {
		cs := byName[name]
		if len(cs) != 1 {
			t.Errorf("%d customers named %q, want 1", len(cs), name)
			continue
		}
		if cs[0].Phone != phone {
			t.Errorf("%s: phone %q, want %q", name, cs[0].Phone, phone)
		}
	}
	if c := byName["Nuevo Uno"]; len(c) == 1 && (c[0].Email != "nuevo.uno@example.com" || c[0].Notes != "VIP") {
		t.Errorf("Nuevo Uno = %+v, want its email and notes", c[0])
	}
	if c := byName["Tres; con punto y coma"]; len(c) == 1 && c[0].Notes != "nota, con coma" {
		t.Errorf("quoted notes = %q", c[0].Notes)
	}
	for _, name := range []string{"María Duplicada", "Juan Otro", "Nuevo Uno Bis", "Malo Teléfono", "Mal Correo"} {
		if len(byName[name]) != 0 {
			t.Errorf("%q was created; it should have been skipped or refused", name)
		}
	}

	// The failures file keeps the input's BOM, separator and columns.
	raw, err := os.ReadFile(failuresPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, utf8BOM) {
		t.Error("failures file has no BOM though the input had one")
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, utf8BOM)))
	r.Comma = ';'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("failures file: %v", err)
	}
	wantRecs := [][]string{
		{"Name", "EMAIL", "Phone", "NoTes", "Extra", "line", "reason"},
		{"Malo Teléfono", "malo@example.com", "12", "", "", "4", "invalid phone: too short"},
		{"", "sin-nombre@example.com", "", "", "", "8", "name is empty"},
		{"Mal Correo", "no-es-correo", "", "", "", "12", "invalid email address"},
	}
	if len(recs) != len(wantRecs) {
		t.Fatalf("failures file has %d records, want %d:\n%s", len(recs), len(wantRecs), raw)
	}
	for i := range wantRecs {
		if strings.Join(recs[i], "|") != strings.Join(wantRecs[i], "|") {
			t.Errorf("failures record %d = %q, want %q", i, recs[i], wantRecs[i])
		}
	}

	// A rerun skips what the journal lists as done, retries only the
	// failures, and sends nothing new.
	stdout, _, err = runImportCmd(context.Background(), getenv, "--allow-no-contact", path)
	if err == nil {
		t.Error("rerun: want an error for the rows that still fail")
	}
	if !strings.Contains(stdout, "created  0\n") || !strings.Contains(stdout, "7 done in an earlier run") {
		t.Errorf("rerun report:\n%s", stdout)
	}
	if n := posts(fake); n != 4 {
		t.Errorf("after rerun POST /v1/customers = %d, want still 4", n)
	}
}

func TestImportDryRun(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	path := writeImportCSV(t, "name,email,phone\nUno Seco,uno.seco@example.com,8095558101\nDos Seco,,8095558102\nMaría,,8095551234\n")

	stdout, _, err := runImportCmd(context.Background(), importTestEnv(fake), "--dry-run", path)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	st := fake.Stats()
	for route, n := range st.PerRoute {
		if !strings.HasPrefix(route, "GET ") && n > 0 {
			t.Errorf("dry run sent %d × %s", n, route)
		}
	}
	if st.PerRoute["GET /v1/customers"] == 0 {
		t.Error("dry run did not read the existing customers")
	}
	if !strings.Contains(stdout, "Dry run") || !strings.Contains(stdout, "would be created  2\n") ||
		!strings.Contains(stdout, "1 already in the store") {
		t.Errorf("dry-run report:\n%s", stdout)
	}
	if _, err := os.Stat(path + ".journal"); !os.IsNotExist(err) {
		t.Errorf("dry run wrote a journal (stat: %v)", err)
	}
}

// newRowsCSV returns a CSV of n new customers named prefix 1..n, every
// third one with only a name.
func newRowsCSV(prefix string, n int) (csvText string, names []string) {
	var b strings.Builder
	b.WriteString("name,email,phone,notes\n")
	for i := 1; i <= n; i++ {
		name := prefix + " " + string(rune('A'+i-1))
		names = append(names, name)
		if i%3 == 0 {
			b.WriteString(name + ",,,\n")
			continue
		}
		b.WriteString(name + "," + strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com,809555" + strconv.Itoa(8200+i) + ",\n")
	}
	return b.String(), names
}

func assertEachOnce(t *testing.T, fake *whatalotest.Server, names []string) {
	t.Helper()
	byName := customersByName(t, fake)
	for _, name := range names {
		if n := len(byName[name]); n != 1 {
			t.Errorf("%d customers named %q, want exactly 1", n, name)
		}
	}
}

func TestImportRateLimitedMidway(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	csvText, names := newRowsCSV("Tormenta", 12)
	path := writeImportCSV(t, csvText)
	// Slow creates down so the storm can be started after a few rows.
	fake.SetFaults(whatalotest.Faults{Latency: whatalotest.Duration(20 * time.Millisecond), Routes: []string{postCustomers}})
	go func() {
		if waitFor(t, "3 creates", func() bool { return posts(fake) >= 3 }) {
			fake.SetFaults(whatalotest.Faults{RateLimitStorm: true, Times: 2, Routes: []string{postCustomers}})
		}
	}()

	stdout, stderr, err := runImportCmd(context.Background(), importTestEnv(fake), "--allow-no-contact", path)
	if err != nil {
		t.Fatalf("import: %v\n%s%s", err, stdout, stderr)
	}
	if got := fake.Stats().RateLimited; got != 2 {
		t.Errorf("fake served %d 429s, want the storm's 2", got)
	}
	if !strings.Contains(stderr, "rate limited by Whatalo") {
		t.Errorf("stderr does not mention the rate-limit wait:\n%s", stderr)
	}
	if !strings.Contains(stdout, "created  12\n") || !strings.Contains(stdout, "failed   0\n") {
		t.Errorf("report:\n%s", stdout)
	}
	if n := posts(fake); n != 14 {
		t.Errorf("POST /v1/customers = %d, want 12 creates + 2 refused", n)
	}
	assertEachOnce(t, fake, names)
}

// The first read of the store's customers answered 429: the import waits
// for the reset and reads the same page again.
func TestImportRateLimitedWhileReading(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	csvText, names := newRowsCSV("Lectura", 3)
	path := writeImportCSV(t, csvText)
	fake.SetFaults(whatalotest.Faults{RateLimitStorm: true, Times: 1, Routes: []string{"GET /v1/customers"}})

	stdout, stderr, err := runImportCmd(context.Background(), importTestEnv(fake), "--allow-no-contact", path)
	if err != nil {
		t.Fatalf("import: %v\n%s%s", err, stdout, stderr)
	}
	if got := fake.Stats().RateLimited; got != 1 {
		t.Errorf("fake served %d 429s, want the storm's 1", got)
	}
	if !strings.Contains(stderr, "rate limited by Whatalo") {
		t.Errorf("stderr does not mention the rate-limit wait:\n%s", stderr)
	}
	if !strings.Contains(stdout, "created  3\n") || !strings.Contains(stdout, "failed   0\n") {
		t.Errorf("report:\n%s", stdout)
	}
	assertEachOnce(t, fake, names)
}

func TestImportInterruptedAndResumed(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	csvText, names := newRowsCSV("Corte", 15)
	path := writeImportCSV(t, csvText)
	getenv := importTestEnv(fake)
	fake.SetFaults(whatalotest.Faults{Latency: whatalotest.Duration(20 * time.Millisecond), Routes: []string{postCustomers}})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		waitFor(t, "5 creates", func() bool { return posts(fake) >= 5 })
		cancel() // Ctrl-C while a create is on the wire
	}()
	stdout, _, err := runImportCmd(ctx, getenv, "--allow-no-contact", path)
	if err == nil || !strings.Contains(err.Error(), "run the same command again to resume") {
		t.Fatalf("interrupted import: err = %v, want advice to resume", err)
	}
	first := posts(fake)
	if first < 5 || first >= 15 {
		t.Fatalf("first run sent %d creates, want an interruption between 5 and 15", first)
	}
	if !strings.Contains(stdout, "created  "+strconv.FormatInt(first, 10)+"\n") {
		t.Errorf("interrupted report does not count the %d creates:\n%s", first, stdout)
	}

	fake.SetFaults(whatalotest.Faults{})
	stdout, stderr, err := runImportCmd(context.Background(), getenv, "--allow-no-contact", path)
	if err != nil {
		t.Fatalf("resumed import: %v\n%s", err, stdout)
	}
	if !strings.Contains(stderr, "resuming: "+strconv.FormatInt(first, 10)+" of 15 rows") {
		t.Errorf("resume notice missing:\n%s", stderr)
	}
	if !strings.Contains(stdout, "created  "+strconv.FormatInt(15-first, 10)+"\n") {
		t.Errorf("resumed report:\n%s", stdout)
	}
	if n := posts(fake); n != 15 {
		t.Errorf("POST /v1/customers = %d over both runs, want 15", n)
	}
	assertEachOnce(t, fake, names)
}

// A crash between Whatalo's answer and the journal write leaves "pending"
// lines; the rerun finds those customers in the store, by phone, email or
// (for name-only rows) name, and creates only what really is missing.
func TestImportRecoversPendingRows(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	getenv := importTestEnv(fake)
	path := writeImportCSV(t, "name,email,phone\nPendiente Tel,,8095558301\nPendiente Nombre,,\nPendiente Correo,pend@example.com,\n")
	if _, _, err := runImportCmd(context.Background(), getenv, "--allow-no-contact", path); err != nil {
		t.Fatal(err)
	}
	// Rewrite the journal as the crash would have left it: the creates
	// sent, their answers never recorded. Also add a row that crashed
	// before its create reached Whatalo.
	jpath := path + ".journal"
	data, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var kept []string
	for _, l := range lines {
		if strings.Contains(l, `"outcome":"created"`) {
			continue
		}
		kept = append(kept, l)
	}
	if strings.Count(strings.Join(kept, "\n"), `"outcome":"pending"`) != 3 || !strings.Contains(kept[0], `"journal"`) { // header + 3 pending
		t.Fatalf("journal after the first run:\n%s", data)
	}
	if err := os.WriteFile(jpath, []byte(strings.Join(kept, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := readCustomerCSV(writeImportCSV(t, "name\nNunca Enviado\n"))
	if err != nil {
		t.Fatal(err)
	}
	neverKey := f.rows[0].key
	if err := os.WriteFile(jpath, append([]byte(strings.Join(kept, "\n")+"\n"),
		[]byte(`{"line":5,"key":"`+neverKey+`","outcome":"pending","at":"2026-01-01T00:00:00Z"}`+"\n{\"line\":6,\"ke")...), 0o600); err != nil {
		t.Fatal(err) // the last line is cut short, as by a crash mid-write
	}
	if err := os.WriteFile(path, []byte("name,email,phone\nPendiente Tel,,8095558301\nPendiente Nombre,,\nPendiente Correo,pend@example.com,\nNunca Enviado,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	before := posts(fake)
	stdout, _, err := runImportCmd(context.Background(), getenv, "--allow-no-contact", path)
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, stdout)
	}
	if got := posts(fake) - before; got != 1 {
		t.Errorf("rerun sent %d creates, want 1 (only the row never sent)", got)
	}
	if !strings.Contains(stdout, "created  1\n") || !strings.Contains(stdout, "3 done in an earlier run") {
		t.Errorf("rerun report:\n%s", stdout)
	}
	assertEachOnce(t, fake, []string{"Pendiente Tel", "Pendiente Nombre", "Pendiente Correo", "Nunca Enviado"})
}

func TestImportUpdate(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	getenv := importTestEnv(fake)
	path := writeImportCSV(t, "name,email,phone,notes\n"+
		"María García,,809-555-1234,Cliente VIP\n"+ // existing by phone: notes change
		"Juan Pérez,juan.perez@example.com,,\n"+ // existing by email, nothing new
		"Pedro o Rosa,,809-555-0000,\n"+ // two customers share this phone
		"Nueva Persona,nueva@example.com,8095558401,\n")

	stdout, _, err := runImportCmd(context.Background(), getenv, "--update", path)
	if err == nil || !strings.Contains(err.Error(), "1 rows failed") {
		t.Fatalf("err = %v, want the ambiguous row to fail", err)
	}
	maria, ok := fake.Customer("365047281936")
	if !ok || maria.Notes != "Cliente VIP" || maria.Phone != "+18095551234" {
		t.Errorf("María after --update = %+v, want notes Cliente VIP", maria)
	}
	if n := fake.Stats().PerRoute["PATCH /v1/customers/{id}"]; n != 1 {
		t.Errorf("PATCH count = %d, want 1 (Juan is unchanged)", n)
	}
	for _, want := range []string{"created  1\n", "updated  1\n", "1 unchanged", "failed   1 (1 refused by Whatalo)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	failures, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "customers.failures.csv"))
	if !strings.Contains(string(failures), "match 2 different customers") {
		t.Errorf("failures file:\n%s", failures)
	}

	// Without --update the same file skips María and leaves her alone.
	fake2 := whatalotest.NewServer(t, nil)
	path2 := writeImportCSV(t, "name,phone,notes\nMaría García,809-555-1234,Otra nota\n")
	if _, _, err := runImportCmd(context.Background(), importTestEnv(fake2), path2); err != nil {
		t.Fatal(err)
	}
	if m, _ := fake2.Customer("365047281936"); m.Notes == "Otra nota" {
		t.Error("without --update an existing customer was changed")
	}
}

func TestImportRejectsBadFiles(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	getenv := importTestEnv(fake)
	tests := []struct {
		name, content, want string
	}{
		{"no name column", "email;phone\na@example.com;8095550001\n", "no name column"},
		{"not UTF-8", "name\nJos\xe9\n", "line 2 is not UTF-8"},
		{"empty", "", "empty file"},
		{"two name columns", "name,Nombre\na,b\n", "both the name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runImportCmd(context.Background(), getenv, writeImportCSV(t, tt.content))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, _, err := runImportCmd(context.Background(), getenv); err == nil || !strings.Contains(err.Error(), "want one CSV file") {
		t.Errorf("no file: err = %v", err)
	}
	if n := posts(fake); n != 0 {
		t.Errorf("bad files sent %d creates", n)
	}
}

func TestDetectComma(t *testing.T) {
	tests := []struct {
		header string
		want   rune
	}{
		{"name,email,phone\n", ','},
		{"name;email;phone\r\n", ';'},
		{"name\temail\n", '\t'},
		{`"last, first";email;phone` + "\n", ';'},
		{"name\n", ','},
		{"name;email\na,b,c,d,e\n", ';'}, // only the header counts
	}
	for _, tt := range tests {
		if got := detectComma([]byte(tt.header)); got != tt.want {
			t.Errorf("detectComma(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

// With Redis configured, the import takes its turns from the budget the
// service's replicas share: its calls are counted there.
func TestImportSharesTheReplicasBudget(t *testing.T) {
	srv := redistest.Start(t)
	fake := whatalotest.NewServer(t, nil)
	base := importTestEnv(fake)
	env := map[string]string{"REDIS_URL": srv.URL, "REDIS_EXPECTED_REPLICAS": "3"}
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return base(k)
	}
	path := writeImportCSV(t, "name,phone\nCompartida Uno,+18095558101\n")
	if _, stderr, err := runImportCmd(context.Background(), getenv, path); err != nil {
		t.Fatalf("import with Redis: %v\n%s", err, stderr)
	}
	if n := posts(fake); n != 1 {
		t.Errorf("POST /v1/customers = %d, want 1", n)
	}
	keys := sharedBudgetKeys(t, srv)
	if len(keys) == 0 {
		t.Fatal("the import's calls left no trace in the shared budget")
	}
	for _, k := range keys {
		if strings.Contains(k, fake.APIKey) {
			t.Errorf("shared budget key %q holds the API key", k)
		}
	}
}

// sharedBudgetKeys lists the keys of the shared rate limit in srv.
func sharedBudgetKeys(t *testing.T, srv *redistest.Server) []string {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	keys, err := rdb.Keys(context.Background(), "*key:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
