package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"gopkg.in/yaml.v3"
)

// Many-stores runs: n stores of the fake's embedded demo store in one
// service, each with an API key and a token of its own, against one fake.
const (
	// maxStores bounds --stores: the fake takes its keys from one
	// environment variable, the service its stores from one YAML file.
	maxStores = 5000
	// demoPhone is a customer of the demo store (María García).
	demoPhone = "+18095551234"
	// storesLookupRate is the rate of the lookups sent across the stores
	// between the two /metrics readings.
	storesLookupRate = 500
	// storesLookupConns bounds the lookups' connections well under the
	// service's per-address cap (256), which would otherwise refuse some
	// while first answers are slow, and measure the cap.
	storesLookupConns = 64
	// Targets of issue 15 for 1,000 stores.
	targetStoresRSSKB   = 150 * 1024
	targetStoresReady   = 30 * time.Second
	targetMetricsLines  = 20000
	targetStoresAtCount = 1000
)

// storeName, storeKey and storeToken name the i-th store (from 0) of a
// many-stores run and its secrets; keys and tokens guard nothing.
func storeName(i int) string  { return fmt.Sprintf("store-%04d", i+1) }
func storeKey(i int) string   { return fmt.Sprintf("wk_live_many%010d", i+1) }
func storeToken(i int) string { return fmt.Sprintf("many-token-%06d", i+1) }

// storesConfig is the YAML configuration of a service with n stores on
// baseURL, each with its own key and token.
func storesConfig(listen, baseURL string, n int) ([]byte, error) {
	if n < 1 || n > maxStores {
		return nil, fmt.Errorf("stores config: %d stores, want 1 to %d", n, maxStores)
	}
	stores := make([]any, n)
	for i := range stores {
		stores[i] = map[string]any{
			"name":     storeName(i),
			"api_key":  storeKey(i),
			"base_url": baseURL,
			"tokens":   []string{storeToken(i)},
			"region":   benchRegion,
		}
	}
	cfg := map[string]any{
		"listen":    listen,
		"log_level": "info",
		"server":    map[string]any{"token_rate": -1},
		"stores":    stores,
	}
	return yaml.Marshal(cfg)
}

// storesKeys is the fake's WHATALO_FAKE_API_KEYS for n stores.
func storesKeys(n int) string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = storeKey(i)
	}
	return strings.Join(keys, ",")
}

// storesRun is what one many-stores run measured.
type storesRun struct {
	stores        int
	ready         time.Duration // from the service's start to every index ready
	startupCalls  int64         // upstream calls until then
	rssReady      int64         // kB, once every index was ready
	rssAfter      int64         // kB, after the lookups
	hwm           int64         // kB, VmHWM after the lookups
	linesBefore   int           // /metrics lines before the lookups
	linesAfter    int           // and after
	lookups       loadResult
	lookupErrs    map[string]int // error messages of the lookups' answers
	notReadyNames []string       // stores not ready at the deadline, a few
}

// storesGroup runs one many-stores run per --stores count and adds its
// rows to scenario 5.
func (b *bench) storesGroup(ctx context.Context, rep *report) error {
	for _, n := range b.o.stores {
		r, err := b.storesRun(ctx, n)
		if err != nil {
			return fmt.Errorf("%d stores: %w", n, err)
		}
		addStoresRows(rep, r)
	}
	return nil
}

func addStoresRows(rep *report, r storesRun) {
	what := fmt.Sprintf("%s stores of the demo data on one fake, a key each", thousands(int64(r.stores)))
	judged := r.stores >= targetStoresAtCount
	judge := func(ok bool) verdict {
		if !judged {
			return noTarget
		}
		return verdictOf(ok)
	}
	target := func(s string) string {
		if !judged {
			return ""
		}
		return s
	}
	rep.add(row{"5", what, "every phone index ready after start", fmtMs(r.ready),
		fmt.Sprintf("start-up upstream calls %s (%.1f per store)", thousands(r.startupCalls), float64(r.startupCalls)/float64(r.stores)),
		target("≤ 30 s"), judge(r.ready <= targetStoresReady && len(r.notReadyNames) == 0)})
	rss := max(r.rssReady, r.rssAfter)
	rep.add(row{"5", what, "RSS ready / after lookups; peak (VmHWM)",
		fmtMB(r.rssReady) + " / " + fmtMB(r.rssAfter), "peak " + fmtMB(r.hwm),
		target("≤ 150 MB"), judge(rss <= targetStoresRSSKB)})
	rep.add(row{"5", what, "/metrics lines before / after lookups",
		thousands(int64(r.linesBefore)) + " / " + thousands(int64(r.linesAfter)),
		fmt.Sprintf("%s lookups across the stores (%s)", thousands(int64(r.lookups.metrics.Requests)), outcomeText(r.lookups.outcomes)),
		target("≤ 20,000"), judge(r.linesBefore <= targetMetricsLines && r.linesAfter <= targetMetricsLines && r.lookups.successRatio() == 1)})
	for msg, n := range r.lookupErrs {
		rep.note("scenario 5, %d stores: %s lookups answered with error %q", r.stores, thousands(int64(n)), msg)
	}
	if len(r.notReadyNames) > 0 {
		rep.note("scenario 5, %d stores: not ready at the deadline: %s", r.stores, strings.Join(r.notReadyNames, ", "))
	}
}

