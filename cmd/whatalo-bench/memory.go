package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// memoryLookupRate is the request rate of the lookups that fill the cache
// after indexing: well inside the high rate limit, so lookups succeed.
const memoryLookupRate = 200

// memoryGroup is scenario 5: the service's resident memory once its phone
// index holds every customer of a large store, and again after a spread of
// lookups has filled its cache.
func (b *bench) memoryGroup(ctx context.Context, rep *report) error {
	o := b.o
	fake, err := b.startFake(ctx, "fake-big", o.bigCustomers, o.bigLatency, highFakeLimit)
	if err != nil {
		return err
	}
	defer b.stop(fake.proc)
	svc, err := b.startService(ctx, "service-big", fake, serviceOpts{rateLimit: highServiceLimit})
	if err != nil {
		return err
	}
	defer b.stop(svc.proc)
	t0 := time.Now()
	idx, err := svc.waitIndex(ctx, 30*time.Minute)
	if err != nil {
		return err
	}
	took := time.Since(t0)
	b.logf("phone index %s: %d customers after %s", idx.State, idx.Customers, took.Round(100*time.Millisecond))
	// Let the sync's garbage be collected as it would be in a service
	// that has been up a while, without forcing anything from outside.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(3 * time.Second):
	}
	rss, hwm, err := procStatus(svc.pid())
	if err != nil {
		return err
	}
	what := fmt.Sprintf("memory with %s generated customers (fake latency %s)", thousands(int64(o.bigCustomers)), o.bigLatency)
	target, verdictFor := "", func(bool) verdict { return noTarget }
	if o.bigCustomers >= targetRSSCustomers {
		target, verdictFor = "≤ 200 MB", verdictOf
	}
	rep.add(row{"5", what, "RSS with the index ready (idle)", fmtMB(rss),
		fmt.Sprintf("index: %s customers, %s keys, built in %s", thousands(int64(idx.Customers)), thousands(int64(idx.Keys)), took.Round(time.Second)),
		target, verdictFor(rss <= targetRSSKB && idx.Customers >= o.bigCustomers*9/10)})
	peakTarget := ""
	if o.bigCustomers >= targetRSSCustomers {
		peakTarget = "≤ 100 MB"
	}
	rep.add(row{"5", what, "peak RSS while indexing (VmHWM)", fmtMB(hwm),
		"read from /proc/PID/status once the index was ready", peakTarget, verdictFor(hwm <= targetPeakRSSKB)})

	custs, err := fake.customers(ctx, 16)
	if err != nil {
		return err
	}
	phones := zipfPhones(custs, o.randSeed)
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(uint64(o.randSeed), 0xb16))
	tr := func(t *vegeta.Target) error {
		mu.Lock()
		p := phones[rng.IntN(len(phones))]
		mu.Unlock()
		t.Method, t.Header = http.MethodGet, authHeader()
		t.URL = svc.endpointURL(endpointCustomerInfo, url.Values{"phone": {p}})
		return nil
	}
	d := 2 * o.duration
	b.logf("scenario 5: uniform lookups over %d phones at %d req/s for %s", len(phones), memoryLookupRate, d)
	errs := map[string]int{}
	res := attack(ctx, loadSpec{name: "memory-lookups", targeter: tr, rate: memoryLookupRate, duration: d, classify: wazionOutcome(errs)})
	if err := ctx.Err(); err != nil {
		return err
	}
	rss2, hwm2, err := procStatus(svc.pid())
	if err != nil {
		return err
	}
	rep.add(row{"5", what, "RSS after lookups (cache filled)", fmtMB(rss2),
		fmt.Sprintf("%s lookups of random phones (%s); peak RSS %s", thousands(int64(res.metrics.Requests)), outcomeText(res.outcomes), fmtMB(max(hwm, hwm2))),
		target, verdictFor(rss2 <= targetRSSKB)})
	for msg, n := range errs {
		rep.note("scenario 5 lookups: %d answers with error %q", n, msg)
	}
	return nil
}
