package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// storeEntry is one store of a test configuration file, on fake.
type storeEntry struct {
	name, key, token, language string
}

// storesYAML writes a configuration of stores on fake; extra goes at the
// top (server settings).
func storesYAML(fake *whatalotest.Server, extra string, stores ...storeEntry) string {
	var b strings.Builder
	b.WriteString("listen: 127.0.0.1:0\nlog_level: debug\n" + extra + "stores:\n")
	for _, s := range stores {
		lang := s.language
		if lang == "" {
			lang = "es"
		}
		fmt.Fprintf(&b, "  - name: %s\n    api_key: %s\n    base_url: %s\n    region: DO\n    label_language: %s\n    tokens: [%s]\n",
			s.name, s.key, fake.APIURL, lang, s.token)
	}
	return b.String()
}

// fileService is the service serving a configuration file, reloaded when
// the test sends on reloads, as SIGHUP does.
type fileService struct {
	*testService
	path    string
	reloads chan os.Signal
}

func startFileService(t *testing.T, fake *whatalotest.Server, yaml string) *fileService {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stores.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(string) string { return "" }
	cfg, err := config.Load(path, getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.ShutdownTimeout = 2 * time.Second
	logs := &syncBuffer{}
	logger, err := newLogger(logs, cfg.LogLevel)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := newService(cfg, logger)
	if err != nil {
		t.Fatalf("newService: %v", err)
	}
	fs := &fileService{path: path, reloads: make(chan os.Signal, 1)}
	svc.reloads = fs.reloads
	svc.load = func() (*config.Config, error) { return config.Load(path, getenv) }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		svc.Close()
	})
	fs.testService = &testService{URL: "http://" + ln.Addr().String(), Fake: fake, Logs: logs, svc: svc}
	return fs
}

