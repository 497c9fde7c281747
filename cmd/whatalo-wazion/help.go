package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// help is what a subcommand's -h prints around its flags: what it does,
// the environment it reads and one example.
type help struct {
	text    string   // "Usage: …" and what the command does
	env     []string // names from envDocs
	example string
}

// configEnv are the variables every command that reads the configuration
// takes when no --config file is given.
var configEnv = []string{
	"WAZION_CONFIG", "WHATALO_API_KEY", "WAZION_TOKEN", "WAZION_TOKEN_HEADER", "WHATALO_BASE_URL",
	"DEFAULT_REGION", "LABEL_LANGUAGE", "INTERNAL_NOTES", "WHATALO_RATE_LIMIT", "WHATALO_TOKEN_SHARE", "WHATALO_WEBHOOK_SECRET",
	"CUSTOMER_URL_TEMPLATE", "ORDER_URL_TEMPLATE", "PRODUCT_URL_TEMPLATE",
	"WAZION_MARGIN", "WAZION_ANSWER_TTL", "REDIS_URL", "REDIS_EXPECTED_REPLICAS",
	"LISTEN_ADDR", "TLS_CERT_FILE", "TLS_KEY_FILE", "LOG_LEVEL",
	"CONSOLE_PASSWORD", "CONSOLE_ENABLED", "CONSOLE_PUBLIC_URL", "CONSOLE_SESSION_TTL",
}

// envDocs says in a line what each environment variable is; the README's
// table says the same at length.
var envDocs = map[string]string{
	"WAZION_CONFIG":           "YAML file of stores, as --config (flag wins)",
	"WHATALO_API_KEY":         "the store's Whatalo API key (wk_live_… or wk_test_…)",
	"WAZION_TOKEN":            "token(s) WAzion sends, comma-separated",
	"WAZION_TOKEN_HEADER":     "an extra header name that may carry the token",
	"WHATALO_BASE_URL":        "Whatalo API base URL (default https://api.whatalo.com/v1)",
	"DEFAULT_REGION":          "region of phones stored without a country code (DO, CO, MX, …)",
	"LABEL_LANGUAGE":          "language of labels and AI text: es, en, pt, fr, de, it",
	"INTERNAL_NOTES":          "where orders' internal notes show: panel (default), none, panel_and_ai",
	"WHATALO_RATE_LIMIT":      "requests per minute allowed on the key (default 90 % of its limit)",
	"WHATALO_TOKEN_SHARE":     "part of the key's budget one WAzion token may use (default 1/3)",
	"WHATALO_WEBHOOK_SECRET":  "secret of the Whatalo webhook subscription",
	"CUSTOMER_URL_TEMPLATE":   "link to a customer ({store_url}, {id})",
	"ORDER_URL_TEMPLATE":      "link to an order ({store_url}, {id}, {number})",
	"PRODUCT_URL_TEMPLATE":    "link to a product ({store_url}, {id}, {slug})",
	"WAZION_MARGIN":           "taken off WAzion's 5 s / 10 s budgets (default 750ms)",
	"WAZION_ANSWER_TTL":       "identical requests within it get the same answer (default 1s)",
	"REDIS_URL":               "redis://… shared by the service's replicas (default: none)",
	"REDIS_EXPECTED_REPLICAS": "replicas sharing a key while Redis is down (default 2)",
	"LISTEN_ADDR":             "listen address (default :8080; wins over listen: in the file)",
	"TLS_CERT_FILE":           "serve HTTPS with this certificate (wins over the file)",
	"TLS_KEY_FILE":            "its private key (wins over the file)",
	"LOG_LEVEL":               "debug, info, warn or error (wins over the file)",
	"CONSOLE_PASSWORD":        "operator password of the /console/ web console (turns it on)",
	"CONSOLE_ENABLED":         "true or false: the console (default: on when a password is set)",
	"CONSOLE_PUBLIC_URL":      "the address the console shows in the URLs to paste into WAzion",
	"CONSOLE_SESSION_TTL":     "how long a console sign-in lasts (default 12h)",
}

