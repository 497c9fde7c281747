package whatalo

import "context"

// StoreService calls /store (scope read:store).
type StoreService service

// Get returns the store the API key belongs to.
func (s *StoreService) Get(ctx context.Context) (*Store, *Response, error) {
	st := new(Store)
	resp, err := s.client.do(ctx, "GET /store", "/store", nil, nil, st)
	if err != nil {
		return nil, resp, err
	}
	return st, resp, nil
}
