package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func pipeSize(t *testing.T, f *os.File) int {
	t.Helper()
	n, err := unix.FcntlInt(f.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestGrowPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	before := pipeSize(t, w)
	want := asyncLogCapacity
	if os.Geteuid() != 0 { // root may pass fs.pipe-max-size
		if b, err := os.ReadFile("/proc/sys/fs/pipe-max-size"); err == nil {
			if max, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				want = min(want, max)
			}
		}
	}
	growPipe(w)
	if got := pipeSize(t, w); got < want || got <= before {
		t.Fatalf("pipe of %d bytes after growPipe, want %d (it was %d)", got, want, before)
	}

	// A file is not a pipe: left as it is, and still written.
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	growPipe(f)
	if _, err := f.WriteString("line\n"); err != nil {
		t.Fatal(err)
	}
}
