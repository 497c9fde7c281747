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

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

const webhooksUsage = `Usage:
  whatalo-wazion webhooks register --url https://HOST/webhooks/whatalo/STORE [--secret S] [--force]
  whatalo-wazion webhooks list

register subscribes the service's webhook URL to the customer, order and
checkout events it uses, and prints the signing secret once. list shows the
store's subscriptions (never their secrets).

Both take --config FILE and --store NAME (default: the first store).
`

// serviceWebhookEvents are the events the service acts on: customer and
// order changes refresh its cache and phone index, checkouts feed
// abandonedCarts.
var serviceWebhookEvents = []string{
	"customer.created", "customer.updated",
	"order.created", "order.updated", "order.cancelled", "order.completed",
	"checkout.abandoned", "checkout.completed",
}

func runWebhooks(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(stdout, webhooksUsage)
			return nil
		}
		fmt.Fprint(stderr, webhooksUsage)
		return errors.New("webhooks: want a subcommand: register or list")
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "register":
		return runWebhooksRegister(ctx, rest, getenv, stdout, stderr)
	case "list":
		return runWebhooksList(ctx, rest, getenv, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, webhooksUsage)
		return nil
	}
	fmt.Fprint(stderr, webhooksUsage)
	return fmt.Errorf("webhooks: unknown subcommand %q (want register or list)", sub)
}

// webhooksFlags adds the flags both subcommands take.
func webhooksFlags(fs *flag.FlagSet, getenv func(string) string) (configPath, storeName *string) {
	configPath = fs.String("config", getenv("WAZION_CONFIG"), "YAML file of stores (default: one store from the environment)")
	storeName = fs.String("store", "", "store to act on (default: the first)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), webhooksUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	return configPath, storeName
}

func webhooksClient(configPath, storeName string, getenv func(string) string) (config.Store, *whatalo.Client, error) {
	sc, err := selectStore(configPath, storeName, getenv)
	if err != nil {
		return sc, nil, err
	}
	c, err := newStoreClient(sc, 0, sc.BackgroundShare, nil)
	return sc, c, err
}

func runWebhooksRegister(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("webhooks register", stderr)
	configPath, storeName := webhooksFlags(fs, getenv)
	rawURL := fs.String("url", "", "the service's public webhook URL, https://HOST/webhooks/whatalo/STORE (required)")
	secret := fs.String("secret", "", "signing secret to use (default: Whatalo generates one)")
	force := fs.Bool("force", false, "subscribe even if the URL already has a subscription (deliveries then come twice)")
	pos, help, err := parseFlagsAndArgs(fs, args)
	if err != nil || help {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("webhooks register: unexpected argument %q", pos[0])
	}
	if err := checkWebhookURL(*rawURL); err != nil {
		return fmt.Errorf("webhooks register: %w", err)
	}
	sc, client, err := webhooksClient(*configPath, *storeName, getenv)
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

// registerWebhook subscribes rawURL to serviceWebhookEvents for store,
// signed with secret (empty: Whatalo generates one). It refuses a URL that
// is not https or already has a subscription, unless force; warn hears
// about a URL that does not end in the store's webhook path.
func registerWebhook(ctx context.Context, client *whatalo.Client, store, rawURL, secret string, force bool, warn func(string)) (*whatalo.Webhook, error) {
	if err := checkWebhookURL(rawURL); err != nil {
		return nil, err
	}
	if want := "/webhooks/whatalo/" + store; !strings.HasSuffix(strings.TrimRight(rawURL, "/"), want) {
		warn(fmt.Sprintf("the service receives store %s's webhooks at …%s; %s does not end with it", store, want, rawURL))
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
	w, _, err := client.Webhooks.Create(ctx, whatalo.WebhookInput{URL: rawURL, Events: serviceWebhookEvents, Secret: secret})
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
	fs := newFlagSet("webhooks list", stderr)
	configPath, storeName := webhooksFlags(fs, getenv)
	pos, help, err := parseFlagsAndArgs(fs, args)
	if err != nil || help {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("webhooks list: unexpected argument %q", pos[0])
	}
	sc, client, err := webhooksClient(*configPath, *storeName, getenv)
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
	fmt.Fprintln(tw, "ID\tURL\tEVENTS\tACTIVE\tLAST TRIGGERED\tFAILURES")
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", w.ID, w.URL, strings.Join(w.Events, ","), active, last, w.FailureCount)
		if w.IsActive && len(missingEvents(w.Events)) == 0 {
			covered = true
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("webhooks list: %w", err)
	}
	if !covered {
		fmt.Fprintf(stdout, "\nNo active subscription has every event the service uses (%s); run webhooks register.\n",
			strings.Join(serviceWebhookEvents, ", "))
	}
	return nil
}

// missingEvents returns the service's events that events lacks.
func missingEvents(events []string) []string {
	var out []string
	for _, e := range serviceWebhookEvents {
		if !slices.Contains(events, e) {
			out = append(out, e)
		}
	}
	return out
}
