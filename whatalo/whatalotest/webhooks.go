package whatalotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/whatalo"
)

func (f *Fake) getStore(r *http.Request) response {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return ok(dataBody{Data: f.store})
}

func (f *Fake) listWebhooks(r *http.Request) response {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]whatalo.Webhook, len(f.webhooks))
	for i, wh := range f.webhooks {
		out[i] = wh.w // never the secret
	}
	return ok(dataBody{Data: out})
}

func (f *Fake) createWebhook(r *http.Request) response {
	var in whatalo.WebhookInput
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&in); err != nil {
		return invalidBody([]whatalo.FieldError{{Field: "body", Message: "must be a JSON object"}})
	}
	var errs []whatalo.FieldError
	if u, err := url.Parse(in.URL); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, whatalo.FieldError{Field: "url", Message: "must be an https URL"})
	}
	if len(in.Events) == 0 {
		errs = append(errs, whatalo.FieldError{Field: "events", Message: "at least one event is required"})
	}
	for _, e := range in.Events {
		if !slices.Contains(whatalo.WebhookEvents(), e) {
			errs = append(errs, whatalo.FieldError{Field: "events", Message: "unknown event " + strconv.Quote(e)})
		}
	}
	if len(errs) > 0 {
		return invalidBody(errs)
	}
	secret := in.Secret
	if secret == "" {
		secret = "whsec_" + randomHex(24)
	}
	now := time.Now().UTC()
	f.mu.Lock()
	defer f.mu.Unlock()
	wh := &webhookRec{secret: secret, w: whatalo.Webhook{
		ID: f.newIDLocked(), URL: in.URL, Events: slices.Clone(in.Events), IsActive: true,
		CreatedAt: now, UpdatedAt: now,
	}}
	f.webhooks = append(f.webhooks, wh)
	created := wh.w
	created.Secret = secret // only in this response
	return response{http.StatusCreated, dataBody{Data: created}}
}

// deleteWebhook ends a subscription. Whatalo documents the route but not
// its answer; the fake answers the deleted subscription, as its other
// writes answer what they wrote.
func (f *Fake) deleteWebhook(r *http.Request) response {
	id := r.PathValue("id")
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, wh := range f.webhooks {
		if wh.w.ID == id {
			f.webhooks = slices.Delete(f.webhooks, i, i+1)
			return ok(dataBody{Data: wh.w})
		}
	}
	return notFound("webhook")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Delivery is one webhook delivery for Emit (and POST /_fake/emit).
type Delivery struct {
	URL       string          `json:"url"`
	Secret    string          `json:"secret"`
	Event     string          `json:"event"`               // e.g. "customer.updated"
	Data      json.RawMessage `json:"data"`                // the entity object
	ID        string          `json:"id,omitempty"`        // X-Webhook-Id; generated when empty
	Legacy    bool            `json:"legacy,omitempty"`    // REST-guide contract: X-Whatalo-Signature over the body
	Timestamp int64           `json:"timestamp,omitempty"` // unix seconds; now when zero (set it to test replay windows)
	Body      json.RawMessage `json:"body,omitempty"`      // sent verbatim instead of the generated body
}

// Emit posts d, signed as Whatalo signs, and returns the receiver's status.
func (f *Fake) Emit(ctx context.Context, d Delivery) (int, error) {
	if d.URL == "" || d.Event == "" {
		return 0, errors.New("emit webhook: url and event are required")
	}
	if d.ID == "" {
		d.ID = "dlv_" + randomHex(12)
	}
	if d.Timestamp == 0 {
		d.Timestamp = time.Now().Unix()
	}
	body := []byte(d.Body)
	if len(body) == 0 {
		var err error
		if body, err = f.deliveryBody(d); err != nil {
			return 0, fmt.Errorf("emit webhook %s: %w", d.Event, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second) // Whatalo's delivery timeout
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("emit webhook %s: %w", d.Event, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Whatalo-Webhooks/1.0")
	req.Header.Set(whatalo.HeaderWebhookID, d.ID)
	req.Header.Set(whatalo.HeaderWebhookEvent, d.Event)
	if d.Legacy {
		whatalo.SignWebhookLegacy(req.Header, d.Secret, body)
	} else {
		whatalo.SignWebhook(req.Header, d.Secret, body, time.Unix(d.Timestamp, 0))
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("emit webhook %s: %w", d.Event, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

// deliveryBody builds the body of the current contract, or of the REST
// guide's older one when d.Legacy.
func (f *Fake) deliveryBody(d Delivery) ([]byte, error) {
	data := d.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("data must be a JSON object: %w", err)
	}
	at := time.Unix(d.Timestamp, 0).UTC().Format(time.RFC3339)
	if d.Legacy {
		return json.Marshal(map[string]any{"event": d.Event, "timestamp": at, "data": data})
	}
	eventID := ""
	if raw, ok := obj["id"]; ok {
		if err := json.Unmarshal(raw, &eventID); err != nil {
			eventID = strings.Trim(string(raw), `"`)
		}
	}
	entity, _, _ := strings.Cut(d.Event, ".")
	f.mu.RLock()
	store := map[string]string{"id": f.store.ID, "name": f.store.Name, "timezone": f.store.Timezone}
	f.mu.RUnlock()
	return json.Marshal(map[string]any{
		"delivery_id": d.ID,
		"occurred_at": at,
		"event_id":    eventID,
		entity:        data,
		"store":       store,
	})
}
