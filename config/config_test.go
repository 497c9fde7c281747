package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/redisshare"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFromEnv(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"WHATALO_API_KEY":    "wk_live_abcdef123456",
		"WAZION_TOKEN":       "tok-1234567890, tok-abcdefghij",
		"DEFAULT_REGION":     "do",
		"WHATALO_RATE_LIMIT": "500",
		"LISTEN_ADDR":        "127.0.0.1:9999",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Stores[0]
	if s.Name != DefaultStoreName || s.Region != "DO" || s.RateLimit != 500 || len(s.Tokens) != 2 {
		t.Errorf("store = %+v", s)
	}
	if s.LabelLanguage != "es" || s.BaseURL != whatalo.DefaultBaseURL || c.Listen != "127.0.0.1:9999" {
		t.Errorf("defaults not applied: %+v", s)
	}
	if c.Server.Margin != wazion.DefaultMargin || c.Server.AnswerTTL != DefaultAnswerTTL || c.Cache.Orders != time.Minute {
		t.Errorf("server/cache defaults: %+v %+v", c.Server, c.Cache)
	}
}

func TestFromEnvNamesBadVariable(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"WAZION_TOKEN": "tok-1234567890"}, "WHATALO_API_KEY: required"},
		{map[string]string{"WHATALO_API_KEY": "sk_nope_1", "WAZION_TOKEN": "tok-1234567890"}, "WHATALO_API_KEY: does not start"},
		{map[string]string{"WHATALO_API_KEY": "wk_test_x"}, "WAZION_TOKEN: at least one"},
		{map[string]string{"WHATALO_API_KEY": "wk_test_x", "WAZION_TOKEN": "short"}, "WAZION_TOKEN: must be at least 8"},
		{map[string]string{"WHATALO_API_KEY": "wk_test_x", "WAZION_TOKEN": "tok-1234567890", "WHATALO_RATE_LIMIT": "lots"}, "WHATALO_RATE_LIMIT"},
		{map[string]string{"WHATALO_API_KEY": "wk_test_x", "WAZION_TOKEN": "tok-1234567890", "LABEL_LANGUAGE": "xx"}, "LABEL_LANGUAGE"},
		{map[string]string{"WHATALO_API_KEY": "wk_test_x", "WAZION_TOKEN": "tok-1234567890", "WHATALO_BASE_URL": "ftp:/x"}, "WHATALO_BASE_URL"},
		{map[string]string{"WHATALO_API_KEY": "wk_test_x", "WAZION_TOKEN": "tok-1234567890", "DEFAULT_REGION": "DOM"}, "DEFAULT_REGION"},
		{map[string]string{"WHATALO_API_KEY": "wk_test_x", "WAZION_TOKEN": "tok-1234567890", "WAZION_ANSWER_TTL": "1h"}, "WAZION_ANSWER_TTL: must be at most 1m"},
		{map[string]string{"WHATALO_API_KEY": "wk_test_x", "WAZION_TOKEN": "tok-1234567890", "WAZION_ANSWER_TTL": "soon"}, "WAZION_ANSWER_TTL"},
	}
	for _, tt := range tests {
		_, err := FromEnv(env(tt.env))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("env %v: err = %v, want it to contain %q", tt.env, err, tt.want)
		}
	}
}

func TestErrorsNeverShowSecrets(t *testing.T) {
	_, err := FromEnv(env(map[string]string{"WHATALO_API_KEY": "sk_secret_value", "WAZION_TOKEN": "tiny"}))
	if err == nil {
		t.Fatal("want error")
	}
	for _, s := range []string{"sk_secret_value", "tiny"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows secret %q", err, s)
		}
	}
}

const twoStores = `
listen: 127.0.0.1:8081
cache:
  orders: 30s
stores:
  - name: tienda-do
    api_key: ${DO_KEY}
    tokens: [tok-do-123456789]
    region: DO
    webhook_secret: ${DO_HOOK}
    urls:
      customer: https://admin.example.com/c/{id}
    locales:
      - countries: [ES]
        locale: es-ES
        domain: https://shop.es
  - name: tienda-co
    api_key: wk_test_co000000
    tokens: [tok-co-123456789, tok-co-abcdefghi]
    token_header: X-Shop-Token
    region: co
    label_language: en
    rate_limit: 60
`

