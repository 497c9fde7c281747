package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// bareCommand is the hidden subcommand that serves the ceiling: the bench
// runs its own binary with it, so the bare handler is a process of its own
// like the service, not sharing a Go runtime with the load generator.
const bareCommand = "bare"

// newBareApp returns a Fiber app that answers GET and POST on path with
// body and contentType, and does nothing else: the most any Fiber service
// returning these bytes could do on this machine.
func newBareApp(path string, body []byte, contentType string) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	h := func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, contentType)
		return c.Send(body)
	}
	app.Get(path, h)
	app.Post(path, h)
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	return app
}

// runBare serves the bare handler until ctx ends.
func runBare(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet(bareCommand, stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	bodyFile := fs.String("body", "", "file holding the response body")
	contentType := fs.String("content-type", fiber.MIMEApplicationJSONCharsetUTF8, "response content type")
	path := fs.String("path", "/", "route to answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !strings.HasPrefix(*listen, "127.") {
		return fmt.Errorf("bare: --listen %q: only loopback addresses", *listen)
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		return fmt.Errorf("bare: read --body: %w", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("bare: listen: %w", err)
	}
	app := newBareApp(*path, body, *contentType)
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("bare: serve: %w", err)
	case <-ctx.Done():
	}
	if err := app.Shutdown(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("bare: shutdown: %w", err)
	}
	return nil
}
