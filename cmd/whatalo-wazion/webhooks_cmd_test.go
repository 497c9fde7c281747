package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

func runWebhooksCmd(getenv func(string) string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"whatalo-wazion", "webhooks"}, args...), getenv, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestWebhooksRegisterAndList(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	getenv := importTestEnv(fake)
	const hookURL = "https://crm.example.com/webhooks/whatalo/default"

	_, _, err := runWebhooksCmd(getenv, "register", "--url", "http://crm.example.com/webhooks/whatalo/default")
	if err == nil || !strings.Contains(err.Error(), "only to https") {
		t.Errorf("http URL: err = %v, want a refusal naming https", err)
	}
	if n := len(fake.Webhooks()); n != 0 {
		t.Fatalf("an http URL created %d subscriptions", n)
	}

	stdout, stderr, err := runWebhooksCmd(getenv, "register", "--url", hookURL)
	if err != nil {
		t.Fatalf("register: %v\n%s", err, stderr)
	}
	hooks := fake.Webhooks()
	if len(hooks) != 1 {
		t.Fatalf("fake has %d subscriptions, want 1", len(hooks))
	}
	h := hooks[0]
	if h.URL != hookURL || !slices.Equal(h.Events, adapter.WebhookEvents()) {
		t.Errorf("subscription = %s %v, want %s %v", h.URL, h.Events, hookURL, adapter.WebhookEvents())
	}
	if !strings.Contains(stdout, h.ID) || strings.Count(stdout, h.Secret) != 2 || h.Secret == "" {
		t.Errorf("register output lacks the id or the secret:\n%s", stdout)
	}
	for _, want := range []string{"WHATALO_WEBHOOK_SECRET=" + h.Secret, "webhook_secret:", "only this once"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("register output lacks %q", want)
		}
	}
	if strings.Contains(stderr, "warning") {
		t.Errorf("a URL ending in /webhooks/whatalo/default drew a warning: %s", stderr)
	}

	stdout, _, err = runWebhooksCmd(getenv, "list")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if !strings.Contains(stdout, h.ID) || !strings.Contains(stdout, hookURL) || !strings.Contains(stdout, "checkout.abandoned") {
		t.Errorf("list output:\n%s", stdout)
	}
	if strings.Contains(stdout, h.Secret) {
		t.Error("list printed the secret")
	}
	if strings.Contains(stdout, "No active subscription") {
		t.Errorf("list says no subscription covers the events though one does:\n%s", stdout)
	}

	// The same URL again would double every delivery.
	if _, _, err := runWebhooksCmd(getenv, "register", "--url", hookURL); err == nil || !strings.Contains(err.Error(), "already has subscription "+h.ID) {
		t.Errorf("second register: err = %v", err)
	}
	// With a secret of the user's own, it is used and not echoed.
	const own = "my-own-webhook-secret-123"
	stdout, stderr, err = runWebhooksCmd(getenv, "register", "--force", "--secret", own, "--url", "https://other.example.com/hooks")
	if err != nil {
		t.Fatalf("register --secret: %v", err)
	}
	if strings.Contains(stdout+stderr, own) {
		t.Error("register echoed the secret passed with --secret")
	}
	if !strings.Contains(stderr, "does not end with") {
		t.Errorf("no warning for a URL the service does not serve: %q", stderr)
	}
	if hooks := fake.Webhooks(); len(hooks) != 2 || hooks[1].Secret != own {
		t.Errorf("subscriptions after --secret: %+v", hooks)
	}
}

func TestWebhooksUsage(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	getenv := importTestEnv(fake)
	tests := []struct {
		args []string
		want string
	}{
		{nil, "want a subcommand"},
		{[]string{"delete"}, "want the id of one subscription"},
		{[]string{"delete", "wh_nope"}, "store default has no subscription wh_nope"},
		{[]string{"remove"}, `unknown subcommand "remove"`},
		{[]string{"register"}, "--url is required"},
		{[]string{"register", "--url", "ftp://x.example.com/"}, "absolute https URL"},
		{[]string{"list", "--store", "nope"}, "no such store"},
	}
	for _, tt := range tests {
		if _, _, err := runWebhooksCmd(getenv, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("webhooks %v: err = %v, want %q", tt.args, err, tt.want)
		}
	}
	stdout, _, err := runWebhooksCmd(getenv, "list")
	if err != nil || !strings.Contains(stdout, "no webhook subscriptions") {
		t.Errorf("empty list: %v\n%s", err, stdout)
	}
	if n := fake.Stats().PerRoute["POST /v1/webhooks"]; n != 0 {
		t.Errorf("bad command lines created %d subscriptions", n)
	}
}

