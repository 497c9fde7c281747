package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

const webhooksUsage = `Usage:
  whatalo-wazion webhooks register --url https://HOST/webhooks/whatalo/STORE [--secret S] [--force]
  whatalo-wazion webhooks list
  whatalo-wazion webhooks delete ID

register subscribes the service's webhook URL to the customer, order and
checkout events it uses, and prints the signing secret once. The URL must
be https://HOST[/PREFIX]/webhooks/whatalo/STORE for a configured store (the
store is taken from the URL when --store is not given); --force registers
another URL, or a second subscription for the same URL. list shows the
store's subscriptions (never their secrets) and which configured store each
one delivers to. delete ends a subscription by its id.

All take --config FILE and --store NAME (default: the first store, or for
register the store the URL names).
`

func runWebhooks(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(stdout, webhooksUsage)
			return nil
		}
		fmt.Fprint(stderr, webhooksUsage)
		return errors.New("webhooks: want a subcommand: register, list or delete")
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "register":
		return runWebhooksRegister(ctx, rest, getenv, stdout, stderr)
	case "list":
		return runWebhooksList(ctx, rest, getenv, stdout, stderr)
	case "delete":
		return runWebhooksDelete(ctx, rest, getenv, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, webhooksUsage)
		return nil
	}
	fmt.Fprint(stderr, webhooksUsage)
	return fmt.Errorf("webhooks: unknown subcommand %q (want register, list or delete)", sub)
}

// webhooksFlags adds the flags both subcommands take.
func webhooksFlags(fs *flag.FlagSet, getenv func(string) string) (configPath, storeName *string) {
	configPath = fs.String("config", getenv("WAZION_CONFIG"), "YAML file of stores (default: one store from the environment)")
	storeName = fs.String("store", "", "store to act on (default: the first)")
	return configPath, storeName
}

func webhooksClient(configPath, storeName string, getenv func(string) string) (*config.Config, config.Store, *whatalo.Client, error) {
	cfg, sc, err := selectStoreConfig(configPath, storeName, getenv)
	if err != nil {
		return nil, sc, nil, err
	}
	c, err := newStoreClient(sc, 0, sc.BackgroundShare, nil)
	return cfg, sc, c, err
}

// webhookRoute is the path under which the service receives a store's
// deliveries.
const webhookRoute = "/webhooks/whatalo/"

// routeStore is the store name a webhook URL's path ends with, if it is the
// service's webhook route.
func routeStore(rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", false
	}
	i := strings.LastIndex(u.Path, webhookRoute)
	if i < 0 {
		return "", false
	}
	name := strings.TrimRight(u.Path[i+len(webhookRoute):], "/")
	return name, name != "" && !strings.Contains(name, "/")
}

// expectedWebhookURL is where the service behind rawURL's host (and path
// prefix) receives store's deliveries.
func expectedWebhookURL(rawURL, store string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "https://HOST" + webhookRoute + store
	}
	// A path prefix before the route (a proxy's) is kept; a path without
	// the route is a guess at it, and goes.
	prefix := ""
	if i := strings.LastIndex(u.Path, webhookRoute); i >= 0 {
		prefix = u.Path[:i]
	}
	return (&url.URL{Scheme: "https", Host: u.Host, Path: strings.TrimRight(prefix, "/") + webhookRoute + store}).String()
}

// configuredStore reports whether name is one of cfg's stores.
func configuredStore(cfg *config.Config, name string) bool {
	return slices.ContainsFunc(cfg.Stores, func(s config.Store) bool { return s.Name == name })
}

