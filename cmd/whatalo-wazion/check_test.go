package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/adapter/redisshare/redistest"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// cliRun runs the program with args after its name, a fixed environment
// and a deadline, and returns its standard output, standard error and
// error (non-nil means exit status 1).
func cliRun(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, append([]string{"whatalo-wazion"}, args...), func(k string) string { return env[k] }, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// checkEnv is a one-store environment against fake with apiKey.
func checkEnv(fake *whatalotest.Server, apiKey string) map[string]string {
	return map[string]string{
		"WHATALO_API_KEY":  apiKey,
		"WAZION_TOKEN":     "check-wazion-token",
		"WHATALO_BASE_URL": fake.APIURL,
	}
}

// closedURL is a base URL on 127.0.0.1 where nothing listens.
func closedURL(t *testing.T) string {
	return "http://" + closedAddr(t) + "/v1"
}

// closedAddr is an address on 127.0.0.1 where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func assertContains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func assertLacks(t *testing.T, out string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(out, u) {
			t.Errorf("output contains %q:\n%s", u, out)
		}
	}
}

func TestCheckUsableStore(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	out, _, err := cliRun(t, checkEnv(fake, fake.APIKey), "check")
	if err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	assertContains(t, out,
		`Store "default": usable`,
		"Tienda Demo (country DO, currency DOP)",
		"read:customers granted", "read:orders granted", "read:products granted",
		"test key: limited to 100 requests/minute", "use a wk_live_ key in production",
		"1 of 1 store(s) usable")
	assertLacks(t, out, fake.APIKey, "FAIL")
	st := fake.Stats()
	if st.Total != 4 {
		t.Errorf("check made %d Whatalo requests, want 4 (store, customers, orders, products): %v", st.Total, st.PerRoute)
	}
	for _, route := range []string{"GET /v1/store", "GET /v1/customers", "GET /v1/orders", "GET /v1/products"} {
		if st.PerRoute[route] != 1 {
			t.Errorf("%s called %d times, want 1 (%v)", route, st.PerRoute[route], st.PerRoute)
		}
	}
}

func TestCheckRejectedKey(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	const wrongKey = "wk_live_not_a_key_of_this_store"
	out, stderr, err := cliRun(t, checkEnv(fake, wrongKey), "check")
	if err == nil {
		t.Fatalf("check passed with a rejected key:\n%s", out)
	}
	assertContains(t, out,
		`Store "default": NOT USABLE`,
		"the API key was rejected (401)",
		"Settings > Developer > API Keys",
		"set WHATALO_API_KEY",
		"not tried: the API key was rejected")
	assertLacks(t, out+stderr+err.Error(), wrongKey)
	if got := fake.Stats().Total; got != 1 {
		t.Errorf("check made %d requests after a 401, want 1", got)
	}
}

func TestCheckMissingScope(t *testing.T) {
	const key = "wk_live_scoped_without_orders"
	fake := whatalotest.NewServer(t, nil, whatalotest.WithKeyScopes(key,
		whatalotest.ScopeReadStore, whatalotest.ScopeReadCustomers, whatalotest.ScopeReadProducts))
	out, _, err := cliRun(t, checkEnv(fake, key), "check")
	if err == nil {
		t.Fatalf("check passed with a key lacking read:orders:\n%s", out)
	}
	assertContains(t, out,
		"FAIL  orders     the key lacks read:orders (403)",
		"ok    customers  read:customers granted",
		"ok    products   read:products granted",
		"ok    store      Tienda Demo")
	assertLacks(t, out, "test key", key)
}

func TestCheckMissingStoreScope(t *testing.T) {
	const key = "wk_live_scoped_without_store"
	fake := whatalotest.NewServer(t, nil, whatalotest.WithKeyScopes(key,
		whatalotest.ScopeReadCustomers, whatalotest.ScopeReadOrders, whatalotest.ScopeReadProducts))
	out, _, err := cliRun(t, checkEnv(fake, key), "check")
	if err == nil {
		t.Fatalf("check passed with a key lacking read:store:\n%s", out)
	}
	// A missing scope does not stop the other probes.
	assertContains(t, out, "FAIL  store      the key lacks read:store (403)", "ok    orders     read:orders granted")
}

func TestCheckUnreachable(t *testing.T) {
	dead := closedURL(t)
	env := map[string]string{"WHATALO_API_KEY": "wk_live_some_key_123", "WAZION_TOKEN": "check-wazion-token", "WHATALO_BASE_URL": dead}
	start := time.Now()
	out, _, err := cliRun(t, env, "check")
	if err == nil {
		t.Fatalf("check passed with nothing listening:\n%s", out)
	}
	assertContains(t, out, "cannot reach "+dead, "check WHATALO_BASE_URL and the network", "not tried: Whatalo is unreachable")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a refused connection took %s to report", d)
	}
}

func TestCheckWrongBaseURL(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	env := checkEnv(fake, fake.APIKey)
	env["WHATALO_BASE_URL"] = fake.URL // the root, without /v1
	out, _, err := cliRun(t, env, "check")
	if err == nil {
		t.Fatalf("check passed against the wrong base URL:\n%s", out)
	}
	assertContains(t, out, "answered 404", "check WHATALO_BASE_URL (it ends in /v1")
}

