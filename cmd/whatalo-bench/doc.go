// Command whatalo-bench measures whatalo-wazion against the numbers of the
// specification (section 7) in one run on one machine, and prints them as a
// markdown table.
//
// It builds cmd/whatalo-fake and cmd/whatalo-wazion, starts them as
// subprocesses on free 127.0.0.1 ports together with a bare Fiber handler
// serving the service's own response bytes (the ceiling), drives them, and
// stops every process it started before it returns. The closed-loop rounds
// run on wrk when it is on PATH (a Lua script checks every answer's body),
// else on vegeta in a subprocess (the bench's own binary, "load"), which
// the report says with its caveat; the fixed-rate rounds always run on
// vegeta in a subprocess, since wrk cannot hold a rate. Scenarios:
//
//  1. cached sidePanel_CustomerInfo, closed loop, rounds alternating
//     between the service and the bare handler: throughput as a ratio, and
//     server CPU per request of both (utime + stime from /proc/PID/stat
//     over each round);
//  2. the same endpoint at a fixed open-loop rate (2,000 req/s): p99;
//  3. a Zipf workload over the generated phones at the default rate limit:
//     upstream calls per request and cache hit ratio, beside a naive
//     pass-through (cache and index off);
//  4. globalSearch by name, cold (first request per query) and warm;
//  5. resident memory of the service with 100,000 customers indexed, its
//     peak (VmHWM) while indexing, and many stores (--stores, 200 and
//     1,000 by default) of the demo data on one fake, each with a key of
//     its own: time until every index is ready, start-up upstream calls,
//     RSS, VmHWM and /metrics lines before and after lookups;
//  6. several replicas sharing a Redis the bench starts (redis-server from
//     PATH): cached throughput with Redis against without, and the
//     upstream calls of a replica that starts cold after another has
//     answered the same phones, with Redis and with nothing shared.
//
// All traffic goes to 127.0.0.1; every load is bounded in time and count.
// It knows the service only from outside: its command line, YAML
// configuration, /healthz, /readyz and /metrics; and the fake only through
// its HTTP API and /_fake control routes.
//
// Usage, from the repository root:
//
//	go run ./cmd/whatalo-bench [--duration 10s] [--quick] [--out FILE]
//
// See docs/BENCHMARKS.md for what each row means.
package main
