package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// importProgress shows how far the import is.
type importProgress interface {
	// Add counts n more finished rows.
	Add(n int)
	// Note shows a passing remark, such as a rate-limit wait.
	Note(msg string)
	// Finish ends the display.
	Finish()
}

// newImportProgress returns a progress bar with rate and ETA when w is a
// terminal, else plain lines that read well in logs and CI.
// unit names what is counted ("rows"); start is when the work began.
func newImportProgress(w io.Writer, total int, what, unit string, start time.Time) importProgress {
	if total > 0 && writerIsTerminal(w) {
		return newBarProgress(w, total, what, unit)
	}
	return &lineProgress{w: w, what: what, unit: unit, total: total, start: start, last: time.Now(),
		every: 5 * time.Second, everyRows: 500}
}

func writerIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type barProgress struct {
	bar   *progressbar.ProgressBar
	what  string
	noted bool
}

func newBarProgress(w io.Writer, total int, what, unit string) *barProgress {
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	return &barProgress{bar: bar, what: what}
}

func (p *barProgress) Add(n int) {
	if p.noted {
		p.bar.Describe(p.what)
		p.noted = false
	}
	_ = p.bar.Add(n)
}

func (p *barProgress) Note(msg string) {
	p.bar.Describe(p.what + " (" + msg + ")")
	p.noted = true
}

func (p *barProgress) Finish() {
	if !p.bar.IsFinished() {
		// Stopped early: keep the bar where it is; Exit ends its line.
		_ = p.bar.Exit()
	}
}

// lineProgress prints a line every everyRows rows or every interval,
// whichever comes first, and one at the end.
type lineProgress struct {
	w         io.Writer
	what      string
	unit      string
	total     int
	done      int
	start     time.Time
	last      time.Time
	every     time.Duration
	everyRows int
}

func (p *lineProgress) Add(n int) {
	p.done += n
	if p.done%p.everyRows == 0 || time.Since(p.last) >= p.every {
		p.print()
	}
}

func (p *lineProgress) Note(msg string) {
	fmt.Fprintf(p.w, "%s: %s\n", p.what, msg)
}

func (p *lineProgress) Finish() {
	if p.done > 0 || p.total == 0 {
		p.print()
	}
}

func (p *lineProgress) print() {
	p.last = time.Now()
	elapsed := time.Since(p.start)
	var line string
	switch {
	case p.total < 0: // unknown
		line = fmt.Sprintf("%s: %d %s", p.what, p.done, p.unit)
	case p.total > 0:
		line = fmt.Sprintf("%s: %d/%d %s (%d%%)", p.what, p.done, p.total, p.unit, p.done*100/p.total)
	default:
		line = fmt.Sprintf("%s: %d/%d %s (100%%)", p.what, p.done, p.total, p.unit)
	}
	if secs := elapsed.Seconds(); secs > 0 && p.done > 0 {
		rate := float64(p.done) / secs
		line += fmt.Sprintf(", %.1f %s/s", rate, p.unit)
		if left := p.total - p.done; left > 0 {
			line += fmt.Sprintf(", ETA %s", time.Duration(float64(left)/rate*float64(time.Second)).Round(time.Second))
		}
	}
	fmt.Fprintln(p.w, line)
}
