package main

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/console.png from the demo")

// chromiumPath finds Chromium; the browser tests fail without it, as the
// replica tests do without redis-server (.ci/run installs both).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: apt-get install -y chromium (the console's browser tests need it)")
	return ""
}

// newBrowser starts headless Chromium with a fresh profile, closed by
// t.Cleanup.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// page drives one browser tab through the console.
type page struct {
	t   *testing.T
	ctx context.Context
}

// do runs steps, failing the test with what was being done.
func (p page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// until polls a JavaScript expression until it is truthy and returns its
// value.
func until[T any](p page, what, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		p.t.Fatalf("waiting for %s: %v", what, err)
	}
	return v
}

func eval[T any](p page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// screenshot writes the viewport to dir/name.
func (p page) screenshot(dir, name string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return path
}

func (p page) signIn(base, store, password string) {
	p.t.Helper()
	p.do("open the console",
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(chromedp.CSS("#signin-form")),
		fill("#signin-store", store),
		fill("#signin-password", password),
		chromedp.Click(chromedp.CSS("#signin-submit")),
	)
}

func (p page) signOut() {
	p.t.Helper()
	p.do("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
}

// tab opens one of the console's tabs.
func (p page) tab(name string) {
	p.t.Helper()
	p.do("open the "+name+" tab", chromedp.Click(chromedp.CSS("#tabbtn-"+name)), chromedp.WaitVisible(chromedp.CSS("#tab-"+name)))
}

func (p page) preview(q string) {
	p.t.Helper()
	p.tab("preview")
	p.do("preview "+q,
		fill("#preview-q", q),
		chromedp.Click(chromedp.CSS("#preview-go")),
	)
}

// TestConsoleInBrowser signs in to the demo's console in headless Chromium
// as the operator and goes through what a new store owner would: the
// settings to paste into WAzion, the preview of María García, the status
// after a failing lookup, and a wrong password.
func TestConsoleInBrowser(t *testing.T) {
	d := startDemo(t, nil)
	base, password := d.base, d.password
	// CONSOLE_SCREENSHOTS keeps the screenshots in a directory of one's
	// choice, to look at them.
	shots := os.Getenv("CONSOLE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	p := page{t: t, ctx: newBrowser(t)}

	p.signIn(base, "", password)
	p.do("see the console", chromedp.WaitVisible(chromedp.CSS("#app")))
	if who := until[string](p, "the session bar", `document.querySelector('#who').textContent`); who != "Operator" {
		t.Errorf("signed in as %q, want Operator", who)
	}

	// Setup: every copy button holds its endpoint's URL.
	urls := until[[]string](p, "the five endpoint URLs", `(() => {
		const b = [...document.querySelectorAll('#urls tbody button.copy')].map((b) => b.getAttribute('data-copy'));
		return b.length === 5 ? b : null;
	})()`)
	for i, ep := range wazion.Endpoints() {
		if want := base + "/wazion/" + ep; i >= len(urls) || urls[i] != want {
			t.Errorf("copy button %d holds %q, want %q", i, urls, want)
		}
	}
	if tok := eval[string](p, `document.querySelector('#token-value').textContent`); strings.Contains(tok, demoToken) {
		t.Errorf("the token is shown before Reveal: %q", tok)
	}
	p.do("reveal the token", chromedp.Click(chromedp.CSS("#reveal-token")))
	if tok := until[string](p, "the revealed token", `document.querySelector('#copy-token').getAttribute('data-copy')`); tok != demoToken {
		t.Errorf("revealed token = %q, want the demo's", tok)
	}
	until[bool](p, "the webhook URL", `document.querySelector('#webhook-url')?.textContent === `+jsString(base+"/webhooks/whatalo/default"))
	until[bool](p, "the key check", `document.querySelector('#check-summary')?.textContent.startsWith('The key works')`)
	p.screenshot(shots, "setup.png")

	// A POST without the CSRF token is refused, from the page itself.
	if status := eval[int](p, `fetch('/console/api/stores/default/check', {method: 'POST'}).then((r) => r.status)`); status != 403 {
		t.Errorf("POST without CSRF token: %d, want 403", status)
	}

	// Preview: the side panel for María García, with her orders and items.
	p.preview("+18095551234")
	if name := until[string](p, "the customer card", `document.querySelector('#preview-panel .customer .cname')?.textContent`); name != "María García" {
		t.Errorf("customer = %q, want María García", name)
	}
	orders := until[[]string](p, "her orders", `(() => { const o = [...document.querySelectorAll('#preview-panel .order .oname')].map((e) => e.textContent); return o.length ? o : null })()`)
	if !containsAll(orders, "#1003", "#1001") {
		t.Errorf("orders = %v, want #1003 and #1001 among them", orders)
	}
	items := eval[string](p, `document.querySelector('#preview-panel').textContent`)
	for _, want := range []string{"Camiseta Premium - L", "Gorra Bordada", "Procesando"} {
		if !strings.Contains(items, want) {
			t.Errorf("the side panel lacks %q", want)
		}
	}
	if ai := until[string](p, "the AI text", `document.querySelector('#preview-ai').textContent`); !strings.Contains(ai, "María García") {
		t.Errorf("AI text = %q, want it to name María García", ai)
	}
	p.do("search products",
		fill("#products-q", "camiseta"),
		chromedp.Click(chromedp.CSS("#products-go")),
	)
	until[bool](p, "the product search", `document.querySelector('#products-normal').textContent.includes('Camiseta Premium') && document.querySelector('#products-ai').textContent.includes('"locale"')`)
	p.do("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	shot := p.screenshot(shots, "preview.png")
	if *updateDocs || os.Getenv("UPDATE_CONSOLE_SCREENSHOT") != "" {
		png, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "console.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A failing lookup shows in the status page's last errors.
	p.preview("x")
	until[bool](p, "the failing lookup's error", `document.querySelector('#preview-search').textContent.includes('query must be at least 2 characters')`)
	p.tab("status")
	if st := until[string](p, "the index state", `document.querySelector('#index-state')?.textContent`); st != "ready" {
		t.Errorf("index state = %q, want ready", st)
	}
	row := until[string](p, "the error in the last-errors list", `[...document.querySelectorAll('#errors tbody tr')].map((r) => r.textContent).find((t) => t.includes('query must be at least 2 characters'))`)
	if !strings.Contains(row, wazion.EndpointGlobalSearch) {
		t.Errorf("error row = %q, want the endpoint globalSearch", row)
	}
	until[bool](p, "the upstream chart", `document.querySelectorAll('#upstream-chart svg rect.bar').length === 30`)
	p.screenshot(shots, "status.png")

	// A phone-sized screen still shows the panel.
	p.do("narrow the window", chromedp.EmulateViewport(390, 844))
	p.preview("+18095551234")
	until[bool](p, "the panel on a phone", `document.querySelector('#preview-panel .customer .cname')?.textContent === 'María García' && document.documentElement.scrollWidth <= 400`)
	p.screenshot(shots, "phone.png")
	p.do("widen the window", chromedp.EmulateViewport(1100, 900))

	// A wrong password is refused, then rate limited.
	p.signOut()
	p.signIn(base, "", "not-the-password")
	if msg := until[string](p, "the refusal", `document.querySelector('#signin-error').textContent`); msg != "wrong password" {
		t.Errorf("wrong password: %q", msg)
	}
	var msg string
	for range 6 {
		p.do("try again", fill("#signin-password", "still-wrong"), chromedp.Click(chromedp.CSS("#signin-submit")))
		msg = until[string](p, "the answer", `(() => { const m = document.querySelector('#signin-error').textContent; return document.querySelector('#signin-submit').disabled ? '' : m })()`)
	}
	if !strings.Contains(msg, "too many failed sign-ins") {
		t.Errorf("after repeated wrong passwords: %q, want the rate limit", msg)
	}
	t.Logf("screenshots in %s", shots)
}

// TestConsoleInBrowserStoreOwner signs in with a store's WAzion token in a
// service of two stores: the owner sees that store alone, and a customer
// named like markup shows as text.
func TestConsoleInBrowserStoreOwner(t *testing.T) {
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
	const markup = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`
	fake.UpsertCustomer(whatalo.Customer{ID: "900000000001", Name: markup, Phone: "+18095559999", HasPhone: true})
	const outletToken = "outlet-token-123456"
	ts := startService(t, fake, map[string]string{"CONSOLE_PASSWORD": "operator-password-42"}, func(cfg *config.Config) {
		outlet := cfg.Stores[0]
		outlet.Name = "outlet"
		outlet.Tokens = []config.Secret{outletToken}
		cfg.Stores = append(cfg.Stores, outlet)
	})
	p := page{t: t, ctx: newBrowser(t)}

	p.signIn(ts.URL, "default", testToken)
	p.do("see the console", chromedp.WaitVisible(chromedp.CSS("#app")))
	if who := until[string](p, "the session bar", `document.querySelector('#who').textContent`); who != "Store default" {
		t.Errorf("signed in as %q, want Store default", who)
	}
	if stores := eval[[]string](p, `[...document.querySelectorAll('#store-select option')].map((o) => o.value)`); len(stores) != 1 || stores[0] != "default" {
		t.Errorf("the store list = %v, want default alone", stores)
	}
	if status := eval[int](p, `fetch('/console/api/stores/outlet/status').then((r) => r.status)`); status != 404 {
		t.Errorf("another store's status: %d, want 404", status)
	}
	if status := eval[int](p, `fetch('/console/api/stores/default/status').then((r) => r.status)`); status != 200 {
		t.Errorf("own store's status: %d, want 200", status)
	}

	p.preview("+18095559999")
	name := until[string](p, "the customer card", `document.querySelector('#preview-panel .customer .cname')?.textContent`)
	if name != markup {
		t.Errorf("customer name shows as %q, want the text %q", name, markup)
	}
	if pwned := eval[bool](p, `window.__pwned !== undefined || document.querySelector('#preview-panel img, #preview-panel script') !== null`); pwned {
		t.Error("a customer's name was parsed as HTML")
	}
	p.screenshot(t.TempDir(), "owner.png")
	p.signOut()

	p.signIn(ts.URL, "", "operator-password-42")
	p.do("see the console", chromedp.WaitVisible(chromedp.CSS("#app")))
	if stores := until[[]string](p, "the store list", `(() => { const s = [...document.querySelectorAll('#store-select option')].map((o) => o.value); return s.length ? s : null })()`); strings.Join(stores, ",") != "default,outlet" {
		t.Errorf("the operator's store list = %v, want default,outlet", stores)
	}
}

// fill sets a form field's value as typing would leave it.
func fill(selector, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.querySelector(` + jsString(selector) + `).value = ` + jsString(value))
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, s := range list {
			found = found || s == w
		}
		if !found {
			return false
		}
	}
	return true
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}
