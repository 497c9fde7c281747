package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

const settingsToken = "settings-token-123"

func settingsEnv() map[string]string {
	return map[string]string{
		"WHATALO_API_KEY": "wk_live_settings_key_1234",
		"WAZION_TOKEN":    settingsToken + ",second-token-456",
	}
}

func TestWazionSettingsEnvironment(t *testing.T) {
	out, _, err := cliRun(t, settingsEnv(), "wazion-settings", "--public-url", "https://crm.example.com/")
	if err != nil {
		t.Fatalf("wazion-settings: %v", err)
	}
	for _, ep := range wazion.Endpoints() {
		assertContains(t, out, ep+"  ", "https://crm.example.com/wazion/"+ep+"\n")
	}
	assertContains(t, out,
		`settings for store "default"`,
		"Method          GET, parameters in the query string",
		"Authentication  header",
		"Authorization: Bearer sett…, or X-Wazion-Token: sett…",
		"(masked; --show-token prints it)",
		"2 tokens are configured",
		"query  query string parameter token=sett…",
		`body   "token" field of the JSON or form body`,
		"basic  HTTP Basic authentication: any user name, password sett…",
		"WAzion waits 5s for globalSearch and 10s for the others; the service answers within 4.25s and 9.25s",
		"selftest --public-url https://crm.example.com --store default")
	assertLacks(t, out, settingsToken, "second-token-456", "WARNING")
}

func TestWazionSettingsShowTokenQueryPOST(t *testing.T) {
	out, _, err := cliRun(t, settingsEnv(), "wazion-settings",
		"--public-url", "https://shop.example.com/crm/wazion/globalSearch", "--auth", "query", "--method", "post", "--show-token")
	if err != nil {
		t.Fatalf("wazion-settings: %v", err)
	}
	assertContains(t, out,
		"https://shop.example.com/crm/wazion/sidePanel_CustomerInfo\n",
		"Method          POST, body JSON",
		"Authentication  query",
		"Token goes in   query string parameter token="+settingsToken+"\n",
		"Token           "+settingsToken+"\n")
	assertLacks(t, out, "masked", "/wazion/globalSearch/wazion")
}

