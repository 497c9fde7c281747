package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestEveryCommandExplainsItself: each subcommand's -h prints what it
// does, its flags, the environment it reads and an example, on stdout, and
// ends successfully without running.
func TestEveryCommandExplainsItself(t *testing.T) {
	// Anything that would run (a health probe, a demo, a store lookup)
	// shows up here.
	var hits atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	env := map[string]string{
		"LISTEN_ADDR":      ln.Addr().String(),
		"WHATALO_API_KEY":  "wk_test_abcdefgh",
		"WAZION_TOKEN":     "help-token-123",
		"WHATALO_BASE_URL": "http://" + ln.Addr().String() + "/v1",
	}
	csv := filepath.Join(dir, "customers.csv")
	if err := os.WriteFile(csv, []byte("name,phone\nAna,8095550000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, h := range helps {
		for _, flag := range []string{"-h", "--help"} {
			args := append(strings.Fields(name), flag)
			if name == "import" {
				args = append(args, csv)
			}
			stdout, stderr, err := cliRun(t, env, args...)
			if err != nil {
				t.Errorf("%s %s: %v", name, flag, err)
				continue
			}
			if stderr != "" {
				t.Errorf("%s %s wrote to stderr: %q", name, flag, stderr)
			}
			want := []string{"Usage:", "\nFlags:\n", "\nExample:\n  " + h.example}
			if len(h.env) > 0 {
				want = append(want, "\nEnvironment:\n")
			}
			for _, e := range h.env {
				want = append(want, e+"  ")
				if envDocs[e] == "" {
					t.Errorf("%s reads %s, which envDocs does not explain", name, e)
				}
			}
			for _, w := range want {
				if !strings.Contains(stdout, w) {
					t.Errorf("%s %s: help lacks %q:\n%s", name, flag, w, stdout)
				}
			}
		}
		// The example itself names flags the command has: with -h after
		// them, a misspelt flag fails before the help.
		args := exampleArgs(t, h.example)
		if _, _, err := cliRun(t, env, append(args, "-h")...); err != nil {
			t.Errorf("example %q: %v", h.example, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("asking for help sent %d requests", n)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("asking for help left files: %v", entries)
	}
}

// exampleArgs are a documented command line's arguments after the
// program's name, without the VAR=value assignments before it.
func exampleArgs(t *testing.T, line string) []string {
	t.Helper()
	fields := strings.Fields(line)
	for len(fields) > 0 && strings.Contains(fields[0], "=") && !strings.HasPrefix(fields[0], "-") {
		fields = fields[1:]
	}
	switch {
	case len(fields) >= 1 && fields[0] == "whatalo-wazion":
		return fields[1:]
	case len(fields) >= 3 && fields[0] == "go" && fields[1] == "run" && fields[2] == "./cmd/whatalo-wazion":
		return fields[3:]
	}
	t.Fatalf("%q is not a whatalo-wazion command line", line)
	return nil
}

// TestHealthcheckFindsTheServiceAsServeDoes: with listen: in the file, the
// probe goes to that port; LISTEN_ADDR wins over it for both; TLS in the
// file makes it speak HTTPS.
func TestHealthcheckFindsTheServiceAsServeDoes(t *testing.T) {
	var hits atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			hits.Add(1)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stores := "stores:\n  - name: a\n    api_key: ${KEY}\n    tokens: [tok-123456789]\n"
	plain := write("plain.yaml", "listen: "+addr+"\n"+stores)
	elsewhere := write("elsewhere.yaml", "listen: 127.0.0.1:1\n"+stores)
	tlsFile := write("tls.yaml", "listen: "+addr+"\ntls_cert_file: c.pem\ntls_key_file: k.pem\n"+stores)

	if _, _, err := cliRun(t, nil, "healthcheck", "--config", plain); err != nil {
		t.Errorf("healthcheck --config with listen: %v", err)
	}
	if _, _, err := cliRun(t, map[string]string{"WAZION_CONFIG": plain}, "healthcheck"); err != nil {
		t.Errorf("healthcheck with WAZION_CONFIG: %v", err)
	}
	if _, _, err := cliRun(t, map[string]string{"LISTEN_ADDR": addr}, "healthcheck", "--config", elsewhere); err != nil {
		t.Errorf("LISTEN_ADDR does not win over listen: %v", err)
	}
	if _, _, err := cliRun(t, nil, "healthcheck", "--config", elsewhere); err == nil {
		t.Error("healthcheck passed probing a port nothing listens on")
	}
	if hits.Load() != 3 {
		t.Errorf("/healthz asked %d times, want 3", hits.Load())
	}
	// The plain-HTTP server cannot answer a TLS handshake: the probe
	// spoke HTTPS, as the service in that file would.
	if _, _, err := cliRun(t, nil, "healthcheck", "--config", tlsFile); err == nil || !strings.Contains(err.Error(), "http") {
		t.Errorf("healthcheck of a TLS config against plain HTTP: err = %v", err)
	}

	// serve reads the same precedence: LISTEN_ADDR over the file.
	cfg, err := loadConfig(elsewhere, func(k string) string {
		return map[string]string{"KEY": "wk_test_abcdef", "LISTEN_ADDR": addr}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != addr {
		t.Errorf("serve would listen on %s, want LISTEN_ADDR's %s", cfg.Listen, addr)
	}
}
