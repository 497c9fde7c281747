package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/config"
)

// runHealthcheck asks the running service for /healthz, so a container
// image without a shell or curl can still be health-checked. It finds the
// port and scheme by the service's own precedence (config.ReadEndpoint).
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", stdout, stderr)
	configPath := fs.String("config", getenv("WAZION_CONFIG"), "YAML file of stores the service runs with (default: the environment)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ep, err := config.ReadEndpoint(*configPath, getenv)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	_, port, err := net.SplitHostPort(ep.Listen)
	if err != nil {
		return fmt.Errorf("healthcheck: listen address %q (LISTEN_ADDR or listen:): %w", ep.Listen, err)
	}
	scheme := "http"
	if ep.TLS {
		scheme = "https"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort("127.0.0.1", port)+"/healthz", nil)
	if err != nil {
		return err
	}
	// The certificate names the public host, not 127.0.0.1; this probe
	// only asks whether the process answers.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %s", resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
