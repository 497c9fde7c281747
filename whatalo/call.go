package whatalo

import (
	"context"
	"iter"
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

// pager is a list options type whose page fields walkAll can set.
type pager[O any] interface {
	*O
	pageFields() (page, perPage *int)
}

// walkAll walks every page of a list from opts' page, 100 per page unless
// opts says otherwise, calling list on a copy of opts. A failed page ends
// the sequence with its error.
func walkAll[T, O any, PO pager[O]](ctx context.Context, opts PO, list func(context.Context, PO) ([]T, *Response, error)) iter.Seq2[T, error] {
	o := PO(new(O))
	if opts != nil {
		*o = *opts
	}
	page, perPage := o.pageFields()
	if *perPage == 0 {
		*perPage = maxPerPage
	}
	return paginate(ctx, *page, func(ctx context.Context, p int) ([]T, *Response, error) {
		*page = p
		return list(ctx, o)
	})
}
