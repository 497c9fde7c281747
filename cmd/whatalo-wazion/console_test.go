package main

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/wazion/console"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

const testConsolePassword = "console-password-1234"

// consoleClient is a signed-in console session over HTTP.
type consoleClient struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func signInConsole(t *testing.T, base, store, password string) *consoleClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &consoleClient{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	var s struct{ CSRF string }
	if status := c.call(http.MethodGet, "/console/api/session", nil, &s); status != http.StatusOK {
		t.Fatalf("session: %d", status)
	}
	c.csrf = s.CSRF
	if status := c.call(http.MethodPost, "/console/api/signin", map[string]string{"store": store, "password": password}, &s); status != http.StatusOK {
		t.Fatalf("sign in: %d", status)
	}
	c.csrf = s.CSRF
	return c
}

// call sends a request with the session's CSRF token and decodes the JSON
// answer into out.
func (c *consoleClient) call(method, path string, body any, out any) int {
	c.t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("{}")
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(console.HeaderCSRF, c.csrf)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			c.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func TestConsoleIsOffUnlessEnabled(t *testing.T) {
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
	ts := startService(t, fake, nil, nil)
	if status, _ := ts.get(t, "/console/"); status != http.StatusNotFound {
		t.Errorf("GET /console/ with the console off: %d, want 404", status)
	}
	if status, _ := ts.get(t, "/console/api/session"); status != http.StatusNotFound {
		t.Errorf("GET /console/api/session with the console off: %d, want 404", status)
	}
}

// TestConsolePreviewIsAWazionRequest: a preview is answered by the store's
// WAzion endpoint, so it counts in /metrics, and its errors reach the
// status page's list like WAzion's own.
func TestConsolePreviewIsAWazionRequest(t *testing.T) {
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
	ts := startService(t, fake, map[string]string{"CONSOLE_PASSWORD": testConsolePassword}, nil)
	c := signInConsole(t, ts.URL, "", testConsolePassword)

	before := ts.scrape(t).sum("whatalo_wazion_requests_total", "endpoint", wazion.EndpointCustomerInfo, "store", "default")
	var p struct {
		CustomerInfo wazion.CustomerInfoResponse `json:"customer_info"`
		InitialInfo  wazion.InitialInfoResponse  `json:"initial_info"`
	}
	if status := c.call(http.MethodGet, "/console/api/stores/default/preview?q="+url.QueryEscape(demoPhone), nil, &p); status != http.StatusOK {
		t.Fatalf("preview: %d", status)
	}
	if len(p.CustomerInfo.Customers) == 0 || p.CustomerInfo.Customers[0].Name != "María García" || len(p.CustomerInfo.Customers[0].Orders) == 0 {
		t.Errorf("preview = %+v, want María García with her orders", p.CustomerInfo)
	}
	if !strings.Contains(p.InitialInfo.Info, "María García") {
		t.Errorf("AI text = %q", p.InitialInfo.Info)
	}
	// The preview is the endpoint's answer, byte for byte.
	_, direct := ts.get(t, wazionPath(wazion.EndpointCustomerInfo, "phone", demoPhone))
	var d wazion.CustomerInfoResponse
	if err := json.Unmarshal([]byte(direct), &d); err != nil || d.Customers[0].Name != p.CustomerInfo.Customers[0].Name || len(d.Customers[0].Orders) != len(p.CustomerInfo.Customers[0].Orders) {
		t.Errorf("the endpoint answers differently: %v %s", err, direct)
	}
	after := ts.scrape(t).sum("whatalo_wazion_requests_total", "endpoint", wazion.EndpointCustomerInfo, "store", "default")
	if after != before+2 {
		t.Errorf("sidePanel_CustomerInfo requests went %v -> %v, want +2 (the preview and the direct call)", before, after)
	}
	if !strings.Contains(ts.Logs.String(), `"request_id":"console-`) {
		t.Error("no access log line with a console- request id")
	}

	// A failing lookup, from WAzion itself, shows in the console's status.
	ts.get(t, wazionPath(wazion.EndpointCustomerInfo, "phone", "not-a-phone"))
	var st struct {
		Index  struct{ State string }
		Errors []struct{ Endpoint, Phone, Error string }
	}
	eventually(t, 10*time.Second, "the index to be ready", func() bool {
		c.call(http.MethodGet, "/console/api/stores/default/status", nil, &st)
		return st.Index.State == "ready"
	})
	if len(st.Errors) == 0 || st.Errors[0].Endpoint != wazion.EndpointCustomerInfo || !strings.Contains(st.Errors[0].Error, "not-a-phone") {
		t.Errorf("last errors = %+v, want the failing lookup first", st.Errors)
	}
}

// TestConsoleRegistersTheWebhook follows webhooks register's rules: https
// only, no second subscription on one URL, and the configured secret.
func TestConsoleRegistersTheWebhook(t *testing.T) {
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
	ts := startService(t, fake, map[string]string{"CONSOLE_PASSWORD": testConsolePassword}, nil)
	c := signInConsole(t, ts.URL, "default", testToken)

	var e struct{ Error string }
	if status := c.call(http.MethodPost, "/console/api/stores/default/webhooks", map[string]string{"public_url": ts.URL}, &e); status != http.StatusBadRequest ||
		!strings.Contains(e.Error, "only to https") {
		t.Errorf("register on http: %d %q, want the https rule", status, e.Error)
	}
	var r console.Registration
	if status := c.call(http.MethodPost, "/console/api/stores/default/webhooks", map[string]string{"public_url": "https://crm.example.com"}, &r); status != http.StatusOK {
		t.Fatalf("register: %d", status)
	}
	if r.URL != "https://crm.example.com/webhooks/whatalo/default" || r.Secret != "" || !strings.Contains(r.Next, "configured webhook secret") {
		t.Errorf("registration = %+v", r)
	}
	hooks := fake.Webhooks()
	if len(hooks) != 1 || hooks[0].Secret != testWebhookSecret || hooks[0].URL != r.URL {
		t.Errorf("Whatalo's subscriptions = %+v, want one at %s signed with the configured secret", hooks, r.URL)
	}
	if status := c.call(http.MethodPost, "/console/api/stores/default/webhooks", map[string]string{"public_url": "https://crm.example.com"}, &e); status != http.StatusBadRequest ||
		!strings.Contains(e.Error, "already has subscription") {
		t.Errorf("second registration: %d %q, want a refusal", status, e.Error)
	}
	var w console.WebhookState
	if status := c.call(http.MethodGet, "/console/api/stores/default/webhooks?public_url="+url.QueryEscape("https://crm.example.com"), nil, &w); status != http.StatusOK || !w.Covered {
		t.Errorf("webhook state: %d %+v, want covered", status, w)
	}
}
