package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Scenario 6 runs replicas of the service that share one Redis, which the
// bench starts itself.
const (
	// replicaPhoneRate is the request rate at which each replica is sent
	// its phones: well inside the high rate limit, so that the limiter
	// decides nothing.
	replicaPhoneRate = 100
	// Key prefixes of the two parts, so that the second does not find
	// what the first left in Redis.
	prefixThroughput  = "whatalo-bench-6a:"
	prefixColdReplica = "whatalo-bench-6b:"
)

// replicasGroup is scenario 6: (a) the cached throughput of a service
// sharing Redis beside the same service alone, and (b) the upstream calls
// of a replica that starts cold beside one that has answered the same
// phones, with and without a shared Redis.
func (b *bench) replicasGroup(ctx context.Context, rep *report) error {
	o := b.o
	bin, err := b.lookPath("redis-server")
	if err != nil {
		b.logf("scenario 6: redis-server not found on PATH (%s); not run", redisInstall)
		rep.add(redisMissingRow())
		return nil
	}
	fake, err := b.startFake(ctx, "fake-replicas", o.customers, o.latency, highFakeLimit)
	if err != nil {
		return err
	}
	defer b.stop(fake.proc)
	redis, err := b.startRedis(ctx, "redis", bin)
	if err != nil {
		return err
	}
	defer b.stop(redis.proc)
	custs, err := fake.customers(ctx, 8)
	if err != nil {
		return err
	}
	if err := b.replicaThroughput(ctx, rep, fake, redis, custs); err != nil {
		return err
	}
	return b.coldReplica(ctx, rep, fake, redis, custs)
}

// redisMissingRow stands for scenario 6 where redis-server is not
// installed, so that the other scenarios still run.
func redisMissingRow() row {
	return row{"6", "several replicas sharing Redis", "cached throughput; upstream calls of a cold replica",
		"not measured: redis-server not found on PATH", "install it (" + redisInstall + ") and run again with --only 6",
		"", noTarget}
}

