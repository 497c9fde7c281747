package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// row is one line of the results table.
type row struct {
	scenario  string // "1", "2", ...
	what      string // the scenario in a few words
	measure   string
	service   string // the service's figure
	reference string // the figure it is judged against: bare handler, naive mode, cold
	target    string // "" when the row has no target
	met       verdict
}

// verdict says whether a row met its target.
type verdict int

const (
	noTarget verdict = iota
	met
	missed
	unmeasured
)

func (v verdict) String() string {
	switch v {
	case met:
		return "yes"
	case missed:
		return "**no**"
	case unmeasured:
		return "not measured"
	}
	return ""
}

func verdictOf(ok bool) verdict {
	if ok {
		return met
	}
	return missed
}

// report is the whole run's output.
type report struct {
	started  time.Time
	finished time.Time
	machine  machine
	settings string
	rows     []row
	notes    []string
}

func (r *report) add(rw row) { r.rows = append(r.rows, rw) }

func (r *report) note(format string, a ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, a...))
}

// machine describes where the figures come from.
type machine struct {
	cpus      int
	cpuModel  string
	memory    string
	kernel    string
	goVersion string
	loadStart string
	loadEnd   string
}

func readMachine() machine {
	m := machine{cpus: runtime.NumCPU(), goVersion: runtime.Version(), loadStart: loadAverage()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpuModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
				m.memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(data))
	}
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		m.goVersion = strings.TrimSpace(string(out))
	}
	return m
}

// loadAverage is the 1, 5 and 15 minute load average: other work on the
// machine shows here.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// Markdown renders the report.
func (r *report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## whatalo-bench results\n\n")
	m := r.machine
	fmt.Fprintf(&b, "- Machine: %d CPUs (%s), %s memory, Linux %s, %s, %s/%s\n",
		m.cpus, orDefault(m.cpuModel, "unknown CPU"), orDefault(m.memory, "unknown"), orDefault(m.kernel, "?"), m.goVersion, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "- Run: %s, %s; load average (1/5/15 min) %s at start, %s at end\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), r.finished.Sub(r.started).Round(time.Second), m.loadStart, m.loadEnd)
	fmt.Fprintf(&b, "- Settings: %s\n\n", r.settings)
	b.WriteString("| # | Scenario | Measure | Service | Reference | Target | Met |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, rw := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n",
			rw.scenario, cell(rw.what), cell(rw.measure), cell(rw.service), cell(rw.reference), cell(rw.target), rw.met)
	}
	if len(r.notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range r.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

// cell keeps a value from breaking the table.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ")
}

// Formatting of figures.

func fmtRate(perSec float64) string { return fmt.Sprintf("%s req/s", thousands(int64(perSec+0.5))) }

func fmtMs(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.2f s", ms/1000)
}

func fmtPct(x float64) string {
	p := 100 * x
	if p != 0 && p < 1 {
		return fmt.Sprintf("%.2f %%", p)
	}
	return fmt.Sprintf("%.1f %%", p)
}

func fmtMB(kb int64) string { return fmt.Sprintf("%.0f MB", float64(kb)/1024) }

func fmtMicros(d time.Duration) string {
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

// thousands writes n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// outcomeText lists outcome counts in a stable order.
func outcomeText(m map[string]int) string {
	order := []string{"ok", "not_found", "error", "transport"}
	var parts []string
	seen := map[string]bool{}
	for _, k := range order {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", k, thousands(int64(m[k]))))
		}
		seen[k] = true
	}
	var rest []string
	for k := range m {
		if !seen[k] && m[k] > 0 {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		parts = append(parts, fmt.Sprintf("%s %s", k, thousands(int64(m[k]))))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
