package main

import (
	"context"
	"math"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// loadSpec is one bounded vegeta run.
type loadSpec struct {
	name     string
	targeter vegeta.Targeter
	// rate is requests per second for an open-loop run; 0 is a closed loop
	// of workers connections, each sending as soon as its answer arrives.
	rate    int
	workers int
	// maxWorkers, if not 0, bounds an open-loop run's requests in flight
	// (default 4096): past it the rate falls instead of connections piling
	// up.
	maxWorkers int
	duration   time.Duration
	// maxHits bounds the count whatever the duration; 0 derives it from
	// the rate (open loop) or allows a generous ceiling (closed loop).
	maxHits uint64
	timeout time.Duration
	// classify, if set, reads each response body and names its outcome
	// ("ok" counts as success). Without it bodies are not read into memory
	// and any 2xx is a success.
	classify func(*vegeta.Result) string
	// pid, if not 0, is the process whose CPU time is measured.
	pid int
	// also, if set, receives every result too, to pool rounds.
	also *rounds
	// latencies keeps every answer's latency in the result.
	latencies bool
}

// loadResult is what a run measured.
type loadResult struct {
	metrics  vegeta.Metrics
	outcomes map[string]int // by classify, or "ok"/"http_NNN"/"transport"
	ok       int
	cpu      time.Duration // CPU of spec.pid during the run; 0 if unknown
	elapsed  time.Duration
	// latencies are every answer's latency in microseconds, with
	// spec.latencies.
	latencies []uint32
}

// successRatio is the share of requests whose outcome was "ok".
func (r loadResult) successRatio() float64 {
	if r.metrics.Requests == 0 {
		return 0
	}
	return float64(r.ok) / float64(r.metrics.Requests)
}

// closedLoopHitCap bounds a closed-loop run's count: far above what this
// machine can answer, so the duration decides, yet finite.
const closedLoopHitCap = 200_000

// attack runs spec and waits for every answer. It stops early, with what
// it has, when ctx ends.
func attack(ctx context.Context, spec loadSpec) loadResult {
	maxHits := spec.maxHits
	if maxHits == 0 {
		if spec.rate > 0 {
			maxHits = uint64(float64(spec.rate)*spec.duration.Seconds()) + 1
		} else {
			maxHits = uint64(closedLoopHitCap * max(1, spec.duration.Seconds()))
		}
	}
	timeout := spec.timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	opts := []func(*vegeta.Attacker){
		vegeta.Timeout(timeout),
		vegeta.KeepAlive(true),
		vegeta.HTTP2(false),
	}
	if spec.classify == nil {
		opts = append(opts, vegeta.MaxBody(0))
	}
	var pacer vegeta.Pacer
	if spec.rate > 0 {
		pacer = vegeta.Rate{Freq: spec.rate, Per: time.Second}
		mw := 4096
		if spec.maxWorkers > 0 {
			mw = spec.maxWorkers
		}
		opts = append(opts, vegeta.Workers(uint64(min(mw, max(10, spec.workers)))), vegeta.MaxWorkers(uint64(mw)), vegeta.Connections(mw))
	} else {
		pacer = vegeta.Rate{Freq: 0, Per: time.Second} // as fast as the workers go
		w := uint64(max(1, spec.workers))
		opts = append(opts, vegeta.Workers(w), vegeta.MaxWorkers(w), vegeta.Connections(int(w)))
	}
	atk := vegeta.NewAttacker(opts...)

	var sent atomic.Uint64
	inner := spec.targeter
	tr := func(t *vegeta.Target) error {
		if sent.Add(1) > maxHits {
			return vegeta.ErrNoTargets
		}
		return inner(t)
	}

	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		select {
		case <-ctx.Done():
			atk.Stop()
		case <-stopWatch:
		}
	}()

	res := loadResult{outcomes: map[string]int{}}
	var (
		cpu0    time.Duration
		cpu0Err error
	)
	if spec.pid != 0 {
		cpu0, cpu0Err = procCPU(spec.pid)
	}
	start := time.Now()
	for r := range atk.Attack(vegeta.Targeter(tr), pacer, spec.duration, spec.name) {
		if r.URL == "" && r.Error != "" {
			continue // the hit that found the count exhausted was never sent
		}
		res.metrics.Add(r)
		if spec.latencies {
			res.latencies = append(res.latencies, uint32(min(r.Latency/time.Microsecond, math.MaxUint32)))
		}
		if spec.also != nil {
			spec.also.metrics.Add(r)
		}
		outcome := "ok"
		switch {
		case r.Code == 0:
			outcome = "transport"
		case r.Code < 200 || r.Code >= 300:
			outcome = "http_" + strconv.Itoa(int(r.Code))
		case spec.classify != nil:
			outcome = spec.classify(r)
		}
		res.outcomes[outcome]++
		if outcome == "ok" {
			res.ok++
		}
	}
	res.elapsed = time.Since(start)
	if spec.pid != 0 {
		if cpu1, err := procCPU(spec.pid); err == nil && cpu0Err == nil {
			res.cpu = cpu1 - cpu0
		}
	}
	res.metrics.Close()
	if a := spec.also; a != nil {
		a.active += res.metrics.Duration + res.metrics.Wait
		a.ok += res.ok
		a.cpu += res.cpu
	}
	return res
}

