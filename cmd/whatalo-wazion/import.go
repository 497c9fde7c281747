package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/phone"
	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

const importUsage = `Usage: whatalo-wazion import [flags] customers.csv

Creates the customers of a CSV file in the store, within the store's rate
limit. The header names the columns (name, email, phone, notes; any case;
separated by ',' or ';'). Phones are stored in E.164, read in the store's
region. Rows with neither phone nor email are refused (WAzion could never
find them) unless --allow-no-contact. Rows whose phone or email is already
in the store are skipped, or updated with --update. A journal next to the
file records finished rows and the customers read from the store, so
running the same command again after a crash or Ctrl-C resumes where it
stopped, never creates a customer twice, and reads only the customers
changed since (--reread reads them all). --dry-run writes nothing.

Flags:
`

// maxListedFailures bounds the failed rows a dry run's report lists.
const maxListedFailures = 50

// Limits that end an import early instead of failing every remaining row.
const (
	maxRateLimitedTries = 20 // 429s in a row for one call
	maxTransientFails   = 5  // rows in a row that Whatalo did not answer
)

func runImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", stdout, stderr)
	configPath := fs.String("config", getenv("WAZION_CONFIG"), "YAML file of stores (default: one store from the environment)")
	storeName := fs.String("store", "", "store to import into (default: the first)")
	update := fs.Bool("update", false, "update customers whose phone or email is already in the store, instead of skipping them")
	dryRun := fs.Bool("dry-run", false, "check every row and report what would happen, sending nothing but reads")
	journalPath := fs.String("journal", "", "journal of finished rows (default: the CSV's path + .journal)")
	failuresPath := fs.String("failures", "", "CSV of the rows that failed, with reasons (default: <csv name>.failures.csv beside it)")
	reread := fs.Bool("reread", false, "read every customer of the store again instead of only those changed since the last run (for customers deleted in Whatalo since)")
	allowNoContact := fs.Bool("allow-no-contact", false, "create rows with neither phone nor email too (WAzion finds customers by phone or email, so it can never show them)")
	rate := fs.Int("rate", 0, "requests per minute for the import (default: the store's background share of its rate limit, leaving the rest to a running service)")
	pos, help, err := parseFlagsAndArgs(fs, args)
	if err != nil || help {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("import: want one CSV file, got %d arguments", len(pos))
	}
	if *rate < 0 {
		return errors.New("import: --rate must not be negative")
	}
	csvPath := pos[0]
	if *journalPath == "" {
		*journalPath = csvPath + ".journal"
	}
	if *failuresPath == "" {
		*failuresPath = strings.TrimSuffix(csvPath, filepath.Ext(csvPath)) + ".failures.csv"
	}

	cfg, sc, err := selectStoreConfig(*configPath, *storeName, getenv)
	if err != nil {
		return err
	}
	file, err := readCustomerCSV(csvPath)
	if err != nil {
		return err
	}
	jr, err := openJournal(*journalPath, sc, *dryRun)
	if err != nil {
		return err
	}
	defer jr.Close()
	share := sc.BackgroundShare
	if *rate > 0 {
		share = 1 // an explicit rate is the import's alone
	}
	client, err := newStoreClient(sc, *rate, share, &http.Client{Transport: &guardTransport{base: whatalo.NewTransport()}})
	if err != nil {
		return err
	}
	// With Redis, the import takes its turns from the budget the service's
	// replicas share, as their background work does, so that all of them
	// together stay under the key's limit.
	sh, err := newSharing(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer sh.Close()
	sh.shareImport(sc, client.Limiter())
	if sh != nil {
		fmt.Fprintln(stderr, "import: taking its turns from the budget the service's replicas share through Redis")
	}
	phone.WarmMetadata()
	phones := phone.NewNormalizer(phone.Options{})
	im := &importer{
		store:     sc,
		client:    client,
		phones:    phones,
		update:    *update,
		dryRun:    *dryRun,
		reread:    *reread,
		noContact: *allowNoContact,
		journal:   jr,
		stderr:    stderr,
		set:       newCustomerSet(phones),
		touched:   map[string]int{},
		rep:       importReport{skipped: map[string]int{}},
	}
	// Background priority holds the import to its share of the key's
	// budget, so a service running on the same key keeps answering.
	ctx = whatalo.WithPriority(ctx, whatalo.Background)
	runErr := im.run(ctx, file)
	if runErr != nil && !im.started {
		return runErr // failed before any row: nothing to report
	}
	// A dry run writes nothing: its failures are in the report. No file is
	// left when nothing failed, not even one from an earlier run.
	if !*dryRun {
		if err := writeFailures(*failuresPath, file, im.rep.failures); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	im.printReport(stdout, csvPath, *journalPath, *failuresPath, runErr != nil)
	if runErr != nil {
		return runErr
	}
	if n := len(im.rep.failures); n > 0 {
		return fmt.Errorf("import: %d rows failed; their reasons are in %s", n, *failuresPath)
	}
	return nil
}

// importer holds one import's state. It runs rows one at a time: the rate
// limit, not concurrency, bounds the speed.
type importer struct {
	store  config.Store
	client *whatalo.Client
	phones *phone.Normalizer
	region string
	update bool
	dryRun bool
	reread bool // read every customer, not only those changed since the last run
	// noContact lets rows with neither phone nor email be created.
	noContact bool
	journal   *journal
	stderr    io.Writer

	set *customerSet
	// touched maps a customer ID created or updated by a row of this file
	// (in this run or, per the journal, an earlier one) to that row's line,
	// so later rows with the same phone or email are duplicates.
	touched map[string]int

	progress importProgress
	started  bool // rows began
	rep      importReport
	// transient counts rows in a row that Whatalo did not answer.
	transient int
}

// importReport is what the import did, for the final report.
type importReport struct {
	rows     int // rows in the file
	created  int
	updated  int
	skipped  map[string]int // by reason
	invalid  int
	refused  int // Whatalo answered 4xx
	unsure   int // no clear answer: may exist, a rerun checks first
	earlier  int // finished by an earlier run, per the journal
	failures []importFailure
}

// Reasons a row is skipped, as the report words them.
const (
	skipExists    = "already in the store"
	skipDuplicate = "duplicate of an earlier row"
	skipUnchanged = "unchanged"
	skipEarlier   = "done in an earlier run"
)

// errStop ends the import early; its text says why.
type errStop struct{ err error }

func (e *errStop) Error() string { return e.err.Error() }
func (e *errStop) Unwrap() error { return e.err }

func (im *importer) run(ctx context.Context, file *customerFile) error {
	im.rep.rows = len(file.rows)
	if err := im.resolveRegion(ctx); err != nil {
		return err
	}
	if err := im.loadExisting(ctx); err != nil {
		return err
	}
	// Rows the journal already has are counted first, so the progress bar
	// shows only this run's work and a fair ETA.
	var todo []*customerRow
	for _, r := range file.rows {
		e, ok := im.journal.lookup(r.key)
		if ok && e.final(im.update) {
			im.rep.earlier++
			im.rep.skipped[skipEarlier]++
			if e.ID != "" && (e.Outcome == outCreated || e.Outcome == outUpdated) {
				im.touched[e.ID] = e.Line
			}
			continue
		}
		todo = append(todo, r)
	}
	if im.rep.earlier > 0 {
		fmt.Fprintf(im.stderr, "import: resuming: %d of %d rows were finished by an earlier run (journal %s)\n",
			im.rep.earlier, len(file.rows), im.journal.path)
	}
	im.started = true
	im.progress = newImportProgress(im.stderr, len(todo), "import", "rows", time.Now())
	defer im.progress.Finish()
	for _, r := range todo {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("import interrupted before line %d (%w); run the same command again to resume", r.line, err)
		}
		if err := im.row(ctx, r); err != nil {
			var stop *errStop
			if errors.As(err, &stop) {
				return fmt.Errorf("import stopped at line %d: %w; run the same command again to resume", r.line, stop.err)
			}
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("import interrupted at line %d (%w); run the same command again to resume", r.line, err)
			}
			return fmt.Errorf("import at line %d: %w", r.line, err)
		}
		im.progress.Add(1)
	}
	return nil
}

