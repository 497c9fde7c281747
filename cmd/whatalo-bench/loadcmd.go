package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// loadCommand is the hidden subcommand that runs one vegeta round in a
// process of its own, so that the bench's runtime (its scrapes, its
// result pools) stays out of the measured rounds, and prints a
// loadSummary as JSON.
const loadCommand = "load"

// loadSummary is what a load subprocess reports of its round.
type loadSummary struct {
	Requests  int   `json:"requests"`
	OK        int   `json:"ok"`
	WrongBody int   `json:"wrong_body"`
	BadStatus int   `json:"bad_status"`
	Transport int   `json:"transport"`
	ElapsedNS int64 `json:"elapsed_ns"`
	P50NS     int64 `json:"p50_ns"`
	P99NS     int64 `json:"p99_ns"`
	MaxNS     int64 `json:"max_ns"`
	// LatenciesUS is every answer's latency in microseconds, with
	// --latencies: rounds pool them for percentiles of all their answers.
	LatenciesUS []uint32 `json:"latencies_us,omitempty"`
}

func (s loadSummary) result() roundResult {
	return roundResult{requests: s.Requests, ok: s.OK, wrongBody: s.WrongBody, badStatus: s.BadStatus, errors: s.Transport,
		elapsed: time.Duration(s.ElapsedNS), p50: time.Duration(s.P50NS), p99: time.Duration(s.P99NS), max: time.Duration(s.MaxNS),
		latencies: s.LatenciesUS}
}

// runLoad is the load subcommand: one bounded vegeta run against --url,
// closed loop of --workers connections or open loop at --rate, checking
// every body against the --expect file when given.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(loadCommand, stderr)
	u := fs.String("url", "", "URL to GET, with the bench's token")
	d := fs.Duration("duration", 2*time.Second, "length of the round")
	workers := fs.Int("workers", 64, "connections of a closed loop")
	rate := fs.Int("rate", 0, "requests per second (0: closed loop)")
	expect := fs.String("expect", "", "file holding the body every answer must have")
	latencies := fs.Bool("latencies", false, "also report every answer's latency, in microseconds")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !strings.HasPrefix(*u, "http://127.") {
		return fmt.Errorf("load: --url %q: only loopback addresses", *u)
	}
	if *d <= 0 || *d > time.Minute {
		return fmt.Errorf("load: --duration %s: want > 0 and <= 1m", *d)
	}
	spec := loadSpec{name: loadCommand, targeter: staticTargeter(*u), rate: *rate, workers: *workers, duration: *d}
	if *expect != "" {
		want, err := os.ReadFile(*expect)
		if err != nil {
			return fmt.Errorf("load: read --expect: %w", err)
		}
		spec.classify = bodyOutcome(want)
	}
	spec.latencies = *latencies
	out, err := json.Marshal(summaryOf(attack(ctx, spec)))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}

// bodyOutcome names an answer "ok" when its body is want, "wrong_body"
// otherwise.
func bodyOutcome(want []byte) func(*vegeta.Result) string {
	return func(r *vegeta.Result) string {
		if bytes.Equal(r.Body, want) {
			return "ok"
		}
		return "wrong_body"
	}
}

// summaryOf is the summary of one attack.
func summaryOf(res loadResult) loadSummary {
	s := loadSummary{Requests: int(res.metrics.Requests), OK: res.ok, WrongBody: res.outcomes["wrong_body"],
		Transport: res.outcomes["transport"], ElapsedNS: int64(res.metrics.Duration + res.metrics.Wait),
		P50NS: int64(res.metrics.Latencies.P50), P99NS: int64(res.metrics.Latencies.P99), MaxNS: int64(res.metrics.Latencies.Max),
		LatenciesUS: res.latencies}
	for k, n := range res.outcomes {
		if strings.HasPrefix(k, "http_") {
			s.BadStatus += n
		}
	}
	return s
}
