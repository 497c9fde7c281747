package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// redisInstall says how to get redis-server where it is missing; the bench
// runs it but does not build it.
const redisInstall = "apt-get install redis-server"

// redisProc is a running redis-server.
type redisProc struct {
	*proc
	addr string // 127.0.0.1:port
}

// url is the redis.url the replicas are configured with.
func (r *redisProc) url() string { return "redis://" + r.addr + "/0" }

// redisArgs is the command line of a redis-server on addr that keeps
// nothing on disk: the shared state lives as long as the run.
func redisArgs(addr, dir string) ([]string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("redis address %q: %w", addr, err)
	}
	return []string{
		"--bind", host,
		"--port", port,
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--daemonize", "no",
	}, nil
}

// startRedis starts the redis-server at bin on a free 127.0.0.1 port and
// waits until it answers PING. Like every process of the bench it is
// stopped by close, also on Ctrl-C.
func (b *bench) startRedis(ctx context.Context, name, bin string) (*redisProc, error) {
	dir := filepath.Join(b.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s directory: %w", name, err)
	}
	// The free port may be taken before redis-server binds it; it then
	// exits at once and another port is tried.
	var last error
	for range 3 {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		args, err := redisArgs(addr, dir)
		if err != nil {
			return nil, err
		}
		b.logf("starting %s on %s (nothing saved to disk)", name, addr)
		p, err := b.start(name, bin, args, nil)
		if err != nil {
			return nil, err
		}
		last = waitFor(ctx, p, 10*time.Second, 20*time.Millisecond, "PING", func(ctx context.Context) (bool, error) {
			err := redisPing(ctx, addr)
			return err == nil, err
		})
		if last == nil {
			return &redisProc{proc: p, addr: addr}, nil
		}
		b.stop(p)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, last
}

// redisPing checks that a Redis answers PING at addr.
func redisPing(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: 200 * time.Millisecond}
	conn, err := d.DialContext(ctx, "tcp", addr)
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
