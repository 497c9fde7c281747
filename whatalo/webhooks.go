package whatalo

import "context"

// WebhooksService calls /webhooks (scopes read:webhooks, write:webhooks).
type WebhooksService service

// List returns the store's webhook subscriptions; their secrets are never
// returned.
func (s *WebhooksService) List(ctx context.Context) ([]Webhook, *Response, error) {
	var ws []Webhook
	resp, err := s.client.do(ctx, "GET /webhooks", "/webhooks", nil, nil, &ws)
	if err != nil {
		return nil, resp, err
	}
	return ws, resp, nil
}

// Create subscribes in.URL (which must be HTTPS) to in.Events. The returned
// Webhook carries the secret, shown only this once: Whatalo generates one
// when in.Secret is empty.
func (s *WebhooksService) Create(ctx context.Context, in WebhookInput) (*Webhook, *Response, error) {
	w := new(Webhook)
	resp, err := s.client.do(ctx, "POST /webhooks", "/webhooks", nil, in, w)
	if err != nil {
		return nil, resp, err
	}
	return w, resp, nil
}
