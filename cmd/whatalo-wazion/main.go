// Command whatalo-wazion serves WAzion's CRM endpoints from a Whatalo store.
//
// Subcommands: serve (default) runs the service from the environment or a
// YAML file; demo runs it offline against an embedded fake Whatalo holding the
// demo store; check probes each store's key and scopes; wazion-settings and
// selftest help set up and verify WAzion's side; import bulk-creates
// customers from CSV within the rate limit; webhooks registers the Whatalo
// webhook subscription.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// defaultGCPercent is the collector's target when GOGC is not set: the
// heap may grow by half its live size before a collection, not double.
// Building a phone index makes garbage at a high rate (parsing each
// customer's phone), and with Go's default the process's peak while
// indexing 100,000 customers was about 110 MB against 90 MB at 50; the
// request path allocates little, so the extra collections cost it next to
// nothing (docs/BENCHMARKS.md).
const defaultGCPercent = 50

// setGCDefault sets the collector's target to defaultGCPercent unless the
// environment sets GOGC, and reports whether it did.
func setGCDefault(lookupEnv func(string) (string, bool)) bool {
	if _, set := lookupEnv("GOGC"); set {
		return false
	}
	debug.SetGCPercent(defaultGCPercent)
	return true
}

func main() {
	setGCDefault(os.LookupEnv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "whatalo-wazion:", err)
		os.Exit(1)
	}
}
