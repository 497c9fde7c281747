// Package redistest runs a real redis-server for tests, on 127.0.0.1 and a
// free port, in a temporary directory, with nothing saved to disk: the
// Redis counterpart of net/http/httptest. Tests fail, not skip, when
// redis-server is not installed; CI installs it.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a started redis-server has to answer.
const startTimeout = 10 * time.Second

// Server is a redis-server process, stopped by t.Cleanup.
type Server struct {
	Addr string // 127.0.0.1:port
	URL  string // redis://127.0.0.1:port/0

	t    testing.TB
	dir  string
	port int
	args []string // the command line before the flags every server gets

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error // gets the process's exit once
}

// Start runs a redis-server for the length of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	return launch(t, t.TempDir(), noDisk...)
}

// StartSentinel runs a Redis Sentinel watching master under the name
// name, for the length of the test. Its URL names the master, as a
// client of the Sentinel gives it.
func StartSentinel(t testing.TB, master *Server, name string) *Server {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 1000\n", name, master.port, name)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatalf("write sentinel config: %v", err)
	}
	s := launch(t, dir, conf, "--sentinel")
	s.URL += "?master_name=" + url.QueryEscape(name)
	return s
}

// StartReplica runs a redis-server replicating master, for the length of
// the test.
func StartReplica(t testing.TB, master *Server) *Server {
	t.Helper()
	return launch(t, t.TempDir(), slices.Concat(noDisk, []string{"--replicaof", "127.0.0.1", strconv.Itoa(master.port)})...)
}

// noDisk keeps a redis-server from saving anything.
var noDisk = []string{"--save", "", "--appendonly", "no"}

// launch starts redis-server with args in dir on a free port, and stops it
// at the end of t.
func launch(t testing.TB, dir string, args ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (apt-get install redis-server; .ci/run installs it): %v", err)
	}
	s := &Server{t: t, dir: dir, args: args}
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			continue
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	s.Addr = "127.0.0.1:" + strconv.Itoa(s.port)
	s.URL = "redis://" + s.Addr + "/0"
	t.Cleanup(s.Stop)
	return s
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	cmd := exec.Command("redis-server", append(slices.Clone(s.args),
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--daemonize", "no",
	)...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	addr := "127.0.0.1:" + strconv.Itoa(s.port)
	deadline := time.Now().Add(startTimeout)
	for {
		if ping(addr) == nil {
			s.cmd, s.exited = cmd, exited
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("redis-server exited: %v: %s", err, lastLines(out.String()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server did not answer within %s: %s", startTimeout, lastLines(out.String()))
		}
	}
}

// ping checks that a Redis answers PING at addr.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("redis answered %q", strings.TrimSpace(line))
	}
	return nil
}

func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], " | ")
}

// Stop kills the server, as when Redis goes down; data is lost. Stopping
// a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Pause freezes the server's process (SIGSTOP), as a hung Redis: its
// connections stay open and get no answer, and nothing it holds is lost.
// Resume lets it go on. Pausing a stopped server does nothing.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume lets a paused server go on (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Errorf("signal redis-server: %v", err)
	}
}

// Restart starts a stopped server again on the same port, empty.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("restart redis-server: %v", err)
	}
}
