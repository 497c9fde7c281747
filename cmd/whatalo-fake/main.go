// Command whatalo-fake serves the fake Whatalo REST API of package
// whatalotest over HTTP, for demos, manual testing and load tests: the
// embedded demo store, a seed file, or a generated store of any size.
// It knows nothing about WAzion or the service.
//
// Usage:
//
//	whatalo-fake [--listen 127.0.0.1:8090] [--seed FILE | --generate N [--rand-seed 1]]
//	             [--api-key KEY]... [--rate-limit N] [--window 1m] [--latency 0s]
//
// WHATALO_FAKE_LISTEN and WHATALO_FAKE_API_KEYS (comma-separated) set the
// defaults of --listen and --api-key.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "whatalo-fake: %v\n", err)
		os.Exit(1)
	}
}

// options are the parsed command line.
type options struct {
	listen    string
	seedFile  string
	generate  int
	randSeed  int64
	apiKeys   []string
	rateLimit int
	window    time.Duration
	latency   time.Duration
}

// keyList is a repeatable --api-key flag.
type keyList []string

func (k *keyList) String() string { return strings.Join(*k, ",") }

func (k *keyList) Set(v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return errors.New("empty key")
	}
	*k = append(*k, v)
	return nil
}

func parseArgs(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	var keys keyList
	name := "whatalo-fake"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := getenv("WHATALO_FAKE_LISTEN")
	if listen == "" {
		listen = "127.0.0.1:8090"
	}
	fs.StringVar(&o.listen, "listen", listen, "address to listen on (host:port; port 0 picks a free one)")
	fs.StringVar(&o.seedFile, "seed", "", "seed JSON file (default: the embedded demo store)")
	fs.IntVar(&o.generate, "generate", 0, "serve a generated store with `N` customers instead of a seed")
	fs.Int64Var(&o.randSeed, "rand-seed", 1, "random seed for --generate")
	fs.Var(&keys, "api-key", "accepted API `KEY` (repeatable; default "+whatalotest.DefaultAPIKey+")")
	fs.IntVar(&o.rateLimit, "rate-limit", 0, "requests per key per window (default: 1000 for wk_live_ keys, 100 for others)")
	fs.DurationVar(&o.window, "window", time.Minute, "rate-limit window")
	fs.DurationVar(&o.latency, "latency", 0, "latency added to every /v1 response")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.generate < 0:
		return o, fmt.Errorf("--generate %d: want a number of customers >= 0", o.generate)
	case o.generate > 0 && o.seedFile != "":
		return o, errors.New("--seed and --generate: choose one")
	case o.rateLimit < 0:
		return o, fmt.Errorf("--rate-limit %d: want >= 0", o.rateLimit)
	case o.window <= 0:
		return o, fmt.Errorf("--window %s: want > 0", o.window)
	case o.latency < 0:
		return o, fmt.Errorf("--latency %s: want >= 0", o.latency)
	}
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		return o, fmt.Errorf("--listen %q: %w", o.listen, err)
	}
	o.apiKeys = keys
	if len(o.apiKeys) == 0 {
		for _, k := range strings.Split(getenv("WHATALO_FAKE_API_KEYS"), ",") {
			if k = strings.TrimSpace(k); k != "" {
				o.apiKeys = append(o.apiKeys, k)
			}
		}
	}
	if len(o.apiKeys) == 0 {
		o.apiKeys = []string{whatalotest.DefaultAPIKey}
	}
	return o, nil
}

func loadSeed(o options) (*whatalotest.Seed, error) {
	switch {
	case o.generate > 0:
		return whatalotest.Generate(o.generate, o.randSeed), nil
	case o.seedFile != "":
		data, err := os.ReadFile(o.seedFile)
		if err != nil {
			return nil, fmt.Errorf("--seed: %w", err)
		}
		s, err := whatalotest.LoadSeed(data, time.Now())
		if err != nil {
			return nil, fmt.Errorf("--seed %s: %w", o.seedFile, err)
		}
		return s, nil
	}
	return whatalotest.DemoSeed(), nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseArgs(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if getenv("GOGC") == "" {
		// A generated store is large and long-lived, and requests make
		// little garbage: a lower heap goal keeps 100k customers near 200 MB.
		debug.SetGCPercent(50)
	}
	seed, err := loadSeed(o)
	if err != nil {
		return err
	}
	opts := []whatalotest.Option{
		whatalotest.WithAPIKeys(o.apiKeys...),
		whatalotest.WithWindow(o.window),
		whatalotest.WithLatency(o.latency),
	}
	if o.rateLimit > 0 {
		opts = append(opts, whatalotest.WithRateLimit(o.rateLimit))
	}
	fake := whatalotest.New(seed, opts...)
	storeName, customers, orders, products := seed.Store.Name, len(seed.Customers), len(seed.Orders), len(seed.Products)
	seed = nil
	// Building a large store leaves garbage several times the size of the
	// data; hand it back before serving.
	debug.FreeOSMemory()

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	root := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "whatalo-fake: %s (%d customers, %d orders, %d products)\n", storeName, customers, orders, products)
	fmt.Fprintf(stdout, "API base URL: %s/v1\n", root)
	fmt.Fprintf(stdout, "API keys:     %s\n", strings.Join(o.apiKeys, " "))
	if o.rateLimit > 0 {
		fmt.Fprintf(stdout, "Rate limit:   %d requests per %s per key\n", o.rateLimit, o.window)
	} else {
		fmt.Fprintf(stdout, "Rate limit:   1000 (wk_live_) or 100 (other keys) requests per %s per key\n", o.window)
	}
	fmt.Fprintf(stdout, "Control:      %s/_fake/stats, /_fake/faults, /_fake/reset, /_fake/emit\n", root)

	select {
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", o.listen, err)
	case <-ctx.Done():
	}
	fake.Close() // hung requests would otherwise hold up Shutdown
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	fmt.Fprintln(stdout, "whatalo-fake: stopped")
	return nil
}
