package wazion

import (
	"errors"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

// deadlineLog is a net.Conn that records the read deadlines applied to it
// and whose Reads block until the deadline or a write on the other end.
type deadlineLog struct {
	net.Conn
	applied []time.Time
}

func (c *deadlineLog) SetReadDeadline(t time.Time) error {
	c.applied = append(c.applied, t)
	return c.Conn.SetReadDeadline(t)
}

// pipeConn returns a limitedConn over one end of a pipe, the log of its
// applied read deadlines, and the other end.
func pipeConn(t *testing.T) (*limitedConn, *deadlineLog, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	log := &deadlineLog{Conn: a}
	return &limitedConn{Conn: log, release: func() {}}, log, b
}

// readOne reads one byte written on peer.
func readOne(t *testing.T, c net.Conn, peer net.Conn) {
	t.Helper()
	go peer.Write([]byte{'x'})
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("read: %v", err)
	}
}

func TestDeadlinesAreAppliedWhenTheyBoundARead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, log, peer := pipeConn(t)
		start := time.Now()

		// Asked while no Read runs: nothing reaches the connection until
		// one starts, and only the last of them then.
		_ = c.SetReadDeadline(start.Add(90 * time.Second))
		_ = c.SetReadDeadline(start.Add(5 * time.Second))
		if len(log.applied) != 0 {
			t.Fatalf("applied before any read: %v", log.applied)
		}
		readOne(t, c, peer)
		if len(log.applied) != 1 || !log.applied[0].Equal(start.Add(5*time.Second)) {
			t.Fatalf("applied %v, want the last asked, %v", log.applied, start.Add(5*time.Second))
		}

		// The same timeout asked again a moment later keeps the applied
		// one, which leaves nearly all of it.
		time.Sleep(time.Millisecond)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		readOne(t, c, peer)
		if len(log.applied) != 1 {
			t.Fatalf("a deadline a millisecond later was applied: %v", log.applied)
		}

		// Once the applied one leaves less than seven eighths of the time
		// asked for, the later one is applied.
		time.Sleep(time.Second)
		later := time.Now().Add(5 * time.Second)
		_ = c.SetReadDeadline(later)
		readOne(t, c, peer)
		if len(log.applied) != 2 || !log.applied[1].Equal(later) {
			t.Fatalf("applied %v, want %v applied second", log.applied, later)
		}

		// An earlier deadline and no deadline are always applied.
		earlier := later.Add(-time.Millisecond)
		_ = c.SetReadDeadline(earlier)
		readOne(t, c, peer)
		_ = c.SetReadDeadline(time.Time{})
		readOne(t, c, peer)
		if len(log.applied) != 4 || !log.applied[2].Equal(earlier) || !log.applied[3].IsZero() {
			t.Fatalf("applied %v, want %v then the zero time", log.applied, earlier)
		}
	})
}

func TestDeadlineStillEndsAReadOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _, _ := pipeConn(t)
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read past its deadline: %v", err)
		}
		if got := time.Since(start); got != 5*time.Second {
			t.Errorf("read ended after %s, want 5s", got)
		}
	})
}

func TestDeadlineAskedDuringAReadEndsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _, _ := pipeConn(t)
		errc := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 1))
			errc <- err
		}()
		synctest.Wait() // the Read is blocked, with no deadline
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(time.Second))
		if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("blocked read: %v", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("blocked read ended after %s, want 1s", got)
		}
	})
}

func TestWriteDeadlineIsAppliedToWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _, _ := pipeConn(t) // nobody reads the other end: a Write blocks
		start := time.Now()
		_ = c.SetDeadline(start.Add(2 * time.Second))
		_, err := c.Write([]byte("x"))
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("write past its deadline: %v", err)
		}
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("write ended after %s, want 2s", got)
		}
	})
}
