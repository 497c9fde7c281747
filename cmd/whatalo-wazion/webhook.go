package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/wazion"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// webhookTimeout bounds a delivery's handling: Whatalo gives up on a
// delivery after 15 s, so the handler answers before that.
const webhookTimeout = 10 * time.Second

// handleWebhook receives Whatalo's webhook deliveries for one store, at
// POST /webhooks/whatalo/:store. The Backend verifies the signature and
// applies the event; this handler picks the store, bounds the body and maps
// the outcome to the status Whatalo expects: 2xx when done, 401 for a bad or
// stale signature, 400 for a body that is not a delivery, 5xx so Whatalo
// retries later.
func (s *service) handleWebhook() fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		id := webhookRequestID(c)
		log := func(level slog.Level, store, event string, status int, err error) {
			attrs := []slog.Attr{
				slog.String("request_id", id),
				slog.String("store", store),
				slog.String("event", event),
				slog.String("delivery_id", logSafe(c.Get(whatalo.HeaderWebhookID))),
				slog.Int("status", status),
				slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
			}
			if err != nil {
				attrs = append(attrs, slog.String("error", err.Error()))
			}
			s.log.LogAttrs(c.UserContext(), level, "webhook", attrs...)
		}

		b := s.backend(c.Params("store"))
		if b == nil {
			s.metrics.ObserveWebhook("", "", webhookUnknownStore)
			log(slog.LevelWarn, "", "", fiber.StatusNotFound, nil)
			return c.Status(fiber.StatusNotFound).JSON(fiber.Map{"error": "unknown store"})
		}
		store := b.Name()
		if len(c.Body()) > whatalo.MaxWebhookBody {
			s.metrics.ObserveWebhook(store, "", webhookTooLarge)
			log(slog.LevelWarn, store, "", fiber.StatusRequestEntityTooLarge, nil)
			return c.Status(fiber.StatusRequestEntityTooLarge).JSON(fiber.Map{"error": "body too large"})
		}
		// Fiber reuses the request's buffers once the handler returns, and
		// the Backend may keep what it is given (deduplication, background
		// refresh): hand it copies.
		body := bytes.Clone(c.Body())
		header := make(http.Header)
		c.Request().Header.VisitAll(func(k, v []byte) {
			header.Add(string(k), string(v))
		})

		ctx, cancel := context.WithTimeout(c.UserContext(), webhookTimeout)
		defer cancel()
		raw, err := b.HandleWebhook(ctx, header, body)
		event := whatalo.WebhookEventLabel(raw) // raw is the sender's word until verified
		switch {
		case err == nil:
			log(slog.LevelInfo, store, event, fiber.StatusOK, nil)
			return c.JSON(fiber.Map{"ok": true, "event": raw})
		case errors.Is(err, whatalo.ErrWebhookSignature):
			log(slog.LevelWarn, store, event, fiber.StatusUnauthorized, err)
			return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"error": "invalid signature"})
		case errors.Is(err, whatalo.ErrWebhookStale):
			log(slog.LevelWarn, store, event, fiber.StatusUnauthorized, err)
			return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"error": "timestamp outside the allowed window"})
		case errors.Is(err, whatalo.ErrWebhookPayload):
			log(slog.LevelWarn, store, event, fiber.StatusBadRequest, err)
			return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": "invalid payload"})
		}
		log(slog.LevelError, store, event, fiber.StatusInternalServerError, err)
		return c.Status(fiber.StatusInternalServerError).JSON(fiber.Map{"error": "internal error"})
	}
}

// webhookRequestID is the caller's X-Request-Id when it is a plain token,
// else a new random id; it is echoed on the response like on the WAzion
// routes.
func webhookRequestID(c *fiber.Ctx) string {
	id := logSafe(c.Get(wazion.HeaderRequestID))
	if id == "" {
		var b [16]byte
		_, _ = rand.Read(b[:]) // never fails, see crypto/rand.Read
		id = hex.EncodeToString(b[:])
	}
	c.Set(wazion.HeaderRequestID, id)
	return id
}

// logSafe returns v when it is a short run of printable ASCII without
// spaces, else "", so a sender cannot forge or flood log fields. The result
// is a copy, safe to keep after the handler returns.
func logSafe(v string) string {
	if len(v) == 0 || len(v) > 128 {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return ""
		}
	}
	return string([]byte(v))
}