// storesRun starts a demo fake accepting n keys and a service with n
// stores on it, and measures start-up, memory and /metrics.
func (b *bench) storesRun(ctx context.Context, n int) (storesRun, error) {
	r := storesRun{stores: n, lookupErrs: map[string]int{}}
	fakeAddr, err := freeAddr()
	if err != nil {
		return r, err
	}
	b.logf("scenario 5: %d stores: starting a demo fake accepting %d keys", n, n)
	fp, err := b.start(fmt.Sprintf("fake-stores-%d", n), b.fakeBin, []string{"--listen", fakeAddr},
		[]string{"WHATALO_FAKE_API_KEYS=" + storesKeys(n)})
	if err != nil {
		return r, err
	}
	defer b.stop(fp)
	fake := &fakeProc{proc: fp, root: "http://" + fakeAddr}
	if err := waitHTTP200(ctx, fp, fake.root+"/_fake/stats", time.Minute); err != nil {
		return r, err
	}
	before, err := fake.stats(ctx)
	if err != nil {
		return r, err
	}
	addr, err := freeAddr()
	if err != nil {
		return r, err
	}
	cfg, err := storesConfig(addr, fake.apiURL(), n)
	if err != nil {
		return r, err
	}
	name := fmt.Sprintf("service-stores-%d", n)
	path := filepath.Join(b.dir, name+".yaml")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		return r, fmt.Errorf("%s configuration: %w", name, err)
	}
	b.logf("scenario 5: starting %s with %d stores", name, n)
	t0 := time.Now()
	p, err := b.start(name, b.svcBin, []string{"serve", "--config", path}, nil)
	if err != nil {
		return r, err
	}
	defer b.stop(p)
	svc := &svcProc{proc: p, root: "http://" + addr}
	if err := waitHTTP200(ctx, p, svc.root+"/healthz", 2*time.Minute); err != nil {
		return r, err
	}
	r.notReadyNames, err = svc.waitAllIndexes(ctx, n, 3*time.Minute)
	if err != nil {
		return r, err
	}
	r.ready = time.Since(t0)
	after, err := fake.stats(ctx)
	if err != nil {
		return r, err
	}
	r.startupCalls = after.Total - before.Total
	b.logf("scenario 5: %d stores ready after %s, %d upstream calls", n, r.ready.Round(100*time.Millisecond), r.startupCalls)
	if r.rssReady, _, err = procStatus(p.pid()); err != nil {
		return r, err
	}
	if r.linesBefore, err = metricsLines(ctx, svc.root+"/metrics"); err != nil {
		return r, err
	}
	per := 1
	if !b.o.quick {
		per = 3
	}
	total := n * per
	var next atomic.Int64
	tr := func(t *vegeta.Target) error {
		i := int(next.Add(1)-1) % n
		t.Method = http.MethodGet
		t.URL = svc.endpointURL(endpointCustomerInfo, url.Values{"phone": {demoPhone}})
		t.Header = http.Header{"Authorization": {"Bearer " + storeToken(i)}}
		return nil
	}
	// The count ends the run; the duration only bounds it when the
	// service answers slower than the rate.
	d := 3*time.Duration(total)*time.Second/storesLookupRate + 5*time.Second
	b.logf("scenario 5: %d lookups across the %d stores at %d req/s", total, n, storesLookupRate)
	r.lookups = attack(ctx, loadSpec{name: "stores-lookups", targeter: tr, rate: storesLookupRate, duration: d,
		maxHits: uint64(total), maxWorkers: storesLookupConns, classify: wazionOutcome(r.lookupErrs)})
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if r.rssAfter, r.hwm, err = procStatus(p.pid()); err != nil {
		return r, err
	}
	if r.linesAfter, err = metricsLines(ctx, svc.root+"/metrics"); err != nil {
		return r, err
	}
	return r, nil
}

// waitAllIndexes waits until /readyz reports the phone index of all n
// stores ready (or disabled); at the deadline it returns the first few
// stores still not ready instead of an error, so the run is reported.
func (s *svcProc) waitAllIndexes(ctx context.Context, n int, timeout time.Duration) ([]string, error) {
	var pending []string
	err := waitFor(ctx, s.proc, timeout, 250*time.Millisecond, "every phone index ready", func(ctx context.Context) (bool, error) {
		var r readiness
		if _, err := getJSON(ctx, s.root+"/readyz", &r); err != nil {
			return false, err
		}
		pending = pendingStores(r, n)
		return len(pending) == 0, nil
	})
	if err != nil && ctx.Err() == nil && s.exited() == nil && len(pending) > 0 {
		return pending[:min(len(pending), 5)], nil
	}
	return nil, err
}

// pendingStores lists the stores of a many-stores run whose index /readyz
// does not report ready (or disabled), in store order.
func pendingStores(r readiness, n int) []string {
	var out []string
	for i := range n {
		st, ok := r.Stores[storeName(i)]
		if !ok || (st.Index.State != "ready" && st.Index.State != "disabled") {
			out = append(out, storeName(i))
		}
	}
	return out
}

// metricsLines is how many lines GET url (the service's /metrics) has,
// comments included, as a scrape carries them.
func metricsLines(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := ctlClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("scrape %s: status %d", url, resp.StatusCode)
	}
	return countLines(resp.Body)
}

// countLines counts the lines of r, a last one without a newline too.
func countLines(r io.Reader) (int, error) {
	buf := make([]byte, 64<<10)
	n, last := 0, byte('\n')
	for {
		k, err := r.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if k > 0 {
			last = buf[k-1]
		}
		if errors.Is(err, io.EOF) {
			if last != '\n' {
				n++
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