func runWebhooksRegister(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("webhooks register", stdout, stderr)
	configPath, storeName := webhooksFlags(fs, getenv)
	rawURL := fs.String("url", "", "the service's public webhook URL, https://HOST/webhooks/whatalo/STORE (required)")
	secret := fs.String("secret", "", "signing secret to use (default: Whatalo generates one)")
	force := fs.Bool("force", false, "subscribe a URL that is not the service's route for a configured store, or one that already has a subscription (deliveries then come twice)")
	pos, help, err := parseFlagsAndArgs(fs, args)
	if err != nil || help {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("webhooks register: unexpected argument %q", pos[0])
	}
	if *storeName == "" {
		// The URL names the store it serves; take that one when it exists.
		if name, ok := routeStore(*rawURL); ok {
			if cfg, err := loadConfig(*configPath, getenv); err == nil && configuredStore(cfg, name) {
				*storeName = name
			}
		}
	}
	_, sc, client, err := webhooksClient(*configPath, *storeName, getenv)
	if err != nil {
		return err
	}
	w, err := registerWebhook(ctx, client, sc.Name, *rawURL, *secret, *force, func(msg string) {
		fmt.Fprintf(stderr, "warning: %s\n", msg)
	})
	if err != nil {
		return fmt.Errorf("webhooks register: %w", err)
	}
	fmt.Fprintf(stdout, "Created webhook subscription %s for store %s\n", w.ID, sc.Name)
	fmt.Fprintf(stdout, "  url:    %s\n", w.URL)
	fmt.Fprintf(stdout, "  events: %s\n\n", strings.Join(w.Events, ", "))
	switch {
	case *secret != "":
		fmt.Fprintln(stdout, "Deliveries are signed with the secret you passed with --secret.")
		fmt.Fprintf(stdout, "Set WHATALO_WEBHOOK_SECRET to it (or webhook_secret: in store %s's entry of the YAML config) and restart the service.\n", sc.Name)
	case w.Secret != "":
		fmt.Fprintln(stdout, "Signing secret (Whatalo shows it only this once; store it now):")
		fmt.Fprintf(stdout, "\n  %s\n\n", w.Secret)
		fmt.Fprintf(stdout, "Set WHATALO_WEBHOOK_SECRET=%s\n", w.Secret)
		fmt.Fprintf(stdout, "(or webhook_secret: in store %s's entry of the YAML config, e.g. as ${WHATALO_WEBHOOK_SECRET}) and restart the service.\n", sc.Name)
	default:
		fmt.Fprintln(stderr, "warning: Whatalo returned no secret; deliveries cannot be verified. Delete this subscription and register again with --secret.")
	}
	return nil
}

// registerWebhook subscribes rawURL to the events the adapter acts on, for
// store, signed with secret (empty: Whatalo generates one). It refuses a
// URL that is not https or already has a subscription, unless force; warn
// hears about a URL that does not end in the store's webhook path.
func registerWebhook(ctx context.Context, client *whatalo.Client, store, rawURL, secret string, force bool, warn func(string)) (*whatalo.Webhook, error) {
	if err := checkWebhookURL(rawURL); err != nil {
		return nil, err
	}
	if name, ok := routeStore(rawURL); !ok || name != store {
		want := expectedWebhookURL(rawURL, store)
		if !force {
			return nil, fmt.Errorf("%s is not where the service receives store %s's webhooks: "+
				"use --url %s (or pass --force to register it anyway)", rawURL, store, want)
		}
		warn(fmt.Sprintf("the service receives store %s's webhooks at %s; %s does not end with %s%s", store, want, rawURL, webhookRoute, store))
	}
	existing, _, err := client.Webhooks.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list existing subscriptions: %w", err)
	}
	for _, w := range existing {
		if w.URL == rawURL && !force {
			return nil, fmt.Errorf("%s already has subscription %s (its secret cannot be shown again); "+
				"delete it in Whatalo's dashboard and register again, or pass --force to add a second one", w.URL, w.ID)
		}
	}
	w, _, err := client.Webhooks.Create(ctx, whatalo.WebhookInput{URL: rawURL, Events: adapter.WebhookEvents(), Secret: secret})
	if err != nil {
		var we *whatalo.Error
		if errors.As(err, &we) && len(we.FieldErrors()) > 0 {
			return nil, fmt.Errorf("%w (%s)", err, fieldErrors(we))
		}
		return nil, err
	}
	return w, nil
}

