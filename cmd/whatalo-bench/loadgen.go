package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Load generators of the closed-loop and fixed-rate comparisons. Both run
// in processes of their own, so the bench's Go runtime does not share the
// cores with the servers it measures beyond what the generator itself
// costs.
const (
	genWrk    = "wrk"
	genVegeta = "vegeta"
	genAuto   = "auto"
)

// vegetaCaveat is printed when wrk is not installed: vegeta, even out of
// the bench's process, costs more CPU per request than wrk, and on a small
// machine it can cap both sides near the same rate, so the throughput
// ratio then says more about the generator than the servers.
const vegetaCaveat = "vegeta spends more CPU per request than wrk and on a small machine caps both sides near the same rate, " +
	"so the throughput ratio understates the gap; CPU per request is the steadier figure"

// Why the closed-loop rounds ran on vegeta, before vegetaCaveat.
const (
	vegetaNoWrk = "closed-loop rounds ran on vegeta (wrk not found on PATH; on Debian `apt-get install wrk`): "
	vegetaAsked = "closed-loop rounds ran on vegeta (--generator vegeta): "
)

// generator runs the closed-loop rounds: wrk when installed, else vegeta
// in a subprocess (the bench's own binary, with loadCommand).
type generator struct {
	name    string // genWrk or genVegeta
	wrkBin  string
	selfBin string
	dir     string // where the Lua scripts and expected bodies go
	caveat  string // "" for wrk
	scripts map[string]string
}

// pickGenerator chooses the closed-loop generator: want is genAuto, genWrk
// or genVegeta; lookPath finds wrk.
func pickGenerator(want string, lookPath func(string) (string, error), selfBin, dir string) (*generator, error) {
	g := &generator{selfBin: selfBin, dir: dir, scripts: map[string]string{}}
	if want == genAuto || want == genWrk {
		if p, err := lookPath("wrk"); err == nil {
			g.name, g.wrkBin = genWrk, p
			return g, nil
		} else if want == genWrk {
			return nil, fmt.Errorf("--generator wrk: %w", err)
		}
	}
	g.name, g.caveat = genVegeta, vegetaNoWrk+vegetaCaveat
	if want == genVegeta {
		g.caveat = vegetaAsked + vegetaCaveat
	}
	return g, nil
}

// roundResult is one round of load against one target, whichever
// generator ran it.
type roundResult struct {
	requests  int           // answers received
	ok        int           // 2xx with the expected body
	wrongBody int           // 2xx whose body was not the expected one
	badStatus int           // non-2xx answers
	errors    int           // transport errors (connect, read, write, timeout)
	elapsed   time.Duration // the round's own time
	p50, p99  time.Duration
	max       time.Duration
	cpu       time.Duration // CPU time of the target process during the round
	latencies []uint32      // every answer's, in microseconds, when reported
}

// add pools r into rs.
func (rs *rounds) add(r roundResult) {
	rs.sent += r.requests
	rs.ok += r.ok
	rs.wrongBody += r.wrongBody
	rs.badStatus += r.badStatus
	rs.transport += r.errors
	rs.active += r.elapsed
	rs.cpu += r.cpu
	rs.p50sum += r.p50 * time.Duration(r.requests)
	rs.p99sum += r.p99 * time.Duration(r.requests)
	rs.maxLat = max(rs.maxLat, r.max)
	rs.n++
	if r.latencies != nil {
		rs.latencies = append(rs.latencies, r.latencies...)
		rs.latencyRounds++
	}
}

// closedRound sends t's request from conns connections for d and counts
// the CPU time t's process used meanwhile.
func (g *generator) closedRound(ctx context.Context, t closedTarget, conns int, d time.Duration) (roundResult, error) {
	return g.round(ctx, t, conns, 0, d)
}

