package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

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
	if h.URL != hookURL || !slices.Equal(h.Events, serviceWebhookEvents) {
		t.Errorf("subscription = %s %v, want %s %v", h.URL, h.Events, hookURL, serviceWebhookEvents)
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
		{[]string{"delete"}, `unknown subcommand "delete"`},
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
