package whatalo

import "context"

// WebhooksService calls /webhooks (scopes read:webhooks, write:webhooks).
type WebhooksService service

// List returns the store's webhook subscriptions; their secrets are never
// returned.
func (s *WebhooksService) List(ctx context.Context) ([]Webhook, *Response, error) {
	return fetchList[Webhook](ctx, s.client, "GET /webhooks", "/webhooks", nil)
}

// Create subscribes in.URL (which must be HTTPS) to in.Events. The returned
// Webhook carries the secret, shown only this once: Whatalo generates one
// when in.Secret is empty.
func (s *WebhooksService) Create(ctx context.Context, in WebhookInput) (*Webhook, *Response, error) {
	return fetch[Webhook](ctx, s.client, "POST /webhooks", "/webhooks", nil, in)
}

// Delete ends the subscription id.
func (s *WebhooksService) Delete(ctx context.Context, id string) (*Response, error) {
	eid, err := escapeID("DELETE /webhooks/{id}", id)
	if err != nil {
		return nil, err
	}
	return s.client.do(ctx, "DELETE /webhooks/{id}", "/webhooks/"+eid, nil, nil, nil)
}