// helps holds every subcommand's help, by its flag set's name.
var helps = map[string]help{
	"serve": {
		text: `Usage: whatalo-wazion [serve] [--config FILE]

Serves WAzion's five CRM endpoints, the Whatalo webhook route, /metrics,
/healthz and /readyz, for one store configured from the environment or for
the stores of a YAML file. Stops on SIGTERM or Ctrl-C after draining
in-flight requests; SIGHUP re-reads the file and applies its stores.
`,
		env:     configEnv,
		example: "WHATALO_API_KEY=wk_live_… WAZION_TOKEN=a-long-random-token DEFAULT_REGION=DO whatalo-wazion serve",
	},
	"demo": {
		text: `Usage: whatalo-wazion demo

Runs the service offline against an embedded fake Whatalo holding the demo
store, and prints the WAzion token and ready-to-paste curl lines. The fake
accepts the key wk_live_demo in X-API-Key; nothing is sent to the network.
`,
		env:     []string{"LISTEN_ADDR", "LOG_LEVEL"},
		example: "LISTEN_ADDR=127.0.0.1:9090 whatalo-wazion demo",
	},
	"check": {
		text:    checkUsage,
		env:     configEnv,
		example: "whatalo-wazion check --config stores.yaml --json",
	},
	"wazion-settings": {
		text:    settingsUsage,
		env:     configEnv,
		example: "whatalo-wazion wazion-settings --public-url https://crm.example.com",
	},
	"selftest": {
		text:    selftestUsage,
		env:     configEnv,
		example: "whatalo-wazion selftest --public-url https://crm.example.com --phone +18095551234",
	},
	"import": {
		text:    importUsage,
		env:     configEnv,
		example: "whatalo-wazion import --dry-run customers.csv",
	},
	"webhooks register": {
		text:    webhooksUsage,
		env:     configEnv,
		example: "whatalo-wazion webhooks register --url https://crm.example.com/webhooks/whatalo/default",
	},
	"webhooks list": {
		text:    webhooksUsage,
		env:     configEnv,
		example: "whatalo-wazion webhooks list --config stores.yaml",
	},
	"webhooks delete": {
		text:    webhooksUsage,
		env:     configEnv,
		example: "whatalo-wazion webhooks delete wh_123",
	},
	"healthcheck": {
		text: `Usage: whatalo-wazion healthcheck [--config FILE]

Asks the running service for /healthz on 127.0.0.1 and exits 0 when it
answers 200, for container health checks (the image has no shell or curl).
It finds the port and scheme as the service does: LISTEN_ADDR and
TLS_CERT_FILE win over listen: and tls_cert_file in the file, then the
default :8080 over HTTP. In a container, give the file as WAZION_CONFIG
rather than --config so the image's HEALTHCHECK reads the same one.
`,
		env:     []string{"WAZION_CONFIG", "LISTEN_ADDR", "TLS_CERT_FILE"},
		example: "WAZION_CONFIG=/etc/whatalo-wazion/stores.yaml whatalo-wazion healthcheck",
	},
}

// newFlagSet returns a flag set that reports errors through run's error
// instead of exiting, and whose usage is the command's help: on stdout when
// asked for with -h, on stderr after a mistake.
func newFlagSet(name string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(&cmdOutput{stdout: stdout, stderr: stderr})
	fs.Usage = func() { printUsage(fs) }
	return fs
}

// cmdOutput sends a flag set's output to stdout while help is asked for,
// else to stderr.
type cmdOutput struct {
	stdout, stderr io.Writer
	help           bool
}

func (o *cmdOutput) Write(p []byte) (int, error) {
	if o.help {
		return o.stdout.Write(p)
	}
	return o.stderr.Write(p)
}

// expectHelp points fs's output at stdout when args ask for help.
func expectHelp(fs *flag.FlagSet, args []string) {
	if o, ok := fs.Output().(*cmdOutput); ok {
		o.help = wantsHelp(args)
	}
}

// printUsage writes fs's help: the command's text, its flags, the
// environment it reads and an example.
func printUsage(fs *flag.FlagSet) {
	w := fs.Output()
	h, ok := helps[fs.Name()]
	if !ok {
		fmt.Fprintf(w, "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		return
	}
	text := strings.TrimRight(h.text, "\n")
	text = strings.TrimSuffix(text, "Flags:")
	fmt.Fprintln(w, strings.TrimRight(text, "\n"))
	fmt.Fprintln(w, "\nFlags:")
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		fmt.Fprintln(w, "  none")
	}
	fs.PrintDefaults()
	if len(h.env) > 0 {
		fmt.Fprintln(w, "\nEnvironment:")
		width := 0
		for _, name := range h.env {
			width = max(width, len(name))
		}
		for _, name := range h.env {
			fmt.Fprintf(w, "  %-*s  %s\n", width, name, envDocs[name])
		}
	}
	if h.example != "" {
		fmt.Fprintf(w, "\nExample:\n  %s\n", h.example)
	}
}

// wantsHelp reports -h or --help among args (before any "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "--h", "-help", "--help":
			return true
		}
	}
	return false
}
