package whatalo

import (
	"context"
	"net/url"
)

// fetch calls route at path and decodes the envelope's data into a new T.
func fetch[T any](ctx context.Context, c *Client, route, path string, q url.Values, in any) (*T, *Response, error) {
	v := new(T)
	resp, err := c.do(ctx, route, path, q, in, v)
	if err != nil {
		return nil, resp, err
	}
	return v, resp, nil
}

// fetchID is fetch at prefix + the escaped id + suffix.
func fetchID[T any](ctx context.Context, c *Client, route, prefix, id, suffix string, in any) (*T, *Response, error) {
	eid, err := escapeID(route, id)
	if err != nil {
		return nil, nil, err
	}
	return fetch[T](ctx, c, route, prefix+eid+suffix, nil, in)
}

// fetchList is fetch for a list of T.
func fetchList[T any](ctx context.Context, c *Client, route, path string, q url.Values) ([]T, *Response, error) {
	v, resp, err := fetch[[]T](ctx, c, route, path, q, nil)
	if err != nil {
		return nil, resp, err
	}
	return *v, resp, nil
}
