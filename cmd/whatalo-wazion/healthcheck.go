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

// runHealthcheck asks the service on LISTEN_ADDR for /healthz, so a
// container image without a shell or curl can still be health-checked.
func runHealthcheck(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	addr := getenv("LISTEN_ADDR")
	if addr == "" {
		addr = config.DefaultListen
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: LISTEN_ADDR %q: %w", addr, err)
	}
	scheme := "http"
	if getenv("TLS_CERT_FILE") != "" {
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
