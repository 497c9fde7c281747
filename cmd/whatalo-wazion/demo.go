package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// Demo credentials: the embedded fake accepts only these, and they guard
// nothing but the demo store. The key is a live-style key so the demo runs
// at the live limit (1,000 a minute) and a burst of curl lines never waits.
const (
	demoAPIKey        = "wk_live_demo"
	demoToken         = "demo-token"
	demoWebhookSecret = "demo-webhook-secret"
)

// runDemo serves the demo store offline: an in-process fake Whatalo on a
// loopback port, and the service in front of it on LISTEN_ADDR.
func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stdout, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fake := whatalotest.New(whatalotest.DemoSeed(), whatalotest.WithAPIKeys(demoAPIKey))
	fakeLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start the fake Whatalo: %w", err)
	}
	fakeSrv := &http.Server{Handler: fake, ReadHeaderTimeout: 5 * time.Second}
	go fakeSrv.Serve(fakeLn)
	defer fakeSrv.Close()
	fakeURL := "http://" + fakeLn.Addr().String()

	// The console's operator password is new each run: the demo listens
	// on a port others on the machine may reach.
	consolePassword := demoConsolePassword()
	demoEnv := map[string]string{
		"WHATALO_API_KEY":        demoAPIKey,
		"WAZION_TOKEN":           demoToken,
		"WHATALO_BASE_URL":       fakeURL + "/v1",
		"DEFAULT_REGION":         "DO",
		"WHATALO_WEBHOOK_SECRET": demoWebhookSecret,
		// The demo is one offline process: a REDIS_URL in the shell must not
		// turn it into a replica of something else.
		"REDIS_URL":        "",
		"CONSOLE_ENABLED":  "true",
		"CONSOLE_PASSWORD": consolePassword,
	}
	cfg, err := loadConfig("", func(k string) string {
		if v, ok := demoEnv[k]; ok {
			return v
		}
		return getenv(k)
	})
	if err != nil {
		return err
	}
	return serveConfig(ctx, cfg, stderr, func(addr net.Addr) {
		printDemo(stdout, baseURL(addr), fakeURL, consolePassword)
	}, nil)
}

// baseURL is how a person on this machine reaches addr.
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// demoConsolePassword is a random operator password for the demo's
// console.
func demoConsolePassword() string {
	var b [9]byte
	_, _ = rand.Read(b[:]) // never fails, see crypto/rand.Read
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func printDemo(w io.Writer, base, fakeURL, consolePassword string) {
	q := func(kv ...string) string {
		v := url.Values{"token": {demoToken}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	fmt.Fprintf(w, `whatalo-wazion demo: the demo store "Tienda Demo" on %s
WAzion token: %s    (fake Whatalo API: %s/v1, key %s)

Ready-to-paste requests:
  curl '%s/wazion/sidePanel_CustomerInfo?%s'
  curl '%s/wazion/sidePanel_CustomerInfo?%s'
  curl -X POST %s/wazion/sidePanel_CustomerInfo -H 'Content-Type: application/json' -d '{"token":"%s","phone":"+5215512345678","relatedphones":["+18095557777"]}'
  curl '%s/wazion/ai_CustomerInitialInfo?%s'
  curl -X POST %s/wazion/sidePanel_CustomerFindToJoin -d 'token=%s&query=carlos&phone=%%2B18095551234'
  curl -H 'Authorization: Bearer %s' '%s/wazion/search_Products?q=camiseta&phone=%%2B34612345678'
  curl -u ':%s' '%s/wazion/search_Products?q=camiseta&format=ai'
  curl '%s/wazion/globalSearch?%s'
  curl '%s/wazion/sidePanel_CustomerInfo?%s'
  curl %s/metrics
Check it the way WAzion calls it:
  go run ./cmd/whatalo-wazion selftest --public-url %s --token %s
Console (setup, status, preview): %s/console/
  operator password: %s    (or store "%s" with token %s)
Press Ctrl-C to stop.
`, base, demoToken, fakeURL, demoAPIKey,
		base, q("phone", "+18095551234"),
		base, q("phone", "+18095550000", "relatedphones", `["+573001234567"]`),
		base, demoToken,
		base, q("phone", "+18095551234", "order", "1003"),
		base, demoToken,
		demoToken, base,
		demoToken, base,
		base, q("query", "1001"),
		base, q("phone", "+18095551234", "test", "true"),
		base,
		base, demoToken,
		base, consolePassword, config.DefaultStoreName, demoToken)
}