// rounds pools several runs against one target that alternated with runs
// against another, so that both see the same machine: other work on a
// shared machine comes and goes within seconds. In-process vegeta runs
// pool their results in metrics; out-of-process rounds (wrk, the vegeta
// subprocess) their summaries, through add.
type rounds struct {
	metrics vegeta.Metrics
	active  time.Duration // the runs' own time, excluding the other target's
	ok      int
	cpu     time.Duration

	n                    int // out-of-process rounds pooled
	sent                 int // their answers
	wrongBody, badStatus int
	transport            int
	p50sum, p99sum       time.Duration // per-round percentiles weighted by answers
	maxLat               time.Duration
	// latencies are every answer's latency in microseconds, when each of
	// the n rounds reported them (latencyRounds == n).
	latencies     []uint32
	latencyRounds int
}

// requests is the answers of the pooled runs.
func (r *rounds) requests() int { return int(r.metrics.Requests) + r.sent }

// throughput is successful requests per second of the pooled runs.
func (r *rounds) throughput() float64 {
	if r.active <= 0 {
		return 0
	}
	return float64(r.ok) / r.active.Seconds()
}

func (r *rounds) successRatio() float64 {
	if r.requests() == 0 {
		return 0
	}
	return float64(r.ok) / float64(r.requests())
}

// cpuPerRequest is the target's CPU time over the rounds divided by the
// answers it gave in them.
func (r *rounds) cpuPerRequest() time.Duration {
	if r.requests() == 0 || r.cpu == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.requests())
}

// p50 and p99 are the pooled runs' percentiles. Out-of-process rounds
// that reported every answer's latency (the vegeta subprocess at a fixed
// rate) are pooled answer by answer; the others (wrk, whose histograms stay
// in the generator) give the mean of the rounds' own, weighted by their
// answers.
func (r *rounds) p50() time.Duration { return r.percentile(0.50, r.p50sum, r.metrics.Latencies.P50) }

func (r *rounds) p99() time.Duration { return r.percentile(0.99, r.p99sum, r.metrics.Latencies.P99) }

func (r *rounds) percentile(q float64, sum, pooled time.Duration) time.Duration {
	switch {
	case r.sent == 0:
		return pooled
	case r.pooledLatencies():
		return time.Duration(nearestRank(r.latencies, q)) * time.Microsecond
	}
	return sum / time.Duration(r.sent)
}

// pooledLatencies reports whether p50 and p99 are of every answer rather
// than the mean of the rounds'.
func (r *rounds) pooledLatencies() bool {
	return r.sent == 0 || r.latencyRounds == r.n && len(r.latencies) > 0
}

// nearestRank is the q-quantile of v by the nearest-rank method: the
// smallest value at least a share q of v is at or below.
func nearestRank(v []uint32, q float64) uint32 {
	s := slices.Sorted(slices.Values(v))
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func (r *rounds) maxLatency() time.Duration {
	if r.sent > 0 {
		return r.maxLat
	}
	return r.metrics.Latencies.Max
}

// cpuRatio is y's CPU per request over x's: how much of x's cost per
// answer y's is (bare / service ≥ 0.8 means the service spends at most a
// quarter more than the bare handler per answer); 0 when either is
// unknown.
func cpuRatio(x, y *rounds) float64 {
	cx, cy := x.cpuPerRequest(), y.cpuPerRequest()
	if cx <= 0 || cy <= 0 {
		return 0
	}
	return float64(cy) / float64(cx)
}
