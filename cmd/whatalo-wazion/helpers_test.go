package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// Credentials of the test service's one store (named config.DefaultStoreName).
const (
	testToken         = "test-wazion-token"
	testWebhookSecret = "test-webhook-secret"
)

// testService is the service on 127.0.0.1 in front of a fake Whatalo,
// stopped by t.Cleanup.
type testService struct {
	URL  string // root, e.g. http://127.0.0.1:43211
	Fake *whatalotest.Server
	Logs *syncBuffer // the JSON log, at debug level
	svc  *service
}

// startService runs the service for one store configured from the
// environment (testToken, testWebhookSecret, region DO) against fake, which
// must accept fake.APIKey. env adds or overrides variables; configure, when
// not nil, edits the loaded configuration before the service is built (short
// TTLs, a disabled index).
func startService(t *testing.T, fake *whatalotest.Server, env map[string]string, configure func(*config.Config)) *testService {
	t.Helper()
	vars := map[string]string{
		"WHATALO_API_KEY":        fake.APIKey,
		"WAZION_TOKEN":           testToken,
		"WHATALO_BASE_URL":       fake.APIURL,
		"DEFAULT_REGION":         "DO",
		"WHATALO_WEBHOOK_SECRET": testWebhookSecret,
		"LISTEN_ADDR":            "127.0.0.1:0",
		"LOG_LEVEL":              "debug",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := loadConfig("", func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Server.ShutdownTimeout = 2 * time.Second
	if configure != nil {
		configure(cfg)
	}
	logs := &syncBuffer{}
	logger, err := newLogger(logs, cfg.LogLevel)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := newService(cfg, logger)
	if err != nil {
		t.Fatalf("newService: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return 10 s after its context ended")
		}
		svc.Close()
	})
	return &testService{URL: "http://" + ln.Addr().String(), Fake: fake, Logs: logs, svc: svc}
}

// get sends GET path (with its query) and returns the status and body.
func (ts *testService) get(t *testing.T, path string, header ...string) (int, string) {
	t.Helper()
	return ts.do(t, http.MethodGet, path, "", nil, header...)
}

// do sends a request; header is name, value pairs.
func (ts *testService) do(t *testing.T, method, path, contentType string, body []byte, header ...string) (int, string) {
	t.Helper()
	return doRequest(t, method, ts.URL+path, contentType, body, header...)
}

func doRequest(t *testing.T, method, u, contentType string, body []byte, header ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, redactURL(u), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, redactURL(u), err)
	}
	return resp.StatusCode, string(b)
}

// redactURL drops the query (it may hold a token) from test failure
// messages.
func redactURL(u string) string {
	base, _, _ := strings.Cut(u, "?")
	return base
}

// wazionPath is /wazion/<endpoint>?token=testToken&<kv pairs>.
func wazionPath(endpoint string, kv ...string) string {
	v := url.Values{"token": {testToken}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "/wazion/" + endpoint + "?" + v.Encode()
}

// scrape reads /metrics.
func (ts *testService) scrape(t *testing.T) promMetrics {
	t.Helper()
	return scrapeURL(t, ts.URL+"/metrics")
}

func scrapeURL(t *testing.T, u string) promMetrics {
	t.Helper()
	status, body := doRequest(t, http.MethodGet, u, "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: status %d: %s", status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// promMetrics is a parsed /metrics page.
type promMetrics map[string]*dto.MetricFamily

// sum adds up the counters or gauges (or histogram counts) of family name
// whose labels include every pair in labels (name, value, name, value...).
func (p promMetrics) sum(name string, labels ...string) float64 {
	mf := p[name]
	if mf == nil {
		return 0
	}
	var total float64
	for _, m := range mf.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			total += m.Untyped.GetValue()
		}
	}
	return total
}

// labelValues lists the values label takes in family name.
func (p promMetrics) labelValues(name, label string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range p[name].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label && !seen[lp.GetValue()] {
				seen[lp.GetValue()] = true
				out = append(out, lp.GetValue())
			}
		}
	}
	return out
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is an io.Writer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
