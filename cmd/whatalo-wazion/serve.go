package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stdout, stderr)
	configPath := fs.String("config", getenv("WAZION_CONFIG"), "YAML file of stores (default: one store from the environment)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	// SIGHUP re-reads the configuration; registered before the service
	// listens, so that a SIGHUP once it does never ends the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return serveConfig(ctx, cfg, stdout, nil, &reloader{
		signals: hup,
		load:    func() (*config.Config, error) { return loadConfig(*configPath, getenv) },
	})
}

// reloader is where a serving service hears that it should reload its
// configuration, and how it reads it again.
type reloader struct {
	signals <-chan os.Signal
	load    func() (*config.Config, error)
}

// serveConfig builds the service from cfg, logging to logOut, listens on
// cfg.Listen, calls listening (when set) with the bound address, and serves
// until ctx ends, reloading the configuration when reload (if not nil)
// says so.
func serveConfig(ctx context.Context, cfg *config.Config, logOut io.Writer, listening func(net.Addr), reload *reloader) error {
	// The log is written through a bounded buffer, so that writing one
	// line per request costs a request a copy, not a system call, and a
	// stalled output drops lines instead of stalling answers. Closed last:
	// the service's own shutdown lines are written too.
	growPipe(logOut)
	alog := newAsyncLog(logOut, asyncLogInterval, asyncLogCapacity)
	defer alog.Close()
	logger, err := newLogger(alog, cfg.LogLevel)
	if err != nil {
		return err
	}
	svc, err := newService(cfg, logger)
	if err != nil {
		return err
	}
	defer svc.Close()
	if reload != nil {
		svc.reloads, svc.load = reload.signals, reload.load
	}
	svc.metrics.watchLogDrops(alog.Dropped)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (set LISTEN_ADDR or listen: to use another address): %w", cfg.Listen, err)
	}
	if listening != nil {
		listening(ln.Addr())
	}
	return svc.Serve(ctx, ln)
}

// loadConfig reads the YAML file when given, else the environment.
func loadConfig(path string, getenv func(string) string) (*config.Config, error) {
	if path != "" {
		return config.Load(path, getenv)
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration from environment (or use --config FILE): %w", err)
	}
	return cfg, nil
}

// newLogger returns a JSON logger at the given level, writing the lines
// slog.JSONHandler would (see jsonLog).
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log_level: %q is not debug, info, warn or error", level)
	}
	return slog.New(newJSONLog(w, &slog.HandlerOptions{Level: l})), nil
}

// Serve answers on ln until ctx ends, then stops accepting, drains
// in-flight requests up to the shutdown timeout, stops background work and
// returns nil.
func (s *service) Serve(ctx context.Context, ln net.Listener) error {
	cfg := s.cfg
	// The listener caps connections before fasthttp does, so that the
	// connections it refuses get WAzion's JSON busy answer rather than
	// fasthttp's text 503 (fiberConfig keeps fasthttp's cap above it).
	limited := wazion.NewLimitListener(ln, wazion.ConnLimits{
		Total: cfg.Server.Concurrency, PerAddr: max(0, cfg.Server.MaxConnsPerIP), Silent: cfg.TLSCertFile != "",
	})
	ln = limited
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}})
	}
	var adminDone chan error
	if s.admin != nil {
		aln, err := net.Listen("tcp", cfg.Server.AdminListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (server.admin_listen, ADMIN_LISTEN_ADDR): %w", cfg.Server.AdminListen, err)
		}
		s.log.Info("admin listening", "addr", aln.Addr().String(), "routes", "/healthz /readyz /metrics")
		adminDone = make(chan error, 1)
		go func() { adminDone <- s.admin.Listener(aln) }()
		defer func() {
			_ = s.admin.ShutdownWithTimeout(time.Second)
			<-adminDone
		}()
	}
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	s.Start(bgCtx)
	scheme := "http"
	if cfg.TLSCertFile != "" {
		scheme = "https"
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "scheme", scheme, "stores", len(cfg.Stores), "config", cfg.Source)
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
serving:
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case err := <-adminDone: // nil channel without an admin listener
			ln.Close()
			<-errc
			return fmt.Errorf("serve admin: %w", err)
		case <-s.reloads: // nil channel without a reloader
			s.log.Info("reload: re-reading the configuration", "config", cfg.Source)
			s.reloadFrom(s.load)
		case <-ctx.Done():
			break serving
		}
	}
	s.log.Info("shutting down", "drain_timeout", cfg.Server.ShutdownTimeout.String())
	stopBackground()
	err := s.app.ShutdownWithTimeout(cfg.Server.ShutdownTimeout)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		// Requests still running past the drain deadline are cut off:
		// the process must still exit.
		s.log.Warn("drain deadline passed with requests in flight", "drain_timeout", cfg.Server.ShutdownTimeout.String())
	case err != nil:
		return fmt.Errorf("shutdown: %w", err)
	}
	select {
	case err := <-errc:
		if err != nil && !strings.Contains(err.Error(), "closed") {
			return fmt.Errorf("serve: %w", err)
		}
	case <-time.After(time.Second):
		// The listener loop did not return after a timed-out drain.
	}
	s.log.Info("stopped")
	return nil
}

// fasthttpHeadroom keeps fasthttp's connection cap above the listener's:
// a connection the listener let go is counted by fasthttp until its
// worker returns, a moment after.
const fasthttpHeadroom = 64

// fiberConfig sets the server's limits deliberately: timeouts that outlast
// WAzion's 10 s budget, a body cap above the WAzion routes' own (the
// webhook route reads up to 1 MiB; the WAzion routes answer larger bodies
// with JSON through the error handler wazion.Server.FiberConfig installs),
// and a connection cap above the listener's (see Serve). ReadTimeout is
// the header timeout: newService gives the body the read timeout once the
// headers are in.
func fiberConfig(cfg *config.Config) fiber.Config {
	return fiber.Config{
		AppName:               "whatalo-wazion",
		DisableStartupMessage: true,
		BodyLimit:             max(4<<20, cfg.Server.BodyLimit*4),
		ReadTimeout:           cfg.Server.HeaderTimeout,
		WriteTimeout:          cfg.Server.WriteTimeout,
		IdleTimeout:           cfg.Server.IdleTimeout,
		Concurrency:           cfg.Server.Concurrency + fasthttpHeadroom,
		ReadBufferSize:        16 << 10,
	}
}
