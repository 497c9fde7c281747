package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/config"
)

// Outcomes of a row, as the journal records them.
const (
	outCreated     = "created"
	outUpdated     = "updated"
	outExists      = "exists"      // skipped: phone or email already in the store
	outDuplicate   = "duplicate"   // skipped: an earlier row of the file made or updated that customer
	outUnchanged   = "unchanged"   // --update found nothing to change
	outInvalid     = "invalid"     // not sent: the row itself is wrong
	outFailed      = "failed"      // Whatalo refused it or did not answer
	outPending     = "pending"     // a create is about to be sent
	outInterrupted = "interrupted" // stopped before anything was sent
)

// journalEntry is one line of the journal.
type journalEntry struct {
	Line    int    `json:"line"`
	Key     string `json:"key"`
	Outcome string `json:"outcome"`
	ID      string `json:"id,omitempty"`
	// Uncertain marks a failed create that Whatalo may still have carried
	// out (a 5xx or a lost connection after the request was sent).
	Uncertain bool      `json:"uncertain,omitempty"`
	At        time.Time `json:"at"`
}

// final reports whether a rerun may skip the row. Failures are retried;
// rows skipped as existing are looked at again when a rerun asks to update.
func (e journalEntry) final(update bool) bool {
	switch e.Outcome {
	case outCreated, outUpdated, outDuplicate, outUnchanged:
		return true
	case outExists:
		return !update
	}
	return false
}

// uncertain reports whether a create may have happened without the journal
// hearing back: the process died after "pending", or the answer was lost.
func (e journalEntry) uncertain() bool {
	return e.Outcome == outPending || e.Outcome == outFailed && e.Uncertain
}

// journalHeader is the first line, tying the journal to one store so it is
// not replayed against another.
type journalHeader struct {
	Journal string `json:"journal"`
	Version int    `json:"version"`
	Store   string `json:"store"`
	BaseURL string `json:"base_url"`
}

const journalKind = "whatalo-wazion import"

// knownCustomer is what the journal remembers of a customer the import
// read from the store: enough to match rows by phone, email or name.
type knownCustomer struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

// journalLine is any line after the header: a row's outcome (Key set), a
// customer read from the store, or the mark of a finished read.
type journalLine struct {
	journalEntry
	Customer *knownCustomer `json:"customer,omitempty"`
	// ReadThrough marks a read of the store's customers that finished: every
	// customer updated before it is among the customer lines above it, so a
	// rerun reads only those updated since.
	ReadThrough *time.Time `json:"read_through,omitempty"`
}

// journal is an append-only log of finished rows and of the customers read
// from the store, synced line by line so a crash loses at most the row in
// flight, which the import then recognises in the store.
type journal struct {
	path  string
	f     *os.File // nil when read-only (dry run)
	state map[string]journalEntry
	// customers and readThrough are what earlier runs read of the store;
	// readThrough is zero until a read finished.
	customers   map[string]knownCustomer
	readThrough time.Time
}

// openJournal reads the journal at path, if any, and opens it for appending
// unless readOnly.
func openJournal(path string, sc config.Store, readOnly bool) (*journal, error) {
	j := &journal{path: path, state: map[string]journalEntry{}, customers: map[string]knownCustomer{}}
	want := journalHeader{Journal: journalKind, Version: 1, Store: sc.Name, BaseURL: sc.BaseURL}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data = nil
	case err != nil:
		return nil, fmt.Errorf("read journal: %w", err)
	}
	if len(data) > 0 {
		if err := j.load(data, want); err != nil {
			return nil, fmt.Errorf("journal %s: %w", path, err)
		}
	}
	if readOnly {
		return j, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	j.f = f
	switch {
	case len(data) == 0:
		err = j.writeLine(want)
	case data[len(data)-1] != '\n':
		// A crash cut the last line; start the next one cleanly.
		_, err = f.Write([]byte("\n"))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("write journal %s: %w", path, err)
	}
	return j, nil
}

func (j *journal) load(data []byte, want journalHeader) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	if !sc.Scan() {
		return errors.New("empty first line")
	}
	var h journalHeader
	if json.Unmarshal(sc.Bytes(), &h) != nil || h.Journal != journalKind {
		return errors.New("not an import journal; pass another --journal path")
	}
	if h.Version != want.Version {
		return fmt.Errorf("journal version %d, want %d", h.Version, want.Version)
	}
	if h.Store != want.Store || h.BaseURL != want.BaseURL {
		return fmt.Errorf("written for store %s at %s, not store %s at %s; pass another --journal path or delete it",
			h.Store, h.BaseURL, want.Store, want.BaseURL)
	}
	for sc.Scan() {
		var l journalLine
		if len(bytes.TrimSpace(sc.Bytes())) == 0 || json.Unmarshal(sc.Bytes(), &l) != nil {
			continue // a line cut short by a crash
		}
		switch {
		case l.Key != "":
			j.state[l.Key] = l.journalEntry
		case l.Customer != nil && l.Customer.ID != "":
			j.customers[l.Customer.ID] = *l.Customer
		case l.ReadThrough != nil:
			j.readThrough = *l.ReadThrough
		}
	}
	return sc.Err()
}

// rememberCustomer appends what a read learnt of c. In a dry run it only
// remembers.
func (j *journal) rememberCustomer(c knownCustomer) error {
	j.customers[c.ID] = c
	if j.f == nil {
		return nil
	}
	if err := j.writeLine(struct {
		Customer knownCustomer `json:"customer"`
	}{c}); err != nil {
		return fmt.Errorf("write journal %s: %w", j.path, err)
	}
	return nil
}

// finishRead marks that every customer updated before t has been read.
func (j *journal) finishRead(t time.Time) error {
	j.readThrough = t
	if j.f == nil {
		return nil
	}
	t = t.UTC()
	if err := j.writeLine(struct {
		ReadThrough time.Time `json:"read_through"`
	}{t}); err != nil {
		return fmt.Errorf("write journal %s: %w", j.path, err)
	}
	return nil
}

// lookup returns the last outcome recorded for key.
func (j *journal) lookup(key string) (journalEntry, bool) {
	e, ok := j.state[key]
	return e, ok
}

// record appends e and syncs it to disk. In a dry run it only remembers.
func (j *journal) record(e journalEntry) error {
	e.At = time.Now().UTC().Truncate(time.Millisecond)
	j.state[e.Key] = e
	if j.f == nil {
		return nil
	}
	if err := j.writeLine(e); err != nil {
		return fmt.Errorf("write journal %s: %w", j.path, err)
	}
	return nil
}

func (j *journal) writeLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return err
	}
	return j.f.Sync()
}

// Close closes the file.
func (j *journal) Close() error {
	if j.f == nil {
		return nil
	}
	return j.f.Close()
}