// checkWebhookURL accepts only absolute https URLs: Whatalo refuses http,
// and deliveries carry customer data.
func checkWebhookURL(raw string) error {
	if raw == "" {
		return errors.New("--url is required: the service's public https URL, e.g. https://crm.example.com/webhooks/whatalo/default")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("--url %q: %w", raw, err)
	}
	switch {
	case u.Scheme == "http":
		return fmt.Errorf("--url %s: Whatalo delivers webhooks only to https URLs; put the service behind TLS (tls_cert_file or a proxy) and use https://", raw)
	case u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("--url %q: want an absolute https URL such as https://crm.example.com/webhooks/whatalo/default", raw)
	case u.User != nil:
		return fmt.Errorf("--url: must not carry a user or password")
	}
	return nil
}

func fieldErrors(e *whatalo.Error) string {
	var parts []string
	for _, fe := range e.FieldErrors() {
		parts = append(parts, fe.Field+": "+fe.Message)
	}
	return strings.Join(parts, "; ")
}

func runWebhooksList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("webhooks list", stdout, stderr)
	configPath, storeName := webhooksFlags(fs, getenv)
	pos, help, err := parseFlagsAndArgs(fs, args)
	if err != nil || help {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("webhooks list: unexpected argument %q", pos[0])
	}
	cfg, sc, client, err := webhooksClient(*configPath, *storeName, getenv)
	if err != nil {
		return err
	}
	hooks, _, err := client.Webhooks.List(ctx)
	if err != nil {
		return fmt.Errorf("webhooks list: %w", err)
	}
	if len(hooks) == 0 {
		fmt.Fprintf(stdout, "Store %s has no webhook subscriptions; create one with: whatalo-wazion webhooks register --url https://HOST/webhooks/whatalo/%s\n", sc.Name, sc.Name)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTORE\tURL\tEVENTS\tACTIVE\tLAST TRIGGERED\tFAILURES")
	covered := false
	for _, w := range hooks {
		last := "never"
		if w.LastTriggeredAt != nil {
			last = w.LastTriggeredAt.UTC().Format(time.RFC3339)
		}
		active := "no"
		if w.IsActive {
			active = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", w.ID, servedStore(cfg, w.URL), w.URL, strings.Join(w.Events, ","), active, last, w.FailureCount)
		if w.IsActive && len(missingEvents(w.Events)) == 0 {
			covered = true
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("webhooks list: %w", err)
	}
	if !covered {
		fmt.Fprintf(stdout, "\nNo active subscription has every event the service uses (%s); run webhooks register.\n",
			strings.Join(adapter.WebhookEvents(), ", "))
	}
	return nil
}

// servedStore names the configured store a subscription's URL delivers
// to, or says that it reaches none.
func servedStore(cfg *config.Config, rawURL string) string {
	if name, ok := routeStore(rawURL); ok && configuredStore(cfg, name) {
		return name
	}
	return "(none configured)"
}

func runWebhooksDelete(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("webhooks delete", stdout, stderr)
	configPath, storeName := webhooksFlags(fs, getenv)
	pos, help, err := parseFlagsAndArgs(fs, args)
	if err != nil || help {
		return err
	}
	if len(pos) != 1 {
		return errors.New("webhooks delete: want the id of one subscription (webhooks list shows them)")
	}
	id := pos[0]
	_, sc, client, err := webhooksClient(*configPath, *storeName, getenv)
	if err != nil {
		return err
	}
	if _, err := client.Webhooks.Delete(ctx, id); err != nil {
		if errors.Is(err, whatalo.ErrNotFound) {
			return fmt.Errorf("webhooks delete: store %s has no subscription %s (webhooks list shows its subscriptions)", sc.Name, id)
		}
		return fmt.Errorf("webhooks delete: %w", err)
	}
	fmt.Fprintf(stdout, "Deleted webhook subscription %s of store %s\n", id, sc.Name)
	return nil
}

// missingEvents returns the service's events that events lacks.
func missingEvents(events []string) []string {
	var out []string
	for _, e := range adapter.WebhookEvents() {
		if !slices.Contains(events, e) {
			out = append(out, e)
		}
	}
	return out
}
