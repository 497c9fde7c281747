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
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "whatalo-wazion:", err)
		os.Exit(1)
	}
}
