package main

import (
	"fmt"
	"log/slog"
	"reflect"

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// maxLoggedNames bounds the store names a reload's log line lists per
// kind of change; the counts are always whole.
const maxLoggedNames = 50

// reloadSummary is what a reload changed, by store name.
type reloadSummary struct {
	added, removed, changed []string
	kept                    int
}

// Reload makes the service serve the stores of cfg without a restart:
// stores it adds start through the startup queue, stores it removes stop
// (their tokens are refused from the next request on and their series
// leave /metrics), stores whose entry or whose cache, index or per-token
// settings changed are built again and the old ones closed, and the
// others keep their Backend, cache, index, limiter and recent answers as
// they are. Requests already running finish on the stores they began
// with. Settings read only at start (listen address, TLS, log level, the
// server limits, Redis, the console, metrics) are logged as needing a
// restart and left as they are. On an error nothing changes.
func (s *service) Reload(cfg *config.Config) (reloadSummary, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	for _, name := range restartSettings(s.cfg, cfg) {
		s.log.Warn("reload: this setting needs a restart; the running value is kept", "setting", name)
	}
	prev := s.stores.Load()
	var sum reloadSummary
	next := make(map[string]bool, len(cfg.Stores))
	for _, sc := range cfg.Stores {
		next[sc.Name] = true
		switch {
		case prev.units[sc.Name] == nil:
			sum.added = append(sum.added, sc.Name)
		case prev.unitIfSame(sc.Name, defOf(cfg, sc)) == nil:
			sum.changed = append(sum.changed, sc.Name)
		default:
			sum.kept++
		}
	}
	for _, name := range prev.names {
		if !next[name] {
			sum.removed = append(sum.removed, name)
		}
	}
	if s.sharing != nil && (len(sum.added)+len(sum.removed)+len(sum.changed) > 0) {
		// The stores' shared limiters, bus and index leases are set up
		// once with the connection to Redis.
		s.log.Warn("reload: with redis, changes to the stores need a restart; the running stores are kept",
			"added", len(sum.added), "removed", len(sum.removed), "changed", len(sum.changed))
		return reloadSummary{kept: len(prev.names)}, nil
	}
	set, err := s.buildSet(cfg, prev)
	if err != nil {
		return reloadSummary{}, fmt.Errorf("reload: %w", err)
	}
	s.wazion.SetTenants(set.tenants)
	s.stores.Store(set)

	// From here on no request finds the old units; close them, the
	// removed stores' series with them.
	var started []string
	for _, name := range set.names {
		if prev.units[name] != set.units[name] {
			started = append(started, name)
		}
	}
	for _, name := range prev.names {
		if old := prev.units[name]; set.units[name] != old {
			old.close()
		}
	}
	for _, name := range sum.removed {
		s.metrics.forgetStore(name)
	}
	s.dropUnusedLimiters(set)
	s.enqueue(set, started)
	if s.cfg.Console.Enabled && len(sum.added)+len(sum.removed) > 0 {
		s.log.Warn("reload: the console's sign-in list of stores is the one it started with until a restart")
	}
	s.log.Info("reload: configuration applied",
		"added", len(sum.added), "removed", len(sum.removed), "changed", len(sum.changed), "kept", sum.kept,
		slog.Group("stores", "added", firstNames(sum.added), "removed", firstNames(sum.removed), "changed", firstNames(sum.changed)))
	return sum, nil
}

// reloadFrom reads the configuration with load and applies it; a file that
// does not load, or stores that cannot be built, change nothing and are
// logged with the reason (the configuration errors name the line and
// field).
func (s *service) reloadFrom(load func() (*config.Config, error)) {
	cfg, err := load()
	if err == nil {
		_, err = s.Reload(cfg)
	}
	if err != nil {
		s.log.Error("reload: configuration not applied; the running one is kept", "err", err)
	}
}

// dropUnusedLimiters forgets the limiters no store of set uses, so that a
// store added later with the key starts from a fresh budget only when no
// store kept it.
func (s *service) dropUnusedLimiters(set *storeSet) {
	used := make(map[*whatalo.Limiter]bool, len(set.units))
	for _, u := range set.units {
		used[u.limiter] = true
	}
	for k, lim := range s.limiters {
		if !used[lim] {
			delete(s.limiters, k)
		}
	}
}

// firstNames is names cut to maxLoggedNames, for a log line.
func firstNames(names []string) []string {
	if len(names) > maxLoggedNames {
		return append(names[:maxLoggedNames:maxLoggedNames], fmt.Sprintf("… %d more", len(names)-maxLoggedNames))
	}
	return names
}

// restartSettings names the settings that differ between the running
// configuration and cfg but are read only at start.
func restartSettings(running, cfg *config.Config) []string {
	var out []string
	diff := func(name string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			out = append(out, name)
		}
	}
	diff("listen", running.Listen, cfg.Listen)
	diff("tls_cert_file", running.TLSCertFile, cfg.TLSCertFile)
	diff("tls_key_file", running.TLSKeyFile, cfg.TLSKeyFile)
	diff("log_level", running.LogLevel, cfg.LogLevel)
	// The per-token settings are the stores' and reload with them.
	rs, cs := running.Server, cfg.Server
	rs.TokenRate, rs.TokenBurst, rs.AnswerTTL = cs.TokenRate, cs.TokenBurst, cs.AnswerTTL
	diff("server", rs, cs)
	diff("redis", running.Redis, cfg.Redis)
	diff("console", running.Console, cfg.Console)
	diff("metrics", running.Metrics, cfg.Metrics)
	diff("index.startup_concurrency", running.Index.StartupConcurrency, cfg.Index.StartupConcurrency)
	return out
}