// TestWebhooksRegisterRefusesAnotherRoute: a URL that is not the service's
// route for a configured store would create a live subscription whose
// deliveries nothing receives; it is refused with the URL to use, unless
// --force.
func TestWebhooksRegisterRefusesAnotherRoute(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	getenv := importTestEnv(fake)
	for _, u := range []string{
		"https://crm.example.com/hooks",
		"https://crm.example.com/webhooks/whatalo/nope",
		"https://crm.example.com/webhooks/whatalo/",
	} {
		_, _, err := runWebhooksCmd(getenv, "register", "--url", u)
		if err == nil || !strings.Contains(err.Error(), "use --url https://crm.example.com/webhooks/whatalo/default") || !strings.Contains(err.Error(), "--force") {
			t.Errorf("register %s: err = %v, want a refusal naming the expected URL and --force", u, err)
		}
	}
	if _, _, err := runWebhooksCmd(getenv, "register", "--url", "https://crm.example.com/api/webhooks/whatalo/nope"); err == nil ||
		!strings.Contains(err.Error(), "use --url https://crm.example.com/api/webhooks/whatalo/default") {
		t.Errorf("a path prefix is kept in the expected URL: %v", err)
	}
	if n := len(fake.Webhooks()); n != 0 {
		t.Fatalf("refused URLs created %d subscriptions", n)
	}
	if _, stderr, err := runWebhooksCmd(getenv, "register", "--force", "--url", "https://crm.example.com/hooks"); err != nil || !strings.Contains(stderr, "warning") {
		t.Errorf("register --force: err = %v, stderr %q", err, stderr)
	}
	if n := len(fake.Webhooks()); n != 1 {
		t.Fatalf("--force created %d subscriptions, want 1", n)
	}
}

// TestWebhooksStoreFromURLListAndDelete: with several stores, register
// takes the store from the URL, list says which store each subscription
// serves, and delete ends one.
func TestWebhooksStoreFromURLListAndDelete(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	cfgPath := writeTwoStoreConfig(t, fake)
	getenv := func(string) string { return "" }

	stdout, stderr, err := runWebhooksCmd(getenv, "register", "--config", cfgPath, "--url", "https://crm.example.com/webhooks/whatalo/second")
	if err != nil {
		t.Fatalf("register: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "for store second") {
		t.Errorf("register did not take the store from the URL:\n%s", stdout)
	}
	if _, _, err := runWebhooksCmd(getenv, "register", "--config", cfgPath, "--store", "first", "--url", "https://crm.example.com/webhooks/whatalo/second"); err == nil ||
		!strings.Contains(err.Error(), "use --url https://crm.example.com/webhooks/whatalo/first") {
		t.Errorf("--store first with store second's URL: err = %v", err)
	}
	if _, _, err := runWebhooksCmd(getenv, "register", "--config", cfgPath, "--force", "--url", "https://elsewhere.example.com/x"); err != nil {
		t.Fatal(err)
	}
	hooks := fake.Webhooks()
	if len(hooks) != 2 {
		t.Fatalf("%d subscriptions, want 2", len(hooks))
	}
	stdout, _, err = runWebhooksCmd(getenv, "list", "--config", cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hooks {
		line := lineWith(stdout, h.ID)
		want := "second"
		if h.URL == "https://elsewhere.example.com/x" {
			want = "(none configured)"
		}
		if !strings.Contains(line, want) {
			t.Errorf("list line of %s = %q, want store %q", h.URL, line, want)
		}
	}
	stdout, _, err = runWebhooksCmd(getenv, "delete", "--config", cfgPath, hooks[1].ID)
	if err != nil || !strings.Contains(stdout, "Deleted webhook subscription "+hooks[1].ID) {
		t.Fatalf("delete: %v\n%s", err, stdout)
	}
	if left := fake.Webhooks(); len(left) != 1 || left[0].ID != hooks[0].ID {
		t.Errorf("after delete: %+v", left)
	}
}

func lineWith(text, s string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// writeTwoStoreConfig writes a file of two stores, first and second, both
// on fake's key.
func writeTwoStoreConfig(t *testing.T, fake *whatalotest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stores.yaml")
	yaml := `stores:
  - name: first
    api_key: ` + fake.APIKey + `
    base_url: ` + fake.APIURL + `
    tokens: [first-token-123]
  - name: second
    api_key: ` + fake.APIKey + `
    base_url: ` + fake.APIURL + `
    tokens: [second-token-123]
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