func TestCheckInvalidConfig(t *testing.T) {
	env := map[string]string{"WAZION_TOKEN": "short"}
	out, _, err := cliRun(t, env, "check")
	if err == nil {
		t.Fatal("check passed without an API key")
	}
	assertContains(t, out, "NOT VALID", "WHATALO_API_KEY: required", "WAZION_TOKEN: must be at least 8 characters")

	out, _, err = cliRun(t, env, "check", "--json")
	if err == nil {
		t.Fatal("check --json passed without an API key")
	}
	var rep checkReport
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", jerr, out)
	}
	if rep.OK || !strings.Contains(rep.Error, "WHATALO_API_KEY") || len(rep.Stores) != 0 {
		t.Errorf("report = %+v, want ok false, an error naming WHATALO_API_KEY and no stores", rep)
	}
}

func TestCheckJSONManyStores(t *testing.T) {
	const goodKey = "wk_live_good_key_of_tienda"
	fake := whatalotest.NewServer(t, nil, whatalotest.WithAPIKeys(goodKey))
	dir := t.TempDir()
	path := filepath.Join(dir, "stores.yaml")
	yaml := `stores:
  - name: tienda
    api_key: ${GOOD_KEY}
    base_url: ` + fake.APIURL + `
    tokens: [tienda-token-123]
    rate_limit: 1200
  - name: otra
    api_key: wk_live_revoked_key_1234
    base_url: ` + fake.APIURL + `
    tokens: [otra-token-1234]
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := cliRun(t, map[string]string{"GOOD_KEY": goodKey}, "check", "--config", path, "--json")
	if err == nil || !strings.Contains(err.Error(), "otra") {
		t.Fatalf("err = %v, want a failure naming store otra", err)
	}
	var rep checkReport
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", jerr, out)
	}
	if rep.OK || rep.Config != path || len(rep.Stores) != 2 {
		t.Fatalf("report = %+v, want ok false, config %s, two stores", rep, path)
	}
	good, bad := rep.Stores[0], rep.Stores[1]
	if good.Name != "tienda" || !good.OK || len(good.Checks) != 4 {
		t.Errorf("store tienda = %+v, want usable with 4 checks", good)
	}
	for _, c := range good.Checks {
		if !c.OK {
			t.Errorf("tienda check %s failed: %s", c.Name, c.Message)
		}
	}
	if len(good.Warnings) != 1 || !strings.Contains(good.Warnings[0], "above the key's published limit of 1000/minute") {
		t.Errorf("tienda warnings = %q, want the rate limit warning", good.Warnings)
	}
	if bad.Name != "otra" || bad.OK || len(bad.Checks) != 4 || bad.Checks[0].OK {
		t.Fatalf("store otra = %+v, want not usable", bad)
	}
	if msg := bad.Checks[0].Message; !strings.Contains(msg, "(401)") || !strings.Contains(msg, "stores[1].api_key in "+path) {
		t.Errorf("otra store message = %q, want the 401 and the field to fix", msg)
	}
	assertLacks(t, out, goodKey, "wk_live_revoked_key_1234")
	if good.APIKey != "wk_l…" {
		t.Errorf("api_key = %q, want the masked key", good.APIKey)
	}
}

func TestCheckHelp(t *testing.T) {
	out, _, err := cliRun(t, nil, "check", "--help")
	if err != nil {
		t.Fatalf("check --help: %v", err)
	}
	assertContains(t, out, "Usage: whatalo-wazion check", "-json", "-timeout")
	assertLacks(t, out, "Configuration")
}

// With Redis configured, check says whether it answers, fails when it
// does not, and its probes take their turns from the shared budget.
func TestCheckRedis(t *testing.T) {
	srv := redistest.Start(t)
	fake := whatalotest.NewServer(t, nil)
	env := checkEnv(fake, fake.APIKey)
	env["REDIS_URL"] = srv.URL

	out, _, err := cliRun(t, env, "check")
	if err != nil {
		t.Fatalf("check with Redis up: %v\n%s", err, out)
	}
	assertContains(t, out, "ok    redis", "replicas share the budget", "1 of 1 store(s) usable")
	if keys := sharedBudgetKeys(t, srv); len(keys) == 0 {
		t.Error("check's probes left no trace in the shared budget")
	}

	// A Redis that does not answer: the stores are still probed, but the
	// check fails and says what to fix, without the URL's password.
	env["REDIS_URL"] = "redis://:s3cret-redis-pass@" + closedAddr(t) + "/0"
	out, stderr, err := cliRun(t, env, "check", "--json")
	if err == nil {
		t.Fatalf("check passed with Redis unreachable:\n%s", out)
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	if rep.OK || rep.Redis == nil || rep.Redis.OK || !strings.Contains(rep.Redis.Message, "REDIS_URL") || !strings.Contains(rep.Redis.Message, "connection refused") {
		t.Errorf("report with Redis unreachable: ok=%v redis=%+v", rep.OK, rep.Redis)
	}
	if len(rep.Stores) != 1 || !rep.Stores[0].OK {
		t.Errorf("store not probed, or not usable, with Redis down: %+v", rep.Stores)
	}
	assertLacks(t, out+stderr+err.Error(), "s3cret-redis-pass")
}