// fixedRound sends t's request at rate per second for d; it always uses
// vegeta, in a subprocess: wrk cannot hold a rate (wrk2 can, and is not
// packaged).
func (g *generator) fixedRound(ctx context.Context, t closedTarget, rate int, d time.Duration) (roundResult, error) {
	return g.round(ctx, t, 0, rate, d)
}

func (g *generator) round(ctx context.Context, t closedTarget, conns, rate int, d time.Duration) (roundResult, error) {
	var cpu0 time.Duration
	var cpuErr error
	if t.pid != 0 {
		cpu0, cpuErr = procCPU(t.pid)
	}
	var r roundResult
	var err error
	if rate == 0 && g.name == genWrk {
		r, err = g.runWrk(ctx, t, conns, d)
	} else {
		r, err = g.runVegeta(ctx, t, conns, rate, d)
	}
	if err != nil {
		return r, err
	}
	if t.pid != 0 && cpuErr == nil {
		if cpu1, err := procCPU(t.pid); err == nil {
			r.cpu = cpu1 - cpu0
		}
	}
	return r, nil
}

// expectedFile writes t's expected body and returns its path.
func (g *generator) expectedFile(t closedTarget) (string, error) {
	p := filepath.Join(g.dir, "expected-"+t.name+".body")
	if err := os.WriteFile(p, t.body, 0o600); err != nil {
		return "", fmt.Errorf("expected body of %s: %w", t.name, err)
	}
	return p, nil
}

// runWrk runs one wrk round with the Lua check of t's body.
func (g *generator) runWrk(ctx context.Context, t closedTarget, conns int, d time.Duration) (roundResult, error) {
	script, ok := g.scripts[t.name]
	if !ok {
		script = filepath.Join(g.dir, "check-"+t.name+".lua")
		if err := os.WriteFile(script, []byte(luaCheckScript(t.body)), 0o600); err != nil {
			return roundResult{}, fmt.Errorf("wrk script: %w", err)
		}
		g.scripts[t.name] = script
	}
	threads := max(1, min(2, conns))
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(max(conns, threads)),
		"-d", strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s",
		"--latency", "--timeout", "15s", "-s", script, "-H", "Authorization: Bearer " + benchToken, t.url}
	cctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, g.wrkBin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return roundResult{}, fmt.Errorf("wrk against %s: %w: %s", t.name, err, firstLine(errOut.String()))
	}
	return parseWrk(out.String())
}

// runVegeta runs one round of the bench's own binary as a vegeta load
// generator (loadCommand) and reads its summary.
func (g *generator) runVegeta(ctx context.Context, t closedTarget, conns, rate int, d time.Duration) (roundResult, error) {
	args := []string{loadCommand, "--url", t.url, "--duration", d.String(),
		"--workers", strconv.Itoa(max(1, conns)), "--rate", strconv.Itoa(rate)}
	if rate > 0 {
		// A fixed-rate round's percentiles are of all the rounds' answers.
		args = append(args, "--latencies")
	}
	if t.body != nil {
		p, err := g.expectedFile(t)
		if err != nil {
			return roundResult{}, err
		}
		args = append(args, "--expect", p)
	}
	cctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := g.loadCmd(cctx, args)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return roundResult{}, fmt.Errorf("vegeta against %s: %w: %s", t.name, err, firstLine(errOut.String()))
	}
	var s loadSummary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		return roundResult{}, fmt.Errorf("vegeta against %s: read its summary: %w", t.name, err)
	}
	return s.result(), nil
}

// loadMemoryLimit is the heap at which the load generator collects: its
// collector is otherwise off (GOGC=off), so that a collection's pauses and
// assists do not land in the latencies it measures. A round at 2,000
// requests a second allocates a few tens of megabytes and never reaches
// it; a closed-loop round collects at the limit.
const loadMemoryLimit = "1GiB"