func TestWazionSettingsRefusals(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no URL", nil, "--public-url is required"},
		{"plain http", []string{"--public-url", "http://crm.example.com"}, "WAzion requires HTTPS"},
		{"relative", []string{"--public-url", "crm.example.com"}, "want an absolute URL"},
		{"query string", []string{"--public-url", "https://crm.example.com/?a=1"}, "must not have a query string"},
		{"body on GET", []string{"--public-url", "https://crm.example.com", "--auth", "body"}, "--auth body needs --method POST"},
		{"unknown auth", []string{"--public-url", "https://crm.example.com", "--auth", "cookie"}, "want one of header, query, body, basic"},
		{"bad method", []string{"--public-url", "https://crm.example.com", "--method", "PUT"}, "want GET or POST"},
		{"unknown store", []string{"--public-url", "https://crm.example.com", "--store", "nope"}, `--store "nope": no such store in environment (stores: default)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := cliRun(t, settingsEnv(), append([]string{"wazion-settings"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q (output %q)", err, tt.want, out)
			}
			assertLacks(t, out, settingsToken)
		})
	}
}

func TestWazionSettingsLoopbackHTTP(t *testing.T) {
	out, _, err := cliRun(t, settingsEnv(), "wazion-settings", "--public-url", "http://127.0.0.1:8080")
	if err != nil {
		t.Fatalf("wazion-settings on loopback http: %v", err)
	}
	assertContains(t, out, "WARNING: http:// on a loopback host", "http://127.0.0.1:8080/wazion/globalSearch")
}

func TestWazionSettingsConfigFileJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stores.yaml")
	yaml := `stores:
  - name: uno
    api_key: wk_live_uno_key_12345
    tokens: [uno-token-12345678]
  - name: dos
    api_key: wk_live_dos_key_12345
    tokens: [dos-token-12345678]
    token_header: X-Shop-Token
server:
  margin: 1s
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := cliRun(t, nil, "wazion-settings", "--config", path, "--public-url", "https://crm.example.com", "--store", "dos", "--json")
	if err != nil {
		t.Fatalf("wazion-settings: %v", err)
	}
	var doc settingsDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if len(doc.Stores) != 1 || doc.Stores[0].Store != "dos" {
		t.Fatalf("stores = %+v, want only dos", doc.Stores)
	}
	s := doc.Stores[0]
	if len(s.URLs) != 5 || s.URLs[4].URL != "https://crm.example.com/wazion/globalSearch" {
		t.Errorf("urls = %+v", s.URLs)
	}
	if s.Auth != "header" || !strings.Contains(s.TokenLocation, "X-Shop-Token: dos-…") {
		t.Errorf("auth %q, token location %q: want header with the store's own header", s.Auth, s.TokenLocation)
	}
	if s.Token != "dos-…" || s.DeadlineOthers != "9s" || s.DeadlineGlobalSearch != "4s" {
		t.Errorf("token %q, deadlines %s/%s: want masked token and 1 s margin", s.Token, s.DeadlineGlobalSearch, s.DeadlineOthers)
	}
	assertLacks(t, out, "dos-token-12345678", "uno")

	// Without --store, every store is listed.
	out, _, err = cliRun(t, nil, "wazion-settings", "--config", path, "--public-url", "https://crm.example.com")
	if err != nil {
		t.Fatalf("wazion-settings: %v", err)
	}
	assertContains(t, out, `store "uno"`, `store "dos"`)
}

func TestParsePublicURL(t *testing.T) {
	tests := []struct {
		raw, base     string
		problem, warn bool
	}{
		{"https://crm.example.com", "https://crm.example.com", false, false},
		{" https://crm.example.com/base/ ", "https://crm.example.com/base", false, false},
		{"https://crm.example.com/wazion/", "https://crm.example.com", false, false},
		{"https://crm.example.com/x/wazion/search_Products", "https://crm.example.com/x", false, false},
		{"http://localhost:8080", "http://localhost:8080", false, true},
		{"http://[::1]:8080", "http://[::1]:8080", false, true},
		{"http://127.0.0.2", "http://127.0.0.2", false, true},
		{"http://10.0.0.5:8080", "http://10.0.0.5:8080", true, false},
		{"http://crm.example.com", "http://crm.example.com", true, false},
	}
	for _, tt := range tests {
		p, err := parsePublicURL(tt.raw)
		if err != nil {
			t.Errorf("parsePublicURL(%q): %v", tt.raw, err)
			continue
		}
		if p.base != tt.base || (p.httpsProblem != "") != tt.problem || (p.httpsWarning != "") != tt.warn {
			t.Errorf("parsePublicURL(%q) = %+v, want base %s, problem %t, warning %t", tt.raw, p, tt.base, tt.problem, tt.warn)
		}
	}
	for _, raw := range []string{"", "ftp://x", "https://", "https://u:p@x.com", "https://x.com/#f"} {
		if _, err := parsePublicURL(raw); err == nil {
			t.Errorf("parsePublicURL(%q) accepted", raw)
		}
	}
}

func TestGCDefaultLeavesGOGCToTheEnvironment(t *testing.T) {
	was := debug.SetGCPercent(100)
	defer debug.SetGCPercent(was)
	if setGCDefault(func(k string) (string, bool) { return "200", k == "GOGC" }) {
		t.Error("set the collector's target although GOGC was set")
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set the target became %d, want it left at 100", got)
	}
	if !setGCDefault(func(string) (string, bool) { return "", false }) {
		t.Error("left the collector's target without GOGC")
	}
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("without GOGC the target is %d, want %d", got, defaultGCPercent)
	}
}
