package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to write from run and read from the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

// start runs the program with args and returns its API base URL and a
// function that stops it and returns run's error.
func start(t *testing.T, args []string, getenv func(string) string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"whatalo-fake"}, args...), getenv, &stdout, &stderr) }()
	re := regexp.MustCompile(`API base URL: (\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			stop := func() error {
				cancel()
				select {
				case err := <-done:
					return err
				case <-time.After(10 * time.Second):
					t.Fatal("run did not return after cancel")
					return nil
				}
			}
			return m[1], &stdout, stop
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("run returned early: %v (stderr %s)", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no base URL printed: %q", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fetch(t *testing.T, url, key string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

func TestRunServesGeneratedStore(t *testing.T) {
	base, stdout, stop := start(t, []string{"--listen", "127.0.0.1:0", "--generate", "40", "--api-key", "wk_test_a",
		"--api-key", "wk_live_b", "--rate-limit", "7"}, noEnv)
	if !strings.Contains(stdout.String(), "wk_test_a wk_live_b") || !strings.Contains(stdout.String(), "40 customers") {
		t.Errorf("banner: %s", stdout.String())
	}
	resp, body := fetch(t, base+"/customers/count", "wk_live_b")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Limit") != "7" {
		t.Errorf("count: %d limit %s", resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"))
	}
	if data, _ := body["data"].(map[string]any); data["count"] != float64(40) {
		t.Errorf("count body %v", body)
	}
	if resp, _ := fetch(t, base+"/store", "wk_test_demo"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("default key accepted although keys were given: %d", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, err := http.Get(base + "/store"); err == nil {
		t.Error("still serving after shutdown")
	}
}

func TestRunServesDemoAndSeedFile(t *testing.T) {
	base, _, stop := start(t, []string{"--listen", "127.0.0.1:0"}, noEnv)
	_, body := fetch(t, base+"/store", "wk_test_demo")
	if data, _ := body["data"].(map[string]any); data["name"] != "Tienda Demo" {
		t.Errorf("demo store: %v", body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(t.TempDir(), "seed.json")
	seed := `{"store":{"id":"str_f","name":"Tienda Archivo","currency":"COP"},
	  "customers":[{"id":"1","name":"Ana","phone":"+573001112233","created_at":"now-1d"}]}`
	if err := os.WriteFile(file, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		return map[string]string{"WHATALO_FAKE_LISTEN": "127.0.0.1:0", "WHATALO_FAKE_API_KEYS": "wk_test_env"}[k]
	}
	base, _, stop = start(t, []string{"--seed", file}, env)
	_, body = fetch(t, base+"/store", "wk_test_env")
	if data, _ := body["data"].(map[string]any); data["name"] != "Tienda Archivo" {
		t.Errorf("seed-file store: %v", body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.json")
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"customers":[{"id":"1","name":"A","created_at":"ayer"}]}`), 0o600)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--generate", "-1"}, "--generate"},
		{[]string{"--window", "0s"}, "--window"},
		{[]string{"--rate-limit", "-5"}, "--rate-limit"},
		{[]string{"--latency", "soon"}, "latency"},
		{[]string{"--latency", "-1s"}, "--latency"},
		{[]string{"--seed", missing}, "--seed"},
		{[]string{"--seed", bad, "--listen", "127.0.0.1:0"}, "created_at"},
		{[]string{"--seed", "x.json", "--generate", "5"}, "choose one"},
		{[]string{"--listen", "nocolon"}, "--listen"},
		{[]string{"--nope"}, "nope"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--api-key", ""}, "api-key"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"whatalo-fake"}, tt.args...), noEnv, &stdout, &stderr)
		if err == nil {
			t.Errorf("%v: no error", tt.args)
			continue
		}
		if !strings.Contains(err.Error()+stderr.String(), tt.want) {
			t.Errorf("%v: error %q (stderr %q) does not name %q", tt.args, err, stderr.String(), tt.want)
		}
	}
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"whatalo-fake", "--help"}, noEnv, &bytes.Buffer{}, &stderr); err != nil ||
		!strings.Contains(stderr.String(), "-rate-limit") {
		t.Errorf("--help: %v, usage %q", err, stderr.String())
	}
}
