package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

// probeTimeout bounds each store's probe in /readyz. Store info is cached,
// so a reachable or recently reached store answers at once; the timeout
// only matters when Whatalo is slow and the cache is empty.
const probeTimeout = 2 * time.Second

// readiness is the /readyz answer.
type readiness struct {
	Status string                 `json:"status"` // "ready" or "not_ready"
	Config string                 `json:"config"` // "environment" or "file"; never the path
	Stores map[string]storeHealth `json:"stores"`
	Redis  *redisHealth           `json:"redis,omitempty"` // only with Redis; "degraded" leaves the service ready
}

// storeHealth is one store in the /readyz answer. Error is a short reason
// fit for anyone who can reach the port: no URLs, keys or upstream bodies.
type storeHealth struct {
	Reachable bool        `json:"reachable"`
	Error     string      `json:"error,omitempty"`
	Index     indexHealth `json:"index"`
}

type indexHealth struct {
	State     string     `json:"state"`
	Customers int        `json:"customers"`
	Keys      int        `json:"keys"`
	LastSync  *time.Time `json:"last_sync,omitempty"`
	Error     string     `json:"error,omitempty"`
	Role      string     `json:"role,omitempty"` // with Redis: "leader" syncs the index, a "follower" loads it
}

// handleHealthz says the process is alive; it checks nothing else, so a
// Whatalo outage never gets the container restarted.
func handleHealthz() fiber.Handler {
	return func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	}
}

// handleReadyz says whether the service can answer WAzion: the
// configuration is loaded (it is, or the service would not run) and every
// store answers a probe, from Whatalo or from its cache. An index still
// building does not make it unready: lookups fall back to Whatalo's search
// meanwhile. Each store's state is reported either way.
func (s *service) handleReadyz() fiber.Handler {
	var (
		mu   sync.Mutex
		last = map[string]string{} // store -> last failure reason, to log changes only
	)
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), probeTimeout)
		defer cancel()
		set := s.stores.Load()
		stores := make([]storeHealth, len(set.names))
		errs := make([]error, len(set.names))
		var wg sync.WaitGroup
		for i, name := range set.names {
			wg.Go(func() {
				b := set.units[name].backend
				errs[i] = b.Probe(ctx)
				st := b.IndexStatus()
				h := storeHealth{
					Reachable: errs[i] == nil,
					Index:     indexHealth{State: st.State, Customers: st.Customers, Keys: st.Keys, Role: st.Role},
				}
				if st.LastError != "" {
					// The cause is in the log; this route may be public.
					h.Index.Error = "the last sync failed"
				}
				if !st.LastSync.IsZero() {
					t := st.LastSync.UTC()
					h.Index.LastSync = &t
				}
				if errs[i] != nil {
					h.Error = probeReason(errs[i])
				}
				stores[i] = h
			})
		}
		wg.Wait()

		source := "file"
		if s.cfg.Source == "environment" {
			source = "environment"
		}
		out := readiness{Status: "ready", Config: source, Stores: make(map[string]storeHealth, len(stores)), Redis: s.sharing.health()}
		mu.Lock()
		for i, name := range set.names {
			out.Stores[name] = stores[i]
			reason := stores[i].Error
			if reason != "" {
				out.Status = "not_ready"
			}
			if reason != last[name] {
				if reason != "" {
					s.log.Warn("store not ready", slog.String("store", name), slog.String("reason", reason),
						slog.String("error", errs[i].Error()))
				} else {
					s.log.Info("store ready", slog.String("store", name))
				}
				last[name] = reason
			}
		}
		mu.Unlock()
		code := fiber.StatusOK
		if out.Status != "ready" {
			code = fiber.StatusServiceUnavailable
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(code).JSON(out)
	}
}

// probeReason says why a store's probe failed, in terms an operator can act
// on.
func probeReason(err error) string {
	var we *whatalo.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "timeout: Whatalo did not answer within " + probeTimeout.String()
	case errors.Is(err, whatalo.ErrRateLimited):
		return "rate limited: the API key's budget is spent"
	case errors.Is(err, whatalo.ErrUnauthorized):
		return "Whatalo rejected the API key"
	case errors.Is(err, whatalo.ErrForbidden):
		return "the API key lacks the read:store scope"
	case errors.Is(err, whatalo.ErrBadResponse):
		return "Whatalo sent an unusable response"
	case errors.As(err, &we):
		return strings.TrimSpace(fmt.Sprintf("Whatalo answered %d %s", we.StatusCode, we.Code))
	}
	return "Whatalo unreachable"
}
