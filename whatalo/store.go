package whatalo

import "context"

// StoreService calls /store (scope read:store).
type StoreService service

// Get returns the store the API key belongs to.
func (s *StoreService) Get(ctx context.Context) (*Store, *Response, error) {
	return fetch[Store](ctx, s.client, "GET /store", "/store", nil, nil)
}