// replicaThroughput is scenario 6a: one cached phone, closed loop,
// alternating rounds between a service sharing Redis and the same service
// alone. A hit in the replica's own cache should never reach Redis.
func (b *bench) replicaThroughput(ctx context.Context, rep *report, fake *fakeProc, redis *redisProc, custs []customer) error {
	o := b.o
	shared, err := b.startService(ctx, "service-redis", fake,
		serviceOpts{rateLimit: highServiceLimit, redisURL: redis.url(), redisPrefix: prefixThroughput})
	if err != nil {
		return err
	}
	defer b.stop(shared.proc)
	single, err := b.startService(ctx, "service-single", fake, serviceOpts{rateLimit: highServiceLimit})
	if err != nil {
		return err
	}
	defer b.stop(single.proc)
	for _, s := range []*svcProc{shared, single} {
		idx, err := s.waitIndex(ctx, 10*time.Minute)
		if err != nil {
			return err
		}
		b.logf("%s: phone index %s, %d customers", s.name, idx.State, idx.Customers)
	}
	_, phone, err := pickHot(custs, o.randSeed)
	if err != nil {
		return err
	}
	query := url.Values{"phone": {phone}}
	sharedURL := shared.endpointURL(endpointCustomerInfo, query)
	singleURL := single.endpointURL(endpointCustomerInfo, query)
	body, _, err := cachedAnswer(ctx, sharedURL)
	if err != nil {
		return fmt.Errorf("service with Redis: %w", err)
	}
	singleBody, _, err := cachedAnswer(ctx, singleURL)
	if err != nil {
		return fmt.Errorf("service without Redis: %w", err)
	}

	withRedis := closedTarget{"service-redis", sharedURL, shared.pid(), body}
	withoutRedis := closedTarget{"service-single", singleURL, single.pid(), singleBody}
	b.warmBoth(ctx, "scenario 6", withRedis, withoutRedis)
	sBefore, e1 := shared.metrics(ctx)
	lBefore, e2 := single.metrics(ctx)
	sr, lr, err := b.alternate(ctx, "scenario 6: service with and without Redis", withRedis, withoutRedis)
	if err != nil {
		return err
	}
	sAfter, e3 := shared.metrics(ctx)
	lAfter, e4 := single.metrics(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	ratio := ratioOf(&sr, &lr)
	what := fmt.Sprintf("cached %s (%s B answer), closed loop, %d connections, service sharing Redis",
		endpointCustomerInfo, thousands(int64(len(body))), o.concurrency)
	rep.add(row{"6", what, "throughput",
		fmtRate(sr.throughput()),
		fmt.Sprintf("without Redis %s; ratio %s", fmtRate(lr.throughput()), fmtPct(ratio)), "", noTarget})
	rep.add(row{"6", what, "p50 / p99 latency",
		fmtMs(sr.p50()) + " / " + fmtMs(sr.p99()),
		"without Redis " + fmtMs(lr.p50()) + " / " + fmtMs(lr.p99()), "", noTarget})
	rep.add(row{"6", what, "server CPU per request",
		fmtMicros(sr.cpuPerRequest()), "without Redis " + fmtMicros(lr.cpuPerRequest()), "", noTarget})
	rep.add(row{"6", what, "requests, HTTP 200",
		fmt.Sprintf("%s, %s", thousands(int64(sr.requests())), fmtPct(sr.successRatio())),
		fmt.Sprintf("without Redis %s, %s", thousands(int64(lr.requests())), fmtPct(lr.successRatio())), "", noTarget})
	calls, reads := redisCallsText(sBefore, sAfter, errors.Join(e1, e3))
	rep.add(row{"6", what, "Redis calls during the rounds, by op", calls,
		fmt.Sprintf("cache reads (cache_get) %s for %s requests", reads, thousands(int64(sr.requests()))), "", noTarget})
	b.noteOutcomes(rep, "scenario 6 with Redis", sBefore, sAfter, errors.Join(e1, e3), int64(sr.requests()))
	b.noteOutcomes(rep, "scenario 6 without Redis", lBefore, lAfter, errors.Join(e2, e4), int64(lr.requests()))
	return nil
}

// redisCallsText lists the service's Redis calls between two scrapes by
// operation, and the cache reads among them.
func redisCallsText(before, after scrape, err error) (calls, cacheReads string) {
	if err != nil || !after.has(metricRedisCalls) {
		return fmt.Sprintf("n/a (no %s on /metrics)", metricRedisCalls), "n/a"
	}
	byOp := labelDelta(before, after, metricRedisCalls, "op")
	return countsText(byOp), thousands(int64(byOp["cache_get"]))
}

// countsText lists counts by name in name order, or "none".
func countsText(m map[string]float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] != 0 {
			parts = append(parts, fmt.Sprintf("%s %s", k, thousands(int64(m[k]))))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// replicaPass is one pass of scenario 6b: replica A answers the phones
// first, then a new replica B answers the same phones.
type replicaPass struct {
	warm, cold           loadResult
	warmCalls, coldCalls fakeStats // upstream calls while A, then B, answered
	// lookups are B's cache lookups by result; nil when /metrics had none.
	lookups map[string]float64
	// lostWrites are A's writes to the shared cache not made (with Redis).
	lostWrites float64
	errs       map[string]int // B's error answers by message
}

// coldReplica is scenario 6b: the upstream calls of a replica that starts
// cold after another has answered the same phones, once with both sharing
// Redis and once with nothing shared.
func (b *bench) coldReplica(ctx context.Context, rep *report, fake *fakeProc, redis *redisProc, custs []customer) error {
	o := b.o
	phones := zipfPhones(custs, o.randSeed)
	phones = phones[:min(len(phones), o.replicaPhones)]
	if len(phones) == 0 {
		return errors.New("no phones for the replicas")
	}
	// The phone index is off on every replica: its sync (and, with Redis,
	// the follower's snapshot loads) would mix background calls into
	// the figure, which is about the lookups.
	so := serviceOpts{rateLimit: highServiceLimit, noIndex: true}
	withRedis := so
	withRedis.redisURL, withRedis.redisPrefix = redis.url(), prefixColdReplica
	sharedPass, err := b.twoReplicas(ctx, fake, phones, withRedis, "redis")
	if err != nil {
		return err
	}
	alonePass, err := b.twoReplicas(ctx, fake, phones, so, "single")
	if err != nil {
		return err
	}

	what := fmt.Sprintf("replica B started cold after replica A answered the same %s phones, phone index off, rate limit %s/min",
		thousands(int64(len(phones))), thousands(highServiceLimit))
	rep.add(row{"6", what, "upstream calls while B answered",
		callsText(sharedPass.coldCalls, sharedPass.cold), "without Redis " + callsText(alonePass.coldCalls, alonePass.cold), "", noTarget})
	rep.add(row{"6", what, "upstream calls while A answered first",
		callsText(sharedPass.warmCalls, sharedPass.warm), "without Redis " + callsText(alonePass.warmCalls, alonePass.warm), "", noTarget})
	lookups := func(p replicaPass) string {
		if p.lookups == nil {
			return "n/a (no /metrics)"
		}
		return countsText(p.lookups)
	}
	rep.add(row{"6", what, "B's cache lookups by result", lookups(sharedPass), "without Redis " + lookups(alonePass), "", noTarget})
	answers := func(p replicaPass) string {
		return fmt.Sprintf("%s; %s / %s", outcomeText(p.cold.outcomes), fmtMs(p.cold.metrics.Latencies.P50), fmtMs(p.cold.metrics.Latencies.P99))
	}
	rep.add(row{"6", what, "B's answers; p50 / p99 latency", answers(sharedPass), "without Redis " + answers(alonePass), "", noTarget})
	for _, p := range []struct {
		name string
		r    replicaPass
	}{{"with Redis", sharedPass}, {"without Redis", alonePass}} {
		for msg, n := range p.r.errs {
			rep.note("scenario 6 %s: replica B gave %s answers with error %q", p.name, thousands(int64(n)), msg)
		}
		if len(p.r.coldCalls.PerRoute) > 0 {
			rep.note("scenario 6 %s: replica B's upstream calls by route: %s", p.name, routesText(p.r.coldCalls.PerRoute))
		}
		if p.r.lostWrites > 0 {
			rep.note("scenario 6 %s: replica A lost %s writes to the shared cache", p.name, thousands(int64(p.r.lostWrites)))
		}
	}
	return nil
}

// callsText is the upstream calls of a run and their number per request.
func callsText(st fakeStats, r loadResult) string {
	if r.metrics.Requests == 0 {
		return thousands(st.Total)
	}
	return fmt.Sprintf("%s (%.2f per request)", thousands(st.Total), float64(st.Total)/float64(r.metrics.Requests))
}

// routesText lists the fake's calls by route.
func routesText(perRoute map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(perRoute)) {
		parts = append(parts, fmt.Sprintf("%s %s", k, thousands(perRoute[k])))
	}
	return strings.Join(parts, ", ")
}

// twoReplicas starts replica A, sends it phones, then starts replica B on
// the same fake (and Redis, if so names one) and sends it the same phones,
// counting the fake's calls during each. B starts after A has answered
// everything and, with Redis, written it there.
func (b *bench) twoReplicas(ctx context.Context, fake *fakeProc, phones []string, so serviceOpts, name string) (replicaPass, error) {
	var p replicaPass
	a, err := b.startService(ctx, "replica-a-"+name, fake, so)
	if err != nil {
		return p, err
	}
	defer b.stop(a.proc)
	if err := fake.reset(ctx); err != nil {
		return p, err
	}
	b.logf("scenario 6 %s: replica A answers %d phones at %d/s", name, len(phones), replicaPhoneRate)
	p.warm = sendPhones(ctx, a, phones, "replica-a-"+name, nil)
	if p.warmCalls, err = fake.stats(ctx); err != nil {
		return p, err
	}
	if so.redisURL != "" {
		if p.lostWrites, err = a.waitSharedWrites(ctx); err != nil {
			return p, err
		}
	}

	rb, err := b.startService(ctx, "replica-b-"+name, fake, so)
	if err != nil {
		return p, err
	}
	defer b.stop(rb.proc)
	if err := fake.reset(ctx); err != nil {
		return p, err
	}
	before, e1 := rb.metrics(ctx)
	b.logf("scenario 6 %s: replica B, cold, answers the same phones", name)
	p.errs = map[string]int{}
	p.cold = sendPhones(ctx, rb, phones, "replica-b-"+name, p.errs)
	if err := ctx.Err(); err != nil {
		return p, err
	}
	if p.coldCalls, err = fake.stats(ctx); err != nil {
		return p, err
	}
	after, e2 := rb.metrics(ctx)
	if e1 == nil && e2 == nil && after.has(metricCacheLookups) {
		p.lookups = labelDelta(before, after, metricCacheLookups, "result")
	}
	return p, nil
}

// sendPhones asks svc for each phone once, at replicaPhoneRate, and waits
// for every answer. errs, if not nil, counts the error answers by message.
func sendPhones(ctx context.Context, svc *svcProc, phones []string, name string, errs map[string]int) loadResult {
	urls := make([]string, len(phones))
	for i, ph := range phones {
		urls[i] = svc.endpointURL(endpointCustomerInfo, url.Values{"phone": {ph}})
	}
	return attack(ctx, loadSpec{name: name, targeter: listTargeter(urls, 1), rate: replicaPhoneRate,
		duration: time.Duration(len(urls)+replicaPhoneRate) * time.Second / replicaPhoneRate, maxHits: uint64(len(urls)),
		classify: wazionOutcome(errs)})
}

// waitSharedWrites waits until the replica has stopped writing to the
// shared cache: the writes leave in the background after the answers, in
// batches, so its count of cache_write calls stays still once they are
// done. It returns the writes the replica lost.
func (s *svcProc) waitSharedWrites(ctx context.Context) (float64, error) {
	const (
		poll    = 250 * time.Millisecond
		timeout = 15 * time.Second
	)
	writes := map[string][]string{"op": {"cache_write"}}
	last, still := -1.0, 0
	deadline := time.Now().Add(timeout)
	for {
		m, err := s.metrics(ctx)
		if err != nil {
			return 0, err
		}
		if !m.has(metricRedisCalls) {
			return 0, fmt.Errorf("%s: no %s on /metrics to tell when its shared writes are done", s.name, metricRedisCalls)
		}
		if v := m.sum(metricRedisCalls, writes); v == last {
			still++
		} else {
			last, still = v, 0
		}
		if still >= 2 {
			return m.sum(metricLostWrites, nil), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: still writing to the shared cache after %s", s.name, timeout)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(poll):
		}
	}
}