// loadCmd is the load generator's process: the bench's own binary with
// args, its collector held off up to loadMemoryLimit. Measured side by side
// (--only 2), the p99 of both the service and the bare handler at 2,000
// requests a second went from about 2.9 ms with the default collector to
// 1.1 ms.
func (g *generator) loadCmd(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, g.selfBin, args...)
	cmd.Env = append(os.Environ(), "GOGC=off", "GOMEMLIMIT="+loadMemoryLimit)
	return cmd
}

// luaCheckScript is the wrk script that compares every answer with body
// (status 200 and the same bytes) and prints the counts when wrk is done.
// Each wrk thread has a Lua state of its own; done reads their counters.
func luaCheckScript(body []byte) string {
	return `-- whatalo-bench: checks the body of every answer
local expected = ` + luaQuote(body) + `
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) checked = 0; wrong = 0; badstatus = 0 end
function response(status, headers, body)
  checked = checked + 1
  if status < 200 or status > 299 then badstatus = badstatus + 1
  elseif body ~= expected then wrong = wrong + 1 end
end
function done(summary, latency, requests)
  local c, w, s = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("checked"); w = w + t:get("wrong"); s = s + t:get("badstatus")
  end
  io.write(string.format("whatalo-bench-check: checked %d wrong_body %d bad_status %d\n", c, w, s))
end
`
}

// luaQuote writes b as a Lua string literal: printable ASCII as is, every
// other byte, the quote and the backslash as three-digit decimal escapes,
// which Lua 5.1 (wrk's LuaJIT) reads back byte for byte.
func luaQuote(b []byte) string {
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			s.WriteByte(c)
			continue
		}
		fmt.Fprintf(&s, "\\%03d", c)
	}
	s.WriteByte('"')
	return s.String()
}

var (
	wrkRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),`)
	wrkSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkPct      = regexp.MustCompile(`(?m)^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$`)
	wrkMax      = regexp.MustCompile(`(?m)^[ \t]*Latency[ \t]+\S+[ \t]+\S+[ \t]+([\d.]+)(us|ms|s|m)[ \t]`)
	wrkCheck    = regexp.MustCompile(`whatalo-bench-check: checked (\d+) wrong_body (\d+) bad_status (\d+)`)
)

// parseWrk reads what wrk printed with --latency and the check script.
// Without the check line the bodies were not checked, which is an error:
// a 200 alone proves nothing, the service answers 200 to everything.
func parseWrk(out string) (roundResult, error) {
	var r roundResult
	m := wrkRequests.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk output has no request count: %.200q", out)
	}
	r.requests, _ = strconv.Atoi(m[1])
	el, err := wrkDuration(m[2], m[3])
	if err != nil {
		return r, err
	}
	r.elapsed = el
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.errors += n
		}
	}
	non2xx := 0
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		non2xx, _ = strconv.Atoi(m[1])
	}
	for _, m := range wrkPct.FindAllStringSubmatch(out, -1) {
		d, err := wrkDuration(m[2], m[3])
		if err != nil {
			return r, err
		}
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if m := wrkMax.FindStringSubmatch(out); m != nil {
		r.max, _ = wrkDuration(m[1], m[2])
	}
	c := wrkCheck.FindStringSubmatch(out)
	if c == nil {
		return r, errors.New("wrk output has no body check line: was the check script run?")
	}
	checked, _ := strconv.Atoi(c[1])
	r.wrongBody, _ = strconv.Atoi(c[2])
	r.badStatus, _ = strconv.Atoi(c[3])
	r.badStatus = max(r.badStatus, non2xx)
	if checked < r.requests {
		// Answers wrk counted but the script never saw are not known good.
		r.wrongBody += r.requests - checked
	}
	r.ok = max(0, r.requests-r.wrongBody-r.badStatus)
	return r, nil
}

// wrkDuration reads one of wrk's durations ("1.23ms", "850.00us").
func wrkDuration(num, unit string) (time.Duration, error) {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("wrk duration %s%s: %w", num, unit, err)
	}
	scale := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	return time.Duration(f * float64(scale)), nil
}