// reload writes yaml to the file, asks for a reload and waits for the
// log line that says how it went (the n-th reload of the test).
func (fs *fileService) reload(t *testing.T, yaml string, n int) {
	t.Helper()
	if err := os.WriteFile(fs.path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	fs.reloads <- syscall.SIGHUP
	done := regexp.MustCompile(`"msg":"reload: configuration (applied|not applied)`)
	eventually(t, 10*time.Second, fmt.Sprintf("reload %d to be logged", n), func() bool {
		return len(done.FindAllString(fs.Logs.String(), -1)) >= n
	})
}

// allReady waits until every store of the service's set has a ready index.
func (fs *fileService) allReady(t *testing.T) {
	t.Helper()
	// A first build that failed (TestManyStoresStartup's hung ones) is
	// tried again 5 s later.
	eventually(t, 30*time.Second, "every index ready", func() bool {
		set := fs.svc.stores.Load()
		for _, name := range set.names {
			if set.units[name].backend.IndexStatus().State != "ready" {
				return false
			}
		}
		return true
	})
}

// panel asks sidePanel_CustomerInfo for the demo phone with token and
// returns the answer's body.
func (fs *fileService) panel(t *testing.T, token string) string {
	t.Helper()
	status, body := fs.get(t, "/wazion/"+wazion.EndpointCustomerInfo+"?token="+token+"&phone=%2B18095551234")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	return body
}

// TestReloadStores: a reload adds a store, removes one, rebuilds a changed
// one and keeps the others as they were (same Backend, limiter and recent
// answers, no new index pass); an invalid file then changes nothing and
// the log says why.
func TestReloadStores(t *testing.T) {
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed(),
		whatalotest.WithAPIKeys("wk_live_keep", "wk_live_gone", "wk_live_change", "wk_live_new"))
	keep := storeEntry{"keep", "wk_live_keep", "token-keep-1234", ""}
	gone := storeEntry{"gone", "wk_live_gone", "token-gone-1234", ""}
	change := storeEntry{"change", "wk_live_change", "token-change-1234", "es"}
	added := storeEntry{"added", "wk_live_new", "token-added-1234", ""}
	// A minute of recent answers: the kept store's must survive the reload.
	const server = "server:\n  answer_ttl: 1m\n"
	fs := startFileService(t, fake, storesYAML(fake, server, keep, gone, change))
	fs.allReady(t)

	before := fs.svc.stores.Load()
	keepUnit, changeUnit := before.units["keep"], before.units["change"]
	if !strings.Contains(fs.panel(t, gone.token), `"found":true`) {
		t.Fatal("the store to remove does not answer before the reload")
	}
	fs.panel(t, keep.token)
	m := fs.scrape(t)
	keepIndexCalls := m.sum("whatalo_wazion_upstream_requests_total", "store", "keep", "route", "GET /customers")
	keepCalls := m.sum("whatalo_wazion_upstream_requests_total", "store", "keep")
	if keepIndexCalls == 0 {
		t.Fatal("no index pass of the kept store counted before the reload")
	}

	changed := change
	changed.language = "en"
	fs.reload(t, storesYAML(fake, server, keep, changed, added), 1)
	if !strings.Contains(fs.Logs.String(), `"msg":"reload: configuration applied"`) {
		t.Fatalf("reload not applied:\n%s", fs.Logs.String())
	}
	after := fs.svc.stores.Load()
	if got := after.names; strings.Join(got, ",") != "keep,change,added" {
		t.Errorf("stores after the reload = %v, want keep, change, added", got)
	}
	if u := after.units["keep"]; u != keepUnit || u.backend != keepUnit.backend || u.limiter != keepUnit.limiter || u.client != keepUnit.client {
		t.Error("the unchanged store was rebuilt")
	}
	if u := after.units["change"]; u == changeUnit || u.backend == changeUnit.backend {
		t.Error("the changed store kept its old Backend")
	}
	select {
	case <-changeUnit.done:
	default:
		t.Error("the changed store's old Run was not joined")
	}
	select {
	case <-before.units["gone"].done:
	default:
		t.Error("the removed store's Run was not joined")
	}

	// The kept store answers from where it was: its recent answer again,
	// no upstream call.
	reusedBefore := fs.scrape(t).sum("whatalo_wazion_answers_total", "store", "keep", "result", "reused")
	if !strings.Contains(fs.panel(t, keep.token), `"found":true`) {
		t.Error("the kept store does not answer after the reload")
	}
	fs.allReady(t)
	m = fs.scrape(t)
	if got := m.sum("whatalo_wazion_answers_total", "store", "keep", "result", "reused"); got != reusedBefore+1 {
		t.Errorf("kept store's reused answers = %v, want %v: its recent answers were dropped", got, reusedBefore+1)
	}
	if got := m.sum("whatalo_wazion_upstream_requests_total", "store", "keep"); got != keepCalls {
		t.Errorf("kept store made %v upstream calls since the reload, want none (index pass or lookups)", got-keepCalls)
	}
	if !strings.Contains(fs.panel(t, gone.token), `"error":"unauthorized"`) {
		t.Error("the removed store's token is still accepted")
	}
	if got := m.labelValues("whatalo_wazion_index_state", "store"); strings.Join(got, ",") != "added,change,keep" {
		t.Errorf("index_state stores = %v, want keep, change, added", got)
	}
	for name, mf := range m {
		for _, s := range mf.GetMetric() {
			if hasLabels(s, []string{"store", "gone"}) {
				t.Errorf("%s still has a series of the removed store", name)
				break
			}
		}
	}
	if body := fs.panel(t, added.token); !strings.Contains(body, `"found":true`) {
		t.Errorf("the added store answers %.200s", body)
	}
	if en, es := fs.panel(t, change.token), fs.panel(t, keep.token); en == es || !strings.Contains(en, `"label_languages"`) {
		t.Error("the changed store still answers in its old label language")
	}

	// An invalid file changes nothing and the log names the problem.
	set := fs.svc.stores.Load()
	fs.reload(t, storesYAML(fake, server, keep, storeEntry{"Bad Name", "wk_live_new", "token-bad-12345", ""}), 2)
	logs := fs.Logs.String()
	if !strings.Contains(logs, `"msg":"reload: configuration not applied; the running one is kept"`) ||
		!regexp.MustCompile(`stores\[1\]\.name: \\"Bad Name\\" must be lowercase`).MatchString(logs) {
		t.Errorf("the invalid file's reload is not logged with its problem:\n%s", logs)
	}
	if fs.svc.stores.Load() != set {
		t.Error("an invalid file changed the stores")
	}
	if !strings.Contains(fs.panel(t, added.token), `"found":true`) {
		t.Error("a store stopped answering after an invalid file")
	}
	// A YAML syntax error is told with its line.
	fs.reload(t, "stores:\n  - name: one\n    api_key: wk_live_keep\n   tokens: [abc]\n", 3)
	if !regexp.MustCompile(`"msg":"reload: configuration not applied; the running one is kept","err":"config [^"]*: line \d+: YAML syntax`).MatchString(fs.Logs.String()) {
		t.Errorf("the syntax error's reload is not logged with its line:\n%s", fs.Logs.String())
	}
	if fs.svc.stores.Load() != set {
		t.Error("a file with a syntax error changed the stores")
	}
}

