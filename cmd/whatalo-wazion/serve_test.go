package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startServe runs the real program's serve command until the returned cancel
// is called; the returned channel is closed when run returns, with its
// error in *runErr.
func startServe(t *testing.T, env map[string]string) (cancel context.CancelFunc, done <-chan struct{}, runErr *error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan struct{})
	logs := &syncBuffer{}
	runErr = new(error)
	go func() {
		defer close(ch)
		*runErr = run(ctx, []string{"whatalo-wazion", "serve"}, func(k string) string { return env[k] }, logs, logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return cancel, ch, runErr
}

func waitUp(t *testing.T, client *http.Client, url string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}

// TestGracefulShutdown: on SIGTERM (the context's end) the service stops
// accepting, finishes the request in flight, and run returns nil.
func TestGracefulShutdown(t *testing.T) {
	fake := whatalotest.NewServer(t, nil, whatalotest.WithLatency(400*time.Millisecond))
	addr := freeAddr(t)
	stop, done, runErr := startServe(t, map[string]string{
		"WHATALO_API_KEY": fake.APIKey, "WAZION_TOKEN": testToken, "WHATALO_BASE_URL": fake.APIURL,
		"DEFAULT_REGION": "DO", "LISTEN_ADDR": addr,
	})
	base := "http://" + addr
	waitUp(t, http.DefaultClient, base+"/healthz")

	type result struct {
		body map[string]any
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/wazion/sidePanel_CustomerInfo?token=" + testToken + "&phone=%2B18095551234")
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var body map[string]any
		err = json.NewDecoder(resp.Body).Decode(&body)
		inflight <- result{body, err}
	}()
	time.Sleep(150 * time.Millisecond) // the request is now waiting on the slow upstream
	stop()

	r := <-inflight
	if r.err != nil {
		t.Fatalf("in-flight request lost: %v", r.err)
	}
	if r.body["found"] != true {
		t.Errorf("in-flight request answered %v", r.body)
	}
	select {
	case <-done:
		if *runErr != nil {
			t.Errorf("run returned %v, want nil", *runErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after shutdown")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

// TestServeTLS: with a certificate and key the service speaks HTTPS, TLS 1.2
// or newer only.
func TestServeTLS(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	certFile, keyFile, pool := selfSigned(t)
	addr := freeAddr(t)
	startServe(t, map[string]string{
		"WHATALO_API_KEY": fake.APIKey, "WAZION_TOKEN": testToken, "WHATALO_BASE_URL": fake.APIURL,
		"LISTEN_ADDR": addr, "TLS_CERT_FILE": certFile, "TLS_KEY_FILE": keyFile,
	})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + addr
	waitUp(t, client, base+"/healthz")
	resp, err := client.Get(base + "/wazion/sidePanel_CustomerInfo?test=true&token=" + testToken)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.TLS == nil || !strings.Contains(string(body), `"found":true`) {
		t.Errorf("HTTPS answer: tls=%v body=%s", resp.TLS != nil, body)
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11,
	}}}
	if resp, err := old.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("TLS 1.1 accepted")
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil && resp.StatusCode == http.StatusOK {
		resp.Body.Close()
		t.Error("plain HTTP answered on the TLS port")
	}
}

// TestServeBadTLSFiles: a missing certificate fails at start, naming the
// problem.
func TestServeBadTLSFiles(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	dir := t.TempDir()
	_, done, runErr := startServe(t, map[string]string{
		"WHATALO_API_KEY": fake.APIKey, "WAZION_TOKEN": testToken, "WHATALO_BASE_URL": fake.APIURL,
		"LISTEN_ADDR": freeAddr(t), "TLS_CERT_FILE": filepath.Join(dir, "none.pem"), "TLS_KEY_FILE": filepath.Join(dir, "none.key"),
	})
	select {
	case <-done:
		if err := *runErr; err == nil || !strings.Contains(err.Error(), "TLS certificate") {
			t.Errorf("err = %v, want a TLS certificate error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve started without its certificate")
	}
}

// selfSigned writes a certificate for 127.0.0.1 and returns the files and a
// pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
