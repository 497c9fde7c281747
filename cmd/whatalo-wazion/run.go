package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

const usage = `whatalo-wazion connects a Whatalo store to WAzion's CRM endpoints.

Usage:
  whatalo-wazion [serve] [--config FILE]   run the service (default)
  whatalo-wazion demo                      run it offline on the embedded demo store
  whatalo-wazion check [--json]            validate config and probe each store's key and scopes
  whatalo-wazion wazion-settings --public-url URL   what to enter in WAzion's CRM settings
  whatalo-wazion selftest --public-url URL          call the public URLs the way WAzion does
  whatalo-wazion import customers.csv      bulk-create customers within the rate limit
  whatalo-wazion webhooks register|list|delete   manage the Whatalo webhook subscriptions
  whatalo-wazion healthcheck [--config FILE]  probe /healthz of a running service (for containers)
  whatalo-wazion version                   print the version

Without --config, one store is configured from the environment
(WHATALO_API_KEY, WAZION_TOKEN, ...); see the README. Each command's -h
says what it does, its flags, the environment it reads and an example.
`

// errHelp is returned by parseFlags when -h or --help was asked for: the
// usage is printed and the command ends successfully without running.
var errHelp = errors.New("help requested")

// run is the whole program, so tests can run it as a user would.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := "serve", []string{}
	if len(args) > 1 {
		rest = args[1:]
		if !strings.HasPrefix(args[1], "-") {
			cmd, rest = args[1], args[2:]
		}
	}
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, getenv, stdout, stderr)
	case "check":
		return runCheck(ctx, rest, getenv, stdout, stderr)
	case "wazion-settings":
		return runWazionSettings(ctx, rest, getenv, stdout, stderr)
	case "selftest":
		return runSelftest(ctx, rest, getenv, stdout, stderr)
	case "import":
		return runImport(ctx, rest, getenv, stdout, stderr)
	case "webhooks":
		return runWebhooks(ctx, rest, getenv, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, rest, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "whatalo-wazion", whatalo.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	expectHelp(fs, args)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}