// TestReloadRestartSettings: settings read only at start are logged as
// needing a restart and left as they are, while the stores reload.
func TestReloadRestartSettings(t *testing.T) {
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed(), whatalotest.WithAPIKeys("wk_live_one", "wk_live_two"))
	one := storeEntry{"one", "wk_live_one", "token-one-12345", ""}
	two := storeEntry{"two", "wk_live_two", "token-two-12345", ""}
	fs := startFileService(t, fake, storesYAML(fake, "", one))
	fs.reload(t, strings.Replace(storesYAML(fake, "server:\n  body_limit: 4096\n", one, two), "listen: 127.0.0.1:0", "listen: 127.0.0.1:1", 1), 1)
	logs := fs.Logs.String()
	for _, setting := range []string{"listen", "server"} {
		if !strings.Contains(logs, `"msg":"reload: this setting needs a restart; the running value is kept","setting":"`+setting+`"`) {
			t.Errorf("no restart notice for %s:\n%s", setting, logs)
		}
	}
	if !strings.Contains(fs.panel(t, two.token), `"found"`) || strings.Contains(fs.panel(t, two.token), "unauthorized") {
		t.Error("the store added beside a restart setting was not added")
	}
}

// TestServeReloadsOnSIGHUP: the serve command reloads its file on a real
// SIGHUP sent to the process.
func TestServeReloadsOnSIGHUP(t *testing.T) {
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed(), whatalotest.WithAPIKeys("wk_live_one", "wk_live_two"))
	one := storeEntry{"one", "wk_live_one", "token-one-12345", ""}
	two := storeEntry{"two", "wk_live_two", "token-two-12345", ""}
	path := filepath.Join(t.TempDir(), "stores.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(storesYAML(fake, "", one), "log_level: debug", "log_level: info", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"whatalo-wazion", "serve", "--config", path}, func(string) string { return "" }, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	listening := regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)
	var base string
	eventually(t, 10*time.Second, "the listening line", func() bool {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			base = "http://" + m[1]
		}
		return base != ""
	})
	ask := func(token string) string {
		_, body := doRequest(t, http.MethodGet, base+"/wazion/"+wazion.EndpointCustomerInfo+"?token="+token+"&phone=%2B18095551234", "", nil)
		return body
	}
	if !strings.Contains(ask(two.token), "unauthorized") {
		t.Fatal("the second store answers before it is configured")
	}
	if err := os.WriteFile(path, []byte(storesYAML(fake, "", one, two)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the reload after SIGHUP", func() bool {
		return strings.Contains(stdout.String(), `"msg":"reload: configuration applied"`)
	})
	if body := ask(two.token); !strings.Contains(body, `"found":true`) {
		t.Errorf("the store added by SIGHUP answers %.200s", body)
	}
}
