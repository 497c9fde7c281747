package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// TestImportRerunReadsOnlyWhatChanged: the first run reads every customer
// of the store; a rerun, even with one row left, reads only the customers
// changed since (newest first, stopping at the last run's point), and still
// sees a customer that gained a row's phone in between.
func TestImportRerunReadsOnlyWhatChanged(t *testing.T) {
	fake := whatalotest.NewServer(t, whatalotest.Generate(450, 7))
	getenv := importTestEnv(fake)
	path := writeImportCSV(t, "name,email,phone\nPrimera Fila,primera@example.com,8095558401\n")
	if _, _, err := runImportCmd(context.Background(), getenv, path); err != nil {
		t.Fatal(err)
	}
	firstReads := fake.Stats().PerRoute["GET /v1/customers"]
	if firstReads < 5 {
		t.Fatalf("the first run read %d pages of 451 customers, want all 5", firstReads)
	}
	// Between the runs a customer of the store takes the phone of a row the
	// rerun will see.
	changed := fake.UpsertCustomer(whatalo.Customer{Name: "Ya Existe", Phone: "809-555-8402"})
	if err := os.WriteFile(path, []byte("name,email,phone\nPrimera Fila,primera@example.com,8095558401\nSegunda Fila,,8095558402\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runImportCmd(context.Background(), getenv, path)
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, stderr)
	}
	if got := fake.Stats().PerRoute["GET /v1/customers"] - firstReads; got != 1 {
		t.Errorf("the rerun read %d pages of customers, want 1 (only those changed since the first run)", got)
	}
	if !strings.Contains(stdout, "1 already in the store") || !strings.Contains(stdout, "1 done in an earlier run") {
		t.Errorf("rerun did not see %s's new phone, or redid the first row:\n%s", changed.ID, stdout)
	}
	if !strings.Contains(stderr, "customers changed since the last run") {
		t.Errorf("rerun does not say it read only the changes:\n%s", stderr)
	}
	// --reread reads everything again.
	before := fake.Stats().PerRoute["GET /v1/customers"]
	if _, _, err := runImportCmd(context.Background(), getenv, "--reread", path); err != nil {
		t.Fatal(err)
	}
	if got := fake.Stats().PerRoute["GET /v1/customers"] - before; got < 5 {
		t.Errorf("--reread read %d pages, want all 5", got)
	}
}

// TestImportRefusesRowsWithoutContact: WAzion finds a customer by phone or
// email, so a row with neither is reported failed with the reason, unless
// --allow-no-contact.
func TestImportRefusesRowsWithoutContact(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	getenv := importTestEnv(fake)
	path := writeImportCSV(t, "name,email,phone\nSin Contacto,,\nCon Correo,con.correo@example.com,\n")
	failures := filepath.Join(filepath.Dir(path), "customers.failures.csv")
	_, _, err := runImportCmd(context.Background(), getenv, path)
	if err == nil || !strings.Contains(err.Error(), "1 rows failed") {
		t.Fatalf("err = %v, want 1 failed row", err)
	}
	data, _ := os.ReadFile(failures)
	if !strings.Contains(string(data), "Sin Contacto") || !strings.Contains(string(data), "neither phone nor email") {
		t.Errorf("failures file:\n%s", data)
	}
	if n := len(customersByName(t, fake)["Sin Contacto"]); n != 0 {
		t.Errorf("a row without phone or email was created %d times", n)
	}
	// With the flag it is created, and nothing failing leaves no failures
	// file, not even the earlier one.
	if _, _, err := runImportCmd(context.Background(), getenv, "--allow-no-contact", path); err != nil {
		t.Fatal(err)
	}
	if n := len(customersByName(t, fake)["Sin Contacto"]); n != 1 {
		t.Errorf("--allow-no-contact: %d customers named Sin Contacto, want 1", n)
	}
	if _, err := os.Stat(failures); !os.IsNotExist(err) {
		t.Errorf("a run without failures left a failures file (stat: %v)", err)
	}
}

// TestImportDryRunWritesNothing: no journal, no failures file; the rows
// that would fail are listed in the report instead.
func TestImportDryRunWritesNothing(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	path := writeImportCSV(t, "name,email,phone\nMalo,,12\nBueno,bueno@example.com,\n")
	stdout, _, err := runImportCmd(context.Background(), importTestEnv(fake), "--dry-run", path)
	if err == nil {
		t.Fatal("a dry run with an invalid row succeeded")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("dry run left files beside the CSV: %v", names)
	}
	if !strings.Contains(stdout, "Rows that would fail:\n  line 2: invalid phone") {
		t.Errorf("dry-run report does not list the failing row:\n%s", stdout)
	}
}
