package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Import paths of the binaries under test; go build resolves them from
// the module the bench runs in.
const (
	fakePackage    = "github.com/whatalo-wazion/whatalo-wazion/cmd/whatalo-fake"
	servicePackage = "github.com/whatalo-wazion/whatalo-wazion/cmd/whatalo-wazion"
)

// buildBinaries compiles the fake and the service into dir.
func buildBinaries(ctx context.Context, dir string) (fake, service string, err error) {
	fake = filepath.Join(dir, "whatalo-fake")
	service = filepath.Join(dir, "whatalo-wazion")
	for _, b := range []struct{ out, pkg string }{{fake, fakePackage}, {service, servicePackage}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.out, b.pkg)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return "", "", fmt.Errorf("go build %s (run from the repository): %w\n%s", b.pkg, err, out.String())
		}
	}
	return fake, service, nil
}

// proc is one subprocess the bench started. Its output goes through a
// pipe to a buffer that keeps the tail, the way a container runtime reads a
// service's stdout: a log file on a busy disk would measure the disk. The
// tail is written to the work directory when the process stops.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	out     *tailBuffer
	done    chan struct{}
	err     error // set before done closes

	stopOnce sync.Once
}

// startProc starts bin with args and env added to the bench's environment.
// The child is killed if the bench dies without stopping it.
func startProc(name, bin string, args, env []string, logDir string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &tailBuffer{max: 256 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: filepath.Join(logDir, name+".log"), out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports an error if the process has ended.
func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v); last lines of its output:\n%s", p.name, p.err, p.tail(20))
	default:
		return nil
	}
}

// tail returns the last n lines of the output.
func (p *proc) tail(n int) string {
	lines := strings.Split(strings.TrimRight(string(p.out.bytes()), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stop asks the process to end (SIGTERM), kills it after grace, and saves
// the tail of its output.
func (p *proc) stop(grace time.Duration) {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		_ = os.WriteFile(p.logPath, p.out.bytes(), 0o644)
	})
}

// tailBuffer is an io.Writer that keeps the last bytes written, about max.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		// Keep the newer half so appends stay amortized.
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max/2:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.buf)
}

// freeAddr returns a 127.0.0.1 address with a port free at the time of
// the call.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// ctlClient is the bench's own client for control calls (health, stats,
// metrics, paging the fake), apart from vegeta's.
var ctlClient = &http.Client{Timeout: 30 * time.Second}

// getJSON GETs url into v and returns the status code. Headers are
// name, value pairs.
func getJSON(ctx context.Context, url string, v any, headers ...string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := ctlClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read %s: %w", url, err)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s (status %d): %w", url, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, nil
}

// postJSON POSTs an empty body to url and decodes the answer into v.
func postJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	resp, err := ctlClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: status %d", url, resp.StatusCode)
	}
	if v == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// waitFor polls check every interval until it returns true, an error, the
// process ends or timeout passes.
func waitFor(ctx context.Context, p *proc, timeout, interval time.Duration, what string, check func(ctx context.Context) (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if err := p.exited(); err != nil {
			return err
		}
		ok, err := check(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			if last != nil {
				return fmt.Errorf("%s: %s not reached within %s: %w", p.name, what, timeout, last)
			}
			return fmt.Errorf("%s: %s not reached within %s", p.name, what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// waitHTTP200 waits until GET url answers 200.
func waitHTTP200(ctx context.Context, p *proc, url string, timeout time.Duration) error {
	return waitFor(ctx, p, timeout, 50*time.Millisecond, "GET "+url+" 200", func(ctx context.Context) (bool, error) {
		code, err := getJSON(ctx, url, nil)
		return err == nil && code == http.StatusOK, err
	})
}

// procStatus reads the fields of /proc/PID/status we report, in kB.
func procStatus(pid int) (rssKB, hwmKB int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read process status: %w", err)
	}
	defer f.Close()
	return parseProcStatus(f)
}

// parseProcStatus reads VmRSS and VmHWM from /proc/PID/status text.
func parseProcStatus(r io.Reader) (rssKB, hwmKB int64, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, perr := strconv.ParseInt(fields[0], 10, 64)
		if perr != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rssKB = n
		case "VmHWM":
			hwmKB = n
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if rssKB == 0 {
		return 0, 0, errors.New("no VmRSS in process status")
	}
	return rssKB, hwmKB, nil
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procCPU returns the CPU time (user + system) the process has used.
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read process stat: %w", err)
	}
	return parseProcStat(string(data))
}

// parseProcStat reads utime and stime (fields 14 and 15) of /proc/PID/stat;
// the command name (field 2) may hold spaces, so fields count from its
// closing parenthesis.
func parseProcStat(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed process stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, errors.New("short process stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed process stat times")
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}
