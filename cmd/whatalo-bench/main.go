package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "whatalo-bench: %v\n", err)
		os.Exit(1)
	}
}

// options are the parsed command line.
type options struct {
	duration      time.Duration // each closed-loop and fixed-rate run, per target
	zipfDuration  time.Duration // the cached Zipf run
	naiveDuration time.Duration // the naive Zipf run
	quick         bool
	out           string
	customers     int           // generated customers for scenarios 1-4
	bigCustomers  int           // generated customers for scenario 5
	latency       time.Duration // fake Whatalo latency, scenarios 1-4
	bigLatency    time.Duration // fake Whatalo latency while indexing for scenario 5
	concurrency   int           // connections of the closed-loop run
	fixedRate     int           // requests per second of scenario 2
	zipfRate      int           // requests per second of scenario 3
	zipfS         float64       // Zipf exponent
	searches      int           // distinct globalSearch queries of scenario 4
	replicaPhones int           // distinct phones sent to each replica in scenario 6
	randSeed      int64
	scenarios     map[int]bool
	generator     string // genAuto, genWrk or genVegeta
	stores        []int  // store counts of the many-stores runs; none: skipped
	keep          bool   // keep the work directory (logs, configs)
	workDir       string // "" = a new temporary directory
}

func parseArgs(args []string, stderr io.Writer) (options, error) {
	o := options{scenarios: map[int]bool{}}
	name := "whatalo-bench"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	fs := newFlagSet(name, stderr)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each closed-loop and fixed-rate run, per target")
	fs.DurationVar(&o.zipfDuration, "zipf-duration", 10*time.Minute, "length of the cached Zipf run")
	fs.DurationVar(&o.naiveDuration, "naive-duration", 2*time.Minute, "length of the naive Zipf run (0: as --zipf-duration)")
	fs.BoolVar(&o.quick, "quick", false, "short CI-like run: --duration 2s, --zipf-duration 6s, fewer searches and replica phones, no fake latency while indexing 100k, --stores 1000")
	fs.StringVar(&o.out, "out", "", "also write the markdown report to `FILE`")
	fs.IntVar(&o.customers, "customers", 5000, "generated customers for scenarios 1-4")
	fs.IntVar(&o.bigCustomers, "big-customers", 100000, "generated customers for the memory scenario")
	fs.DurationVar(&o.latency, "latency", 80*time.Millisecond, "latency the fake Whatalo adds to every API response")
	fs.DurationVar(&o.bigLatency, "big-latency", -1, "fake latency in the memory scenario (default: --latency; 0 with --quick)")
	fs.IntVar(&o.concurrency, "concurrency", 64, "connections of the closed-loop runs")
	fs.IntVar(&o.fixedRate, "rate", 2000, "requests per second of the fixed-rate run")
	fs.IntVar(&o.zipfRate, "zipf-rate", 200, "requests per second of the Zipf runs")
	fs.Float64Var(&o.zipfS, "zipf-s", 1.1, "Zipf exponent (> 1)")
	fs.IntVar(&o.searches, "searches", 30, "distinct globalSearch queries")
	fs.IntVar(&o.replicaPhones, "replica-phones", 300, "distinct phones sent to each replica in the several-replicas scenario")
	fs.Int64Var(&o.randSeed, "rand-seed", 1, "seed of the generated stores and of the workloads")
	only := fs.String("only", "1,2,3,4,5,6", "scenarios to run, comma-separated")
	fs.StringVar(&o.generator, "generator", genAuto, "load generator of the closed-loop rounds: auto (wrk when installed, else vegeta), wrk or vegeta")
	stores := fs.String("stores", "200,1000", "store counts of the many-stores runs of scenario 5, comma-separated (\"0\": none)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (binaries, configs, logs)")
	fs.StringVar(&o.workDir, "work-dir", "", "work directory (default: a new temporary directory)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.naiveDuration == 0 {
		o.naiveDuration = o.zipfDuration
	}
	if o.quick {
		if !set["duration"] {
			o.duration = 2 * time.Second
		}
		if !set["zipf-duration"] {
			o.zipfDuration = 6 * time.Second
		}
		if !set["naive-duration"] {
			o.naiveDuration = 6 * time.Second
		}
		if !set["searches"] {
			o.searches = 10
		}
		if !set["big-latency"] {
			o.bigLatency = 0
		}
		if !set["replica-phones"] {
			o.replicaPhones = 100
		}
		if !set["stores"] {
			*stores = strconv.Itoa(targetStoresAtCount)
		}
	}
	if o.bigLatency < 0 {
		o.bigLatency = o.latency
	}
	for _, s := range strings.Split(*only, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 6 {
			return o, fmt.Errorf("--only %q: want scenario numbers 1 to 6", *only)
		}
		o.scenarios[n] = true
	}
	for _, s := range strings.Split(*stores, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || n > maxStores {
			return o, fmt.Errorf("--stores %q: want store counts from 1 to %d, or 0", *stores, maxStores)
		}
		if n > 0 {
			o.stores = append(o.stores, n)
		}
	}
	switch {
	case o.generator != genAuto && o.generator != genWrk && o.generator != genVegeta:
		return o, fmt.Errorf("--generator %q: want auto, wrk or vegeta", o.generator)
	case o.duration <= 0 || o.duration > 10*time.Minute:
		return o, fmt.Errorf("--duration %s: want > 0 and <= 10m", o.duration)
	case o.zipfDuration <= 0 || o.zipfDuration > 30*time.Minute:
		return o, fmt.Errorf("--zipf-duration %s: want > 0 and <= 30m", o.zipfDuration)
	case o.naiveDuration < 0 || o.naiveDuration > 30*time.Minute:
		return o, fmt.Errorf("--naive-duration %s: want 0 to 30m", o.naiveDuration)
	case o.customers < 100:
		return o, fmt.Errorf("--customers %d: want >= 100", o.customers)
	case o.bigCustomers < 100:
		return o, fmt.Errorf("--big-customers %d: want >= 100", o.bigCustomers)
	case o.latency < 0:
		return o, fmt.Errorf("--latency %s: want >= 0", o.latency)
	case o.concurrency < 1 || o.concurrency > 4096:
		return o, fmt.Errorf("--concurrency %d: want 1 to 4096", o.concurrency)
	case o.fixedRate < 1 || o.fixedRate > 100000:
		return o, fmt.Errorf("--rate %d: want 1 to 100000", o.fixedRate)
	case o.zipfRate < 1 || o.zipfRate > 100000:
		return o, fmt.Errorf("--zipf-rate %d: want 1 to 100000", o.zipfRate)
	case o.zipfS <= 1:
		return o, fmt.Errorf("--zipf-s %g: want > 1", o.zipfS)
	case o.searches < 1 || o.searches > 1000:
		return o, fmt.Errorf("--searches %d: want 1 to 1000", o.searches)
	case o.replicaPhones < 1 || o.replicaPhones > 10000:
		return o, fmt.Errorf("--replica-phones %d: want 1 to 10000", o.replicaPhones)
	}
	return o, nil
}

// run is the whole program, so tests can run it as a user would.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 1 && args[1] == bareCommand {
		return runBare(ctx, args[2:], stderr)
	}
	if len(args) > 1 && args[1] == loadCommand {
		return runLoad(ctx, args[2:], stdout, stderr)
	}
	o, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	b, err := newBench(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer b.close()
	rep, err := b.run(ctx)
	if rep != nil {
		text := rep.Markdown()
		fmt.Fprint(stdout, text)
		if o.out != "" {
			if werr := os.WriteFile(o.out, []byte(text), 0o644); werr != nil {
				err = errors.Join(err, fmt.Errorf("write --out: %w", werr))
			}
		}
	}
	return err
}

// newFlagSet returns a flag set that reports errors through run's error
// instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