func TestParseYAML(t *testing.T) {
	c, err := Parse([]byte(twoStores), env(map[string]string{"DO_KEY": "wk_live_do000000", "DO_HOOK": "whsec_abc"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Stores) != 2 || c.Listen != "127.0.0.1:8081" || c.Cache.Orders != 30*time.Second {
		t.Fatalf("config = %+v", c)
	}
	do, co := c.Stores[0], c.Stores[1]
	if do.APIKey.Value() != "wk_live_do000000" || do.WebhookSecret.Value() != "whsec_abc" {
		t.Errorf("secrets not expanded")
	}
	if do.URLs.Customer != "https://admin.example.com/c/{id}" || do.Locales[0].Domain != "https://shop.es" {
		t.Errorf("urls/locales: %+v", do)
	}
	if co.Region != "CO" || co.LabelLanguage != "en" || co.RateLimit != 60 || co.TokenHeader != "X-Shop-Token" {
		t.Errorf("co = %+v", co)
	}
}

func TestParseYAMLErrorsNameTheField(t *testing.T) {
	tests := []struct {
		yaml, want string
	}{
		{"stores:\n  - name: a\n    api_key: ${MISSING}\n    tokens: [tok-123456789]\n", "stores[0].api_key: environment variable MISSING is not set"},
		{"stores:\n  - name: a\n    api_key: wk_test_1\n    tokens: [tok-123456789]\n    colour: red\n", "line 5: stores[0].colour: unknown field"},
		{"stores:\n  - name: a\n    api_key: wk_test_1\n    tokens: [tok-123456789]\n  - name: b\n    api_key: wk_test_2\n    tokens: [tok-123456789]\n", "stores[1].tokens[0]: is also a token of store \"a\""},
		{"stores:\n  - name: A B\n    api_key: wk_test_1\n    tokens: [tok-123456789]\n", "stores[0].name"},
		{"stores:\n  - name: a\n    api_key: wk_test_1\n    tokens: [tok-123456789]\n    orders: {count: 5, with_items: 9}\n", "stores[0].orders.with_items"},
		{"stores:\n  - name: a\n    api_key: wk_test_1\n    tokens: [tok-123456789]\n    token_header: 'X Bad'\n", "stores[0].token_header"},
		{"stores: []\n", "stores: at least one store"},
		{"stores:\n  - name: a\n    api_key: wk_test_1\n    tokens: [tok-123456789]\n    locales: [{locale: en}]\n", "stores[0].locales[0].countries"},
		{"tls_cert_file: a.pem\nstores:\n  - name: a\n    api_key: wk_test_1\n    tokens: [tok-123456789]\n", "tls_cert_file/tls_key_file"},
		{"stores: [\n", "YAML syntax: did not find expected node content"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("yaml %q: err = %v, want %q", tt.yaml, err, tt.want)
		}
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stores.yaml")
	if err := os.WriteFile(path, []byte(twoStores), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, env(map[string]string{"DO_KEY": "wk_live_do000000", "DO_HOOK": "h"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != path {
		t.Errorf("source = %q", c.Source)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.yaml"), env(nil)); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("missing file err = %v", err)
	}
}

func TestSecretRedaction(t *testing.T) {
	s := Secret("wk_live_supersecret")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "key", s)
	outs := []string{s.String(), fmt.Sprintf("%v %s %+v %#v", s, s, s, s), buf.String()}
	b, _ := s.MarshalJSON()
	outs = append(outs, string(b))
	for _, o := range outs {
		if strings.Contains(o, "supersecret") {
			t.Errorf("secret leaked in %q", o)
		}
	}
	if s.Value() != "wk_live_supersecret" {
		t.Error("Value lost the secret")
	}
	if m := s.Mask(); m != "wk_l…" {
		t.Errorf("Mask = %q, want wk_l…", m)
	}
}

// TestMaskShowsAtMostFourCharacters: keys and tokens of every length show
// at most 4 characters of themselves.
func TestMaskShowsAtMostFourCharacters(t *testing.T) {
	for _, v := range []string{"", "a", "short-tok", "tok-1234567", "tok-12345678", "settings-token-1234", "wk_live_0123456789abcdef0123456789"} {
		m := Secret(v).Mask()
		shown := []rune(strings.TrimSuffix(m, "…"))
		if len(shown) > 4 || (v != "" && !strings.HasSuffix(m, "…")) || !strings.HasPrefix(v, string(shown)) {
			t.Errorf("Mask(%q) = %q", v, m)
		}
	}
}

func TestRedisConfig(t *testing.T) {
	base := map[string]string{"WHATALO_API_KEY": "wk_test_abcdef", "WAZION_TOKEN": "tok-1234567890"}
	c, err := FromEnv(env(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.Enabled() || c.Redis.ExpectedReplicas != DefaultRedisReplicas || c.Redis.Timeout != redisshare.DefaultTimeout || c.Redis.KeyPrefix != redisshare.DefaultKeyPrefix {
		t.Errorf("without REDIS_URL: %+v", c.Redis)
	}

	withRedis := map[string]string{"REDIS_URL": "redis://:pw-s3cret@10.0.0.5:6379/2", "REDIS_EXPECTED_REPLICAS": "3"}
	for k, v := range base {
		withRedis[k] = v
	}
	c, err = FromEnv(env(withRedis))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Redis.Enabled() || c.Redis.URL.Value() != "redis://:pw-s3cret@10.0.0.5:6379/2" || c.Redis.ExpectedReplicas != 3 {
		t.Errorf("from environment: %+v", c.Redis)
	}
	if s := fmt.Sprintf("%v %+v", c.Redis, c.Redis); strings.Contains(s, "s3cret") {
		t.Errorf("printing the redis settings shows the password: %s", s)
	}

	yml := "redis:\n  url: ${REDIS}\n  expected_replicas: 4\n  key_prefix: 'shop-a:'\n  timeout: 20ms\n" +
		"stores:\n  - name: a\n    api_key: wk_test_1\n    tokens: [tok-123456789]\n"
	c, err = Parse([]byte(yml), env(map[string]string{"REDIS": "rediss://user:pw@cache:6380"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.URL.Value() != "rediss://user:pw@cache:6380" || c.Redis.ExpectedReplicas != 4 || c.Redis.KeyPrefix != "shop-a:" || c.Redis.Timeout != 20*time.Millisecond {
		t.Errorf("from YAML: %+v", c.Redis)
	}
}

func TestRedisConfigErrorsNameTheField(t *testing.T) {
	store := "stores:\n  - name: a\n    api_key: wk_test_1\n    tokens: [tok-123456789]\n"
	yamlCases := []struct{ yaml, want string }{
		{"redis:\n  url: http://user:pw-s3cret@host:6379\n" + store, "redis.url: must start with redis://"},
		{"redis:\n  url: 'redis://user:pw-s3cret@ho st:6379'\n" + store, "redis.url: is not a URL"},
		{"redis:\n  url: redis:///0\n" + store, "redis.url: names no host"},
		{"redis:\n  url: redis://h:6379\n  expected_replicas: -1\n" + store, "redis.expected_replicas"},
		{"redis:\n  url: redis://h:6379\n  timeout: 5s\n" + store, "redis.timeout"},
		{"redis:\n  url: ${NOPE}\n" + store, "redis.url: environment variable NOPE is not set"},
		{"redis:\n  urls: redis://h\n" + store, "line 2: redis.urls: unknown field (did you mean url?)"},
	}
	for _, tt := range yamlCases {
		_, err := Parse([]byte(tt.yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("yaml %q: err = %v, want %q", tt.yaml, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q shows the password", err)
		}
	}
	envCases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"REDIS_URL": "localhost:6379"}, "REDIS_URL: must start with redis://"},
		{map[string]string{"REDIS_URL": "redis://h:6379", "REDIS_EXPECTED_REPLICAS": "many"}, "REDIS_EXPECTED_REPLICAS"},
		{map[string]string{"REDIS_URL": "redis://h:6379", "REDIS_EXPECTED_REPLICAS": "5000"}, "REDIS_EXPECTED_REPLICAS: must be between 1 and 1000"},
	}
	for _, tt := range envCases {
		tt.env["WHATALO_API_KEY"], tt.env["WAZION_TOKEN"] = "wk_test_x", "tok-1234567890"
		_, err := FromEnv(env(tt.env))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("env %v: err = %v, want %q", tt.env, err, tt.want)
		}
	}
}

func TestConsoleConfig(t *testing.T) {
	base := map[string]string{"WHATALO_API_KEY": "wk_test_abcdef", "WAZION_TOKEN": "tok-1234567890"}
	c, err := FromEnv(env(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.Console.Enabled {
		t.Errorf("the console is on without being asked for: %+v", c.Console)
	}
	withPassword := map[string]string{"CONSOLE_PASSWORD": "a-long-s3cret-password"}
	for k, v := range base {
		withPassword[k] = v
	}
	c, err = FromEnv(env(withPassword))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Console.Enabled || c.Console.Password.Value() != "a-long-s3cret-password" || c.Console.SessionTTL != DefaultConsoleSessionTTL {
		t.Errorf("with CONSOLE_PASSWORD: %+v", c.Console)
	}
	if s := fmt.Sprintf("%v %+v", c.Console, c.Console); strings.Contains(s, "s3cret") {
		t.Errorf("printing the console settings shows the password: %s", s)
	}

	store := "stores:\n  - name: a\n    api_key: wk_test_1\n    tokens: [tok-123456789]\n"
	c, err = Parse([]byte("console:\n  enabled: true\n  public_url: https://crm.example.com\n  session_ttl: 1h\n"+store),
		env(map[string]string{"CONSOLE_PASSWORD": "from-the-environment"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Console.Enabled || c.Console.Password.Value() != "from-the-environment" || c.Console.PublicURL != "https://crm.example.com" || c.Console.SessionTTL != time.Hour {
		t.Errorf("from YAML: %+v", c.Console)
	}
	c, err = Parse([]byte(store), env(map[string]string{"CONSOLE_PASSWORD": "from-the-environment"}))
	if err != nil || c.Console.Enabled {
		t.Errorf("a YAML file without console: enables nothing: %v %+v", err, c.Console)
	}
}

func TestConsoleConfigErrorsNameTheField(t *testing.T) {
	store := "stores:\n  - name: a\n    api_key: wk_test_1\n    tokens: [tok-123456789]\n"
	for _, tt := range []struct{ yaml, want string }{
		{"console:\n  enabled: true\n  password: sh0rt\n" + store, "console.password: must be at least 12"},
		{"console:\n  enabled: true\n  public_url: crm.example.com\n" + store, "console.public_url"},
		{"console:\n  enabled: true\n  session_ttl: 1s\n" + store, "console.session_ttl"},
		{"console:\n  enabled: true\n  password: ${NOPE}\n" + store, "console.password: environment variable NOPE is not set"},
	} {
		_, err := Parse([]byte(tt.yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("yaml %q: err = %v, want %q", tt.yaml, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "sh0rt") {
			t.Errorf("error %q shows the password", err)
		}
	}
	_, err := FromEnv(env(map[string]string{"WHATALO_API_KEY": "wk_test_x", "WAZION_TOKEN": "tok-1234567890", "CONSOLE_ENABLED": "perhaps"}))
	if err == nil || !strings.Contains(err.Error(), "CONSOLE_ENABLED") {
		t.Errorf("CONSOLE_ENABLED=perhaps: err = %v", err)
	}
	_, err = FromEnv(env(map[string]string{"WHATALO_API_KEY": "wk_test_x", "WAZION_TOKEN": "tok-1234567890", "CONSOLE_PASSWORD": "short"}))
	if err == nil || !strings.Contains(err.Error(), "CONSOLE_PASSWORD: must be at least 12") {
		t.Errorf("CONSOLE_PASSWORD=short: err = %v", err)
	}
}

func TestTokenShare(t *testing.T) {
	base := map[string]string{"WHATALO_API_KEY": "wk_live_abcdef123456", "WAZION_TOKEN": "tok-1234567890"}
	c, err := FromEnv(env(base))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Stores[0].TokenShare; got != adapter.DefaultTokenShare {
		t.Errorf("default token_share = %v, want %v", got, adapter.DefaultTokenShare)
	}
	base["WHATALO_TOKEN_SHARE"] = "0.5"
	if c, err = FromEnv(env(base)); err != nil || c.Stores[0].TokenShare != 0.5 {
		t.Errorf("WHATALO_TOKEN_SHARE=0.5: %v, %v", err, c)
	}
	for _, v := range []string{"0", "1.5", "half"} {
		base["WHATALO_TOKEN_SHARE"] = v
		if _, err := FromEnv(env(base)); err == nil || !strings.Contains(err.Error(), "WHATALO_TOKEN_SHARE") {
			t.Errorf("WHATALO_TOKEN_SHARE=%s: err = %v, want it named", v, err)
		}
	}
	store := "stores:\n  - name: a\n    api_key: wk_test_1\n    tokens: [tok-123456789]\n"
	if c, err := Parse([]byte(store+"    token_share: 0.25\n"), env(nil)); err != nil || c.Stores[0].TokenShare != 0.25 {
		t.Errorf("token_share: 0.25: %v, %+v", err, c)
	}
	for yaml, want := range map[string]string{
		"    token_share: 2\n":   "stores[0].token_share: must be in (0, 1]",
		"    token_shares: 1\n":  "stores[0].token_shares: unknown field (did you mean token_share?)",
		"    token_share: lot\n": "stores[0].token_share",
	} {
		if _, err := Parse([]byte(store+yaml), env(nil)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("yaml %q: err = %v, want %q", yaml, err, want)
		}
	}
}
