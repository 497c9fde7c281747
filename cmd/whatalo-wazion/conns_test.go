package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// holdConns opens n connections to addr from the loopback address from
// (Linux routes all of 127.0.0.0/8 to lo), each sending one byte and then
// nothing, as a flood that holds connection slots does. They are closed
// with the test.
func holdConns(t *testing.T, addr, from string, n int) []net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial from %s: %v", from, err)
		}
		conns = append(conns, c)
		if _, err := c.Write([]byte("G")); err != nil {
			t.Fatalf("write from %s: %v", from, err)
		}
	}
	return conns
}

// getFrom sends GET target from the loopback address from over a new
// connection and returns the status, Content-Type and body.
func getFrom(t *testing.T, from, addr, target string) (int, string, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s from %s: %v", strings.SplitN(target, "?", 2)[0], from, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestOneAddressCannotTakeEverySlot floods the service from 127.0.0.2
// with more idle connections than it has slots: other addresses, and
// /healthz, still get their answers.
func TestOneAddressCannotTakeEverySlot(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	ts := startService(t, fake, nil, func(c *config.Config) {
		c.Server.Concurrency = 64
		c.Server.MaxConnsPerIP = 16
		c.Index.Disabled = true
	})
	addr := strings.TrimPrefix(ts.URL, "http://")
	flood := holdConns(t, addr, "127.0.0.2", 80)
	// The last of the flood is over every cap: it is answered at once,
	// which also says the others were accepted first.
	_ = flood[79].SetReadDeadline(time.Now().Add(10 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(flood[79]), nil); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != wazion.ContentTypeJSON {
			t.Errorf("refused connection answered %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	} else {
		t.Errorf("refused connection: %v", err)
	}

	ok := 0
	for i := range 10 {
		from := fmt.Sprintf("127.0.0.%d", 3+i)
		if code, _, body := getFrom(t, from, addr, "/healthz"); code == http.StatusOK {
			ok++
		} else {
			t.Errorf("/healthz from %s: %d %.100s", from, code, body)
		}
		code, ctype, body := getFrom(t, from, addr, wazionPath(wazion.EndpointGlobalSearch, "token", testToken, "query", "ana"))
		var m map[string]any
		if code != http.StatusOK || ctype != wazion.ContentTypeJSON || json.Unmarshal([]byte(body), &m) != nil || m["error"] == wazion.BusyMessage {
			t.Errorf("globalSearch from %s: %d %q %.100s", from, code, ctype, body)
		} else {
			ok++
		}
	}
	t.Logf("flood of 80 connections from one address: %d of 20 answers from other addresses ok", ok)
}

// TestSlotsRunOut floods the service from many addresses until every slot
// is taken: WAzion requests still get JSON, and /healthz on the admin
// listener answers.
func TestSlotsRunOut(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	adminAddr := freeAddr(t)
	ts := startService(t, fake, map[string]string{"ADMIN_LISTEN_ADDR": adminAddr}, func(c *config.Config) {
		c.Server.Concurrency = 32
		c.Server.MaxConnsPerIP = 8
		c.Index.Disabled = true
	})
	addr := strings.TrimPrefix(ts.URL, "http://")
	for i := range 4 {
		holdConns(t, addr, fmt.Sprintf("127.0.1.%d", 1+i), 8)
	}
	// The listener accepts in the order of connection: the request below
	// comes after every slot was taken.
	code, ctype, body := getFrom(t, "127.0.2.1", addr, wazionPath(wazion.EndpointCustomerInfo, "token", testToken, "phone", "+18095550134"))
	var m map[string]any
	if code != http.StatusOK || ctype != wazion.ContentTypeJSON || json.Unmarshal([]byte(body), &m) != nil || m["error"] != wazion.BusyMessage {
		t.Errorf("WAzion request with every slot taken: %d %q %.200s", code, ctype, body)
	}
	if code, _, body := getFrom(t, "127.0.2.1", adminAddr, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz on the admin listener: %d %.100s", code, body)
	}
	if code, _, _ := getFrom(t, "127.0.2.1", adminAddr, "/wazion/"+wazion.EndpointCustomerInfo); code != http.StatusNotFound {
		t.Errorf("the admin listener serves WAzion routes: %d", code)
	}
}

// TestHeaderDeadlineIsShorterThanTheBody's: a connection that sends one
// byte is let go after the header timeout, while a body slower than it is
// still read under the read timeout.
func TestHeaderDeadlineIsShorterThanTheBody(t *testing.T) {
	fake := whatalotest.NewServer(t, nil)
	ts := startService(t, fake, nil, func(c *config.Config) {
		c.Server.HeaderTimeout = 200 * time.Millisecond
		c.Server.ReadTimeout = 10 * time.Second
		c.Index.Disabled = true
	})
	addr := strings.TrimPrefix(ts.URL, "http://")
	idle := holdConns(t, addr, "127.0.0.2", 1)[0]
	_ = idle.SetReadDeadline(time.Now().Add(8 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil {
		t.Fatalf("a one-byte connection was not let go: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != wazion.ContentTypeJSON || !strings.Contains(string(b), "request timeout") {
		t.Errorf("one-byte connection answered %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	body := `{"query":"ana","token":"` + testToken + `"}`
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		wazionPath(wazion.EndpointGlobalSearch), len(body), body[:5])
	time.Sleep(500 * time.Millisecond) // past the header timeout, within the read timeout
	io.WriteString(c, body[5:])
	resp, err = http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("slow body: %v", err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var m map[string]any
	if json.Unmarshal(b, &m) != nil || m["error"] != "" && m["error"] != nil {
		t.Errorf("slow body answered %s", b)
	}
}
