package wazion

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// BusyMessage is the "error" of the answer a connection gets when the
// server has no slot for it.
const BusyMessage = "server busy: too many connections, retry"

// busyAnswer is written on a refused connection before its request is
// read: WAzion reads 200 and JSON on every answer, and counts this one as
// an error like any other.
var busyAnswer = func() []byte {
	body := `{"found":false,"error":"` + BusyMessage + `"}`
	return []byte("HTTP/1.1 200 OK\r\nContent-Type: " + ContentTypeJSON + "\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body)
}()

// Bounds on seeing a refused connection off: the answer is written, the
// write side shut, and what the client sent is read for a moment so that
// closing does not reset the connection (a reset discards the answer).
// maxRefusing bounds the connections being seen off at once; past it they
// are closed at once.
const (
	refuseWait  = 500 * time.Millisecond
	maxRefusing = 64
)

// ConnLimits bounds the connections a LimitListener lets through.
type ConnLimits struct {
	// Total caps connections open at once; 0 is no cap. Keep the HTTP
	// server's own cap (fasthttp's Concurrency) above it, or the server
	// refuses first with a text answer.
	Total int
	// PerAddr caps connections open at once from one client address, so
	// that one address cannot take every slot; 0 is no cap. Behind a
	// proxy every connection comes from the proxy's address: set it to 0
	// there, or above the proxy's own connection pool.
	PerAddr int
	// Silent closes refused connections without the busy answer, for a
	// listener under TLS, where plain bytes would mean nothing.
	Silent bool
}

// LimitListener is a net.Listener that refuses connections over its
// limits with WAzion's JSON busy answer instead of handing them on. Close
// waits for the refused connections it is still seeing off.
type LimitListener struct {
	net.Listener
	limits ConnLimits

	mu     sync.Mutex
	total  int
	byAddr map[netip.Addr]int

	refusing chan struct{} // one token per refused connection being seen off
	wg       sync.WaitGroup
}

// NewLimitListener wraps ln with limits.
func NewLimitListener(ln net.Listener, limits ConnLimits) *LimitListener {
	return &LimitListener{Listener: ln, limits: limits, byAddr: map[netip.Addr]int{}, refusing: make(chan struct{}, maxRefusing)}
}

// Accept returns the next connection within the limits, refusing the
// others on the way.
func (l *LimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := remoteAddr(c)
		if l.admit(addr) {
			return &limitedConn{Conn: c, release: func() { l.release(addr) }}, nil
		}
		l.refuse(c)
	}
}

// Close closes the listener and waits for refused connections to be seen
// off.
func (l *LimitListener) Close() error {
	err := l.Listener.Close()
	l.wg.Wait()
	return err
}

// Open returns the connections open now, in total and from addr.
func (l *LimitListener) Open(addr netip.Addr) (total, fromAddr int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.byAddr[addr.Unmap()]
}

func (l *LimitListener) admit(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limits.Total > 0 && l.total >= l.limits.Total {
		return false
	}
	if l.limits.PerAddr > 0 && addr.IsValid() && l.byAddr[addr] >= l.limits.PerAddr {
		return false
	}
	l.total++
	if addr.IsValid() {
		l.byAddr[addr]++
	}
	return true
}

func (l *LimitListener) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if !addr.IsValid() {
		return
	}
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
}

// refuse writes the busy answer on c and closes it, in its own goroutine
// (owned by l) so that a slow client does not hold up Accept.
func (l *LimitListener) refuse(c net.Conn) {
	if l.limits.Silent {
		c.Close()
		return
	}
	select {
	case l.refusing <- struct{}{}:
	default:
		c.Close()
		return
	}
	l.wg.Go(func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(refuseWait))
		if _, err := c.Write(busyAnswer); err != nil {
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		buf := make([]byte, 4<<10)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
}

// remoteAddr is c's client address, invalid when it has none (a pipe).
func remoteAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// limitedConn gives its slot back once, on the first Close, and applies
// its deadlines when they bound something (see lazyDeadline).
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
	rd, wd  lazyDeadline
}

func (c *limitedConn) Read(p []byte) (int, error) {
	if err := c.rd.enter(c.Conn.SetReadDeadline); err != nil {
		return 0, err
	}
	defer c.rd.exit()
	return c.Conn.Read(p)
}

func (c *limitedConn) Write(p []byte) (int, error) {
	if err := c.wd.enter(c.Conn.SetWriteDeadline); err != nil {
		return 0, err
	}
	defer c.wd.exit()
	return c.Conn.Write(p)
}

func (c *limitedConn) SetReadDeadline(t time.Time) error {
	return c.rd.want(t, c.Conn.SetReadDeadline)
}

func (c *limitedConn) SetWriteDeadline(t time.Time) error {
	return c.wd.want(t, c.Conn.SetWriteDeadline)
}

func (c *limitedConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// lazyDeadline is one direction of a connection's deadline, applied to the
// connection when it bounds something. fasthttp asks for two read
// deadlines and a write deadline on every request (the idle time, the
// header time, the write time), and each is a timer update in the runtime;
// a deadline only bounds the Reads (Writes) that run under it, so one
// asked while none runs waits for the next to start, and one asked while
// one runs is applied at once, which still ends a blocked Read as net.Conn
// promises. Often none runs in between: a request's headers arrive whole
// with its first byte, so the header deadline never reaches the
// connection.
//
// A later deadline does not replace the applied one while the applied one
// still leaves at least seven eighths of the time the later one gives:
// under keep-alive the same timeout is asked again request after request,
// a few microseconds later each time, and is applied again about once per
// eighth of it. An earlier deadline, or none, is always applied.
type lazyDeadline struct {
	mu      sync.Mutex
	wanted  time.Time
	applied time.Time
	running int // Reads (Writes) under the applied deadline
}

// want asks for t, applying it at once when a Read (Write) runs.
func (d *lazyDeadline) want(t time.Time, apply func(time.Time) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.wanted = t
	if d.running == 0 {
		return nil
	}
	return d.applyLocked(apply)
}

// enter applies the wanted deadline, if it must be, before a Read (Write).
func (d *lazyDeadline) enter(apply func(time.Time) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.applyLocked(apply); err != nil {
		return err
	}
	d.running++
	return nil
}

func (d *lazyDeadline) exit() {
	d.mu.Lock()
	d.running--
	d.mu.Unlock()
}

func (d *lazyDeadline) applyLocked(apply func(time.Time) error) error {
	if d.wanted.Equal(d.applied) {
		return nil
	}
	if !d.applied.IsZero() && d.wanted.After(d.applied) {
		now := time.Now()
		if left := d.applied.Sub(now); left > 0 && left >= d.wanted.Sub(now)/8*7 {
			return nil
		}
	}
	if err := apply(d.wanted); err != nil {
		return err
	}
	d.applied = d.wanted
	return nil
}