// resolveRegion reads national phone numbers in the store's configured
// region, else the store's country.
func (im *importer) resolveRegion(ctx context.Context) error {
	im.region = im.store.Region
	if im.region != "" {
		return nil
	}
	var st *whatalo.Store
	err := im.call(ctx, func(ctx context.Context) (err error) {
		st, _, err = im.client.Store.Get(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("import: read the store's country for phone numbers (or set region): %w", err)
	}
	im.region = strings.ToUpper(st.CountryCode)
	if im.region == "" {
		fmt.Fprintln(im.stderr, "import: warning: the store has no country and no region is configured; only phones with a country code (+…) are accepted")
	}
	return nil
}

// readMargin is how far before the last read's newest change a rerun starts
// reading again: changes made while that read paged, and a store's clock a
// little behind, are read twice rather than missed.
const readMargin = 2 * time.Minute

// loadExisting learns the phones and emails already in the store. The
// first run pages through every customer, oldest first, so customers
// created meanwhile land on later pages instead of shifting the ones not
// yet read, and the journal remembers each one and when the read ended. A
// rerun starts from that memory and reads only the customers changed
// since, newest first, stopping at the first one older than the last read.
func (im *importer) loadExisting(ctx context.Context) error {
	for _, c := range im.journal.customers {
		im.set.add(whatalo.Customer{ID: c.ID, Name: c.Name, Phone: c.Phone, Email: c.Email}, im.region)
	}
	since := im.journal.readThrough
	opts := &whatalo.CustomerListOptions{PerPage: 100, Sort: whatalo.CustomerSortCreatedAt, Order: whatalo.SortAsc}
	what := "reading existing customers"
	if !since.IsZero() && !im.reread {
		opts.Sort, opts.Order = whatalo.CustomerSortUpdatedAt, whatalo.SortDesc
		what = "reading customers changed since the last run"
		since = since.Add(-readMargin)
	} else {
		since = time.Time{}
	}
	var p importProgress
	start := time.Now()
	var newest time.Time
	read := 0
	for pg, err := range im.client.Customers.Pages(ctx, opts, whatalo.WaitOutRateLimits(im.rateLimitWait())) {
		if err != nil {
			if p != nil {
				p.Finish()
			}
			return fmt.Errorf("import: read existing customers: %w", stopIfRateLimited(err))
		}
		done := false
		for _, c := range pg.Items {
			if !since.IsZero() && c.UpdatedAt.Before(since) {
				done = true // newest first: the rest were read before
				break
			}
			if c.UpdatedAt.After(newest) {
				newest = c.UpdatedAt
			}
			im.set.add(c, im.region)
			if err := im.journal.rememberCustomer(knownCustomer{ID: c.ID, Name: c.Name, Phone: c.Phone, Email: c.Email}); err != nil {
				return err
			}
			read++
		}
		if p == nil {
			total := pg.Response.Pagination.Total
			if !since.IsZero() {
				total = -1 // unknown: the read stops at the last run's point
			}
			p = newImportProgress(im.stderr, total, what, "customers", start)
		}
		p.Add(len(pg.Items))
		if done {
			break
		}
	}
	if p != nil {
		p.Finish()
	}
	if !since.IsZero() {
		fmt.Fprintf(im.stderr, "import: read %d customers changed since the last run (journal %s)\n", read, im.journal.path)
	}
	if newest.IsZero() {
		newest = im.journal.readThrough
	}
	return im.journal.finishRead(newest)
}

// rateLimitWait waits out 429s: the client never retries them, and an
// import has the time to wait for Whatalo's reset, saying so on stderr.
func (im *importer) rateLimitWait() whatalo.RateLimitWait {
	return whatalo.RateLimitWait{
		MaxTries: maxRateLimitedTries,
		OnWait: func(wait time.Duration, _ error) {
			msg := fmt.Sprintf("rate limited by Whatalo, waiting %s", wait.Round(100*time.Millisecond))
			if im.progress != nil {
				im.progress.Note(msg)
			} else {
				fmt.Fprintf(im.stderr, "import: %s\n", msg)
			}
		},
	}
}

// call runs one API call under a send guard, waiting out 429s.
func (im *importer) call(ctx context.Context, fn func(ctx context.Context) error) error {
	_, err := im.callSent(ctx, fn)
	return err
}

// callSent is call that also reports whether the last try was sent and
// may have been acted on: a try answered 429 was not.
func (im *importer) callSent(ctx context.Context, fn func(ctx context.Context) error) (sent bool, err error) {
	err = im.rateLimitWait().Do(ctx, func(ctx context.Context) error {
		if err := ctx.Err(); err != nil {
			return err // interrupted before this try; an earlier 429 was not acted on
		}
		gctx, guard, release := guardedContext(ctx)
		defer release()
		err := fn(gctx)
		sent = guard.wasSent() && !errors.Is(err, whatalo.ErrRateLimited)
		if err != nil && !sent && ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	})
	return sent, stopIfRateLimited(err)
}

// stopIfRateLimited ends the import on a rate limit that outlasted
// rateLimitWait's tries.
func stopIfRateLimited(err error) error {
	if errors.Is(err, whatalo.ErrRateLimited) {
		return &errStop{fmt.Errorf("rate limited %d times in a row; something else is using the key's budget: %w", maxRateLimitedTries, err)}
	}
	return err
}

// rowData is a row checked and normalized.
type rowData struct {
	name, email, emailKey, phone, phoneKey, notes string
}

func (r *customerRow) check(phones *phone.Normalizer, region string) (rowData, string) {
	d := rowData{name: r.name, email: r.email, notes: r.notes}
	if d.name == "" {
		return d, "name is empty"
	}
	if d.email != "" {
		a, err := mail.ParseAddress(d.email)
		if err != nil || a.Address != d.email {
			return d, "invalid email address"
		}
		d.emailKey = strings.ToLower(d.email)
	}
	if r.phone != "" {
		e164, err := phones.Normalize(r.phone, region)
		if err != nil {
			var pe *phone.Error
			if errors.As(err, &pe) {
				return d, "invalid phone: " + pe.Reason
			}
			return d, "invalid phone"
		}
		d.phone, d.phoneKey = e164, phone.Key(e164)
	}
	return d, ""
}

func (im *importer) record(r *customerRow, outcome, id string, uncertain bool) error {
	return im.journal.record(journalEntry{Line: r.line, Key: r.key, Outcome: outcome, ID: id, Uncertain: uncertain})
}

func (im *importer) fail(r *customerRow, outcome, reason string, uncertain bool) error {
	im.rep.failures = append(im.rep.failures, importFailure{row: r, reason: reason})
	return im.record(r, outcome, "", uncertain)
}

func (im *importer) skip(r *customerRow, outcome, reason, id string) error {
	im.rep.skipped[reason]++
	return im.record(r, outcome, id, false)
}

// row imports one row. Only errors that end the import are returned; a
// row's own failure is reported and the import goes on.
func (im *importer) row(ctx context.Context, r *customerRow) error {
	d, reason := r.check(im.phones, im.region)
	if reason == "" && d.phone == "" && d.email == "" && !im.noContact {
		reason = "neither phone nor email: WAzion finds customers by phone or email, so it could never show this one (--allow-no-contact imports it anyway)"
	}
	if reason != "" {
		im.rep.invalid++
		return im.fail(r, outInvalid, reason, false)
	}
	prev, _ := im.journal.lookup(r.key)
	ids := im.set.match(d)
	if len(ids) == 0 && prev.uncertain() && d.phoneKey == "" && d.emailKey == "" {
		// Nothing but the name to go by, and an earlier create may have
		// gone through unheard: a customer of that exact name is it.
		ids = im.set.names[d.name]
	}
	if len(ids) > 0 && prev.uncertain() {
		// The earlier run's create did happen.
		im.rep.earlier++
		im.touched[ids[0]] = r.line
		im.rep.skipped[skipEarlier]++
		return im.record(r, outCreated, ids[0], false)
	}
	if len(ids) > 0 {
		for _, id := range ids {
			if _, ok := im.touched[id]; ok {
				return im.skip(r, outDuplicate, skipDuplicate, id)
			}
		}
		if !im.update {
			return im.skip(r, outExists, skipExists, ids[0])
		}
		if len(ids) > 1 {
			im.rep.refused++
			return im.fail(r, outFailed, fmt.Sprintf("phone and email match %d different customers (%s); update them in Whatalo by hand",
				len(ids), strings.Join(ids, ", ")), false)
		}
		return im.updateRow(ctx, r, d, ids[0])
	}
	return im.createRow(ctx, r, d)
}

func (im *importer) createRow(ctx context.Context, r *customerRow, d rowData) error {
	in := whatalo.CustomerInput{Name: &d.name}
	if d.email != "" {
		in.Email = &d.email
	}
	if d.phone != "" {
		in.Phone = &d.phone
	}
	if d.notes != "" {
		in.Notes = &d.notes
	}
	if im.dryRun {
		id := fmt.Sprintf("dry-run:%d", r.line)
		im.set.add(whatalo.Customer{ID: id, Name: d.name, Email: d.email, Phone: d.phone, Notes: d.notes}, im.region)
		im.touched[id] = r.line
		im.rep.created++
		return nil
	}
	// Written before the call: if the process dies before the answer is
	// journaled, the rerun knows to look for the customer first.
	if err := im.record(r, outPending, "", false); err != nil {
		return err
	}
	var c *whatalo.Customer
	sent, err := im.callSent(ctx, func(ctx context.Context) (err error) {
		c, _, err = im.client.Customers.Create(ctx, in)
		return err
	})
	if err != nil {
		return im.callFailed(r, err, sent, true)
	}
	im.transient = 0
	im.set.add(*c, im.region)
	im.touched[c.ID] = r.line
	im.rep.created++
	return im.record(r, outCreated, c.ID, false)
}

func (im *importer) updateRow(ctx context.Context, r *customerRow, d rowData, id string) error {
	old := im.set.byID[id]
	var in whatalo.CustomerInput
	changed := false
	if d.name != old.Name {
		in.Name, changed = &d.name, true
	}
	if d.email != "" && d.emailKey != strings.ToLower(strings.TrimSpace(old.Email)) {
		in.Email, changed = &d.email, true
	}
	if d.phone != "" && d.phoneKey != im.phones.KeyOf(old.Phone, im.region) {
		in.Phone, changed = &d.phone, true
	}
	if d.notes != "" && d.notes != old.Notes {
		in.Notes, changed = &d.notes, true
	}
	if !changed {
		im.touched[id] = r.line
		return im.skip(r, outUnchanged, skipUnchanged, id)
	}
	if im.dryRun {
		im.touched[id] = r.line
		im.rep.updated++
		return nil
	}
	var c *whatalo.Customer
	sent, err := im.callSent(ctx, func(ctx context.Context) (err error) {
		c, _, err = im.client.Customers.Update(ctx, id, in)
		return err
	})
	if err != nil {
		return im.callFailed(r, err, sent, false)
	}
	im.transient = 0
	im.set.add(*c, im.region)
	im.touched[id] = r.line
	im.rep.updated++
	return im.record(r, outUpdated, id, false)
}

// callFailed sorts a failed create or update: an interruption before
// sending ends the import cleanly, a bad key ends it, a refused row is
// reported, and no answer leaves a create uncertain for the rerun to check.
func (im *importer) callFailed(r *customerRow, err error, sent, create bool) error {
	var stop *errStop
	switch {
	case errors.As(err, &stop):
		return errors.Join(im.record(r, outInterrupted, "", false), err)
	case !sent && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return errors.Join(im.record(r, outInterrupted, "", false), err)
	case errors.Is(err, whatalo.ErrUnauthorized):
		return errors.Join(im.record(r, outInterrupted, "", false), &errStop{fmt.Errorf("the API key was refused by Whatalo: %w", err)})
	case errors.Is(err, whatalo.ErrForbidden):
		return errors.Join(im.record(r, outInterrupted, "", false), &errStop{fmt.Errorf("the API key may not write customers (scope write:customers): %w", err)})
	}
	var we *whatalo.Error
	if errors.As(err, &we) && we.StatusCode < 500 {
		im.transient = 0
		im.rep.refused++
		return im.fail(r, outFailed, refusal(we), false)
	}
	im.transient++
	im.rep.unsure++
	reason := "no answer from Whatalo: " + err.Error()
	if create {
		reason += " (it may have been created; running the import again checks the store before creating it)"
	}
	if ferr := im.fail(r, outFailed, reason, create && sent); ferr != nil {
		return ferr
	}
	if im.transient >= maxTransientFails {
		return &errStop{fmt.Errorf("%d rows in a row got no answer from Whatalo, last: %w", im.transient, err)}
	}
	return nil
}

// refusal words a 4xx for the failures file, with the fields at fault.
func refusal(e *whatalo.Error) string {
	msg := fmt.Sprintf("Whatalo refused it (%d", e.StatusCode)
	if e.Code != "" {
		msg += " " + e.Code
	}
	msg += ")"
	if e.Message != "" {
		msg += ": " + e.Message
	}
	var fields []string
	for _, fe := range e.FieldErrors() {
		fields = append(fields, fe.Field+": "+fe.Message)
	}
	if len(fields) > 0 {
		msg += " (" + strings.Join(fields, "; ") + ")"
	}
	return msg
}

func (im *importer) printReport(w io.Writer, csvPath, journalPath, failuresPath string, stopped bool) {
	rp := im.rep
	verb := "Imported"
	switch {
	case im.dryRun:
		verb = "Dry run (nothing was written to Whatalo) of"
	case stopped:
		verb = "Stopped early (the rest can be resumed): imported"
	}
	region := im.region
	if region == "" {
		region = "none"
	}
	fmt.Fprintf(w, "%s %s into store %s (region %s): %d rows\n", verb, csvPath, im.store.Name, region, rp.rows)
	would := ""
	if im.dryRun {
		would = "would be "
	}
	fmt.Fprintf(w, "  %screated  %d\n", would, rp.created)
	fmt.Fprintf(w, "  %supdated  %d\n", would, rp.updated)
	skipped := 0
	var parts []string
	for _, reason := range []string{skipExists, skipDuplicate, skipUnchanged, skipEarlier} {
		if n := rp.skipped[reason]; n > 0 {
			skipped += n
			parts = append(parts, fmt.Sprintf("%d %s", n, reason))
		}
	}
	fmt.Fprintf(w, "  skipped  %d%s\n", skipped, detail(parts))
	parts = parts[:0]
	for _, p := range []struct {
		n    int
		what string
	}{{rp.invalid, "invalid"}, {rp.refused, "refused by Whatalo"}, {rp.unsure, "not answered"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	fmt.Fprintf(w, "  failed   %d%s\n", len(rp.failures), detail(parts))
	switch {
	case len(rp.failures) > 0 && im.dryRun:
		fmt.Fprintln(w, "Rows that would fail:")
		for i, f := range rp.failures {
			if i == maxListedFailures {
				fmt.Fprintf(w, "  … and %d more\n", len(rp.failures)-i)
				break
			}
			fmt.Fprintf(w, "  line %d: %s\n", f.row.line, f.reason)
		}
	case len(rp.failures) > 0:
		fmt.Fprintf(w, "Failed rows and reasons: %s\n", failuresPath)
	}
	if !im.dryRun {
		fmt.Fprintf(w, "Journal: %s (a rerun skips the rows it lists as done)\n", journalPath)
	}
}

func detail(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// customerSet indexes the store's customers by phone key, lowercase email
// and exact name.
type customerSet struct {
	byID   map[string]whatalo.Customer
	phones map[string][]string
	emails map[string][]string
	names  map[string][]string

	// normalizer reads the phones whose keys phones holds.
	normalizer *phone.Normalizer
}

func newCustomerSet(phones *phone.Normalizer) *customerSet {
	return &customerSet{
		byID:   map[string]whatalo.Customer{},
		phones: map[string][]string{},
		emails: map[string][]string{},
		names:  map[string][]string{},

		normalizer: phones,
	}
}

// add indexes c, replacing what was indexed for its ID before.
func (s *customerSet) add(c whatalo.Customer, region string) {
	if old, ok := s.byID[c.ID]; ok {
		s.unindex(old, region)
	}
	s.byID[c.ID] = c
	if k := s.normalizer.KeyOf(c.Phone, region); k != "" {
		s.phones[k] = append(s.phones[k], c.ID)
	}
	if e := strings.ToLower(strings.TrimSpace(c.Email)); e != "" {
		s.emails[e] = append(s.emails[e], c.ID)
	}
	if n := strings.TrimSpace(c.Name); n != "" {
		s.names[n] = append(s.names[n], c.ID)
	}
}

func (s *customerSet) unindex(c whatalo.Customer, region string) {
	drop := func(m map[string][]string, k string) {
		if k == "" {
			return
		}
		m[k] = slices.DeleteFunc(m[k], func(id string) bool { return id == c.ID })
		if len(m[k]) == 0 {
			delete(m, k)
		}
	}
	drop(s.phones, s.normalizer.KeyOf(c.Phone, region))
	drop(s.emails, strings.ToLower(strings.TrimSpace(c.Email)))
	drop(s.names, strings.TrimSpace(c.Name))
}

// match returns the IDs of customers sharing d's phone or email, phone
// matches first.
func (s *customerSet) match(d rowData) []string {
	var ids []string
	for _, id := range append(slices.Clone(s.phones[d.phoneKey]), s.emails[d.emailKey]...) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}
