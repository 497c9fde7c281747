package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// selectStoreConfig loads the configuration and picks the store named
// name (the first when empty).
func selectStoreConfig(configPath, name string, getenv func(string) string) (*config.Config, config.Store, error) {
	cfg, err := loadConfig(configPath, getenv)
	if err != nil {
		return nil, config.Store{}, err
	}
	if name == "" {
		return cfg, cfg.Stores[0], nil
	}
	names := make([]string, 0, len(cfg.Stores))
	for _, s := range cfg.Stores {
		if s.Name == name {
			return cfg, s, nil
		}
		names = append(names, s.Name)
	}
	return nil, config.Store{}, fmt.Errorf("--store %s: no such store in %s (stores: %s)", name, cfg.Source, strings.Join(names, ", "))
}

// storeRateLimit is the requests per minute the service allows itself on
// sc's key: its rate_limit, else 90 % of the key's published limit.
func storeRateLimit(sc config.Store) int {
	if sc.RateLimit > 0 {
		return sc.RateLimit
	}
	return whatalo.DefaultRateLimit(sc.APIKey.Value())
}

// newStoreClient returns a client for sc with its own limiter of perMinute
// requests (0: the store's rate_limit, else 90 % of the key's published
// limit). hc may be nil.
func newStoreClient(sc config.Store, perMinute int, share float64, hc *http.Client) (*whatalo.Client, error) {
	key := sc.APIKey.Value()
	if perMinute <= 0 {
		perMinute = storeRateLimit(sc)
	}
	opts := []whatalo.Option{
		whatalo.WithBaseURL(sc.BaseURL),
		whatalo.WithLimiter(whatalo.NewLimiter(perMinute, share)),
	}
	if hc != nil {
		opts = append(opts, whatalo.WithHTTPClient(hc))
	}
	c, err := whatalo.NewClient(key, opts...)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", sc.Name, err)
	}
	return c, nil
}

// parseFlagsAndArgs parses flags placed before, between or after the
// positional arguments ("import customers.csv --dry-run"), which the flag
// package alone stops at. help reports -h, whose usage was already printed.
func parseFlagsAndArgs(fs *flag.FlagSet, args []string) (positional []string, help bool, err error) {
	expectHelp(fs, args)
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, true, nil
			}
			return nil, false, fmt.Errorf("%s: %w", fs.Name(), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, false, nil
		}
		// After "--" everything is positional.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), false, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
