package main

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// growPipe asks Linux for a pipe buffer as large as the log's own
// (asyncLogCapacity) when w is a pipe, as standard output is under a
// container runtime, systemd or a supervisor. With the default 64 KiB a
// batch of lines (half of asyncLogCapacity) fills the pipe and its write
// waits for the reader on every batch, which costs the requests' cores more
// than the lines themselves. The kernel caps the size at fs.pipe-max-size;
// a refusal leaves the pipe as it was, and anything but a pipe refuses
// (F_SETPIPE_SZ is for pipes only). The descriptor is reached through
// SyscallConn, not Fd, which would also switch it to blocking mode.
func growPipe(w io.Writer) {
	f, ok := w.(*os.File)
	if !ok {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, asyncLogCapacity)
	})
}
