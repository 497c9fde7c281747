package redisshare

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/adapter/cache"
)

// indexKeep is how long a published index stays in Redis without being
// published again. Followers judge its freshness by its last sync, not by
// this.
const indexKeep = 24 * time.Hour

// Store is what the replicas serving one store share: its second-level
// cache, its bus, its phone index lease and snapshot, and what its
// webhooks told (adapter.WebhookStore). Each replica
// creates its own Store, whose lease token is its own.
type Store struct {
	c       *Client
	cache   string // key prefix of cache entries
	channel string
	lease   string
	meta    string
	snap    string
	hooks   string // key prefix of webhook state
	token   string // this replica's lease token
}

var (
	_ cache.Shared         = (*Store)(nil)
	_ adapter.Bus          = (*Store)(nil)
	_ adapter.IndexShare   = (*Store)(nil)
	_ adapter.WebhookStore = (*Store)(nil)
)

// Store returns the shared state of the store called name and read with
// apiKey. Both scope the keys, so two deployments that reuse a store name
// for different Whatalo stores do not mix; the key is stored only as a hash.
func (c *Client) Store(name, apiKey string) *Store {
	base := c.prefix + "store:" + name + ":" + keyID(apiKey) + ":"
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	return &Store{
		c:       c,
		cache:   base + "cache:",
		channel: base + "bus",
		lease:   base + "index:lease",
		meta:    base + "index:meta",
		snap:    base + "index:snapshot",
		hooks:   base + "webhooks:",
		token:   hex.EncodeToString(tok[:]),
	}
}

// Get implements cache.Shared.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var b []byte
	err := s.c.do(ctx, OpCacheGet, func(ctx context.Context) (err error) {
		b, err = s.c.rdb.Get(ctx, s.cache+key).Bytes()
		return err
	})
	if err != nil {
		if errors.Is(err, redis.Nil) {
			s.c.misses.Add(1)
			return nil, false, nil
		}
		return nil, false, err
	}
	s.c.hits.Add(1)
	return b, true, nil
}

// Write implements cache.Shared, as one pipeline.
func (s *Store) Write(ctx context.Context, writes []cache.SharedWrite) error {
	if len(writes) == 0 {
		return nil
	}
	return s.c.doWithin(ctx, OpCacheWrite, DefaultBulkTimeout, func(ctx context.Context) error {
		_, err := s.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, w := range writes {
				if w.Value == nil {
					p.Del(ctx, s.cache+w.Key)
					continue
				}
				p.Set(ctx, s.cache+w.Key, w.Value, max(w.TTL, time.Millisecond))
			}
			return nil
		})
		return err
	})
}

// Publish implements adapter.Bus.
func (s *Store) Publish(ctx context.Context, msg []byte) error {
	return s.c.do(ctx, OpPublish, func(ctx context.Context) error {
		return s.c.rdb.Publish(ctx, s.channel, msg).Err()
	})
}

// Subscribe implements adapter.Bus. It returns an error when the
// subscription cannot be made; once made, go-redis renews it after a lost
// connection.
func (s *Store) Subscribe(ctx context.Context, handle func(msg []byte)) error {
	if err := s.c.begin(OpSubscribe); err != nil {
		return err
	}
	ps := s.c.rdb.Subscribe(ctx, s.channel)
	defer ps.Close()
	// The first reply confirms the subscription, so that a caller knows
	// messages published from now on reach it.
	rctx, cancel := callCtx(ctx, max(s.c.timeout, time.Second))
	_, err := ps.Receive(rctx)
	cancel()
	if err = s.c.end(ctx, OpSubscribe, err); err != nil {
		return err
	}
	ch := ps.Channel(redis.WithChannelHealthCheckInterval(time.Second))
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-ch:
			if !ok {
				return errors.New("redis subscription closed")
			}
			handle([]byte(m.Payload))
		}
	}
}

// acquire takes the lease when it is free, or extends it when this
// replica holds it.
var acquire = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if v == ARGV[1] then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return 1
end
if v then
  return 0
end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
return 1
`)

// release deletes the lease only if this replica holds it.
var release = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
`)

// Acquire implements adapter.IndexShare.
func (s *Store) Acquire(ctx context.Context, ttl time.Duration) (bool, error) {
	var n int
	err := s.c.doWithin(ctx, OpLease, DefaultBulkTimeout, func(ctx context.Context) (err error) {
		n, err = acquire.Run(ctx, s.c.rdb, []string{s.lease}, s.token, max(ttl, time.Millisecond).Milliseconds()).Int()
		return err
	})
	return err == nil && n == 1, err
}

// Release implements adapter.IndexShare.
func (s *Store) Release(ctx context.Context) error {
	return s.c.doWithin(ctx, OpLease, DefaultBulkTimeout, func(ctx context.Context) error {
		return release.Run(ctx, s.c.rdb, []string{s.lease}, s.token).Err()
	})
}

// Save implements adapter.IndexShare: meta and, unless nil, the snapshot,
// written together.
func (s *Store) Save(ctx context.Context, meta, snapshot []byte) error {
	return s.c.doWithin(ctx, OpIndex, DefaultBulkTimeout, func(ctx context.Context) error {
		_, err := s.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if snapshot != nil {
				p.Set(ctx, s.snap, snapshot, indexKeep)
			}
			p.Set(ctx, s.meta, meta, indexKeep)
			return nil
		})
		return err
	})
}

// Meta implements adapter.IndexShare.
func (s *Store) Meta(ctx context.Context) ([]byte, error) { return s.getIndex(ctx, s.meta) }

// Snapshot implements adapter.IndexShare.
func (s *Store) Snapshot(ctx context.Context) ([]byte, error) { return s.getIndex(ctx, s.snap) }

func (s *Store) getIndex(ctx context.Context, key string) ([]byte, error) {
	var b []byte
	err := s.c.doWithin(ctx, OpIndex, DefaultBulkTimeout, func(ctx context.Context) (err error) {
		b, err = s.c.rdb.Get(ctx, key).Bytes()
		return err
	})
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		return nil, err
	}
	return b, nil
}

// Remember implements adapter.WebhookStore, with SET NX: of two replicas
// recording one key at once, one is told it is new.
func (s *Store) Remember(ctx context.Context, key string, ttl time.Duration) (fresh bool, err error) {
	err = s.c.do(ctx, OpWebhook, func(ctx context.Context) (err error) {
		fresh, err = s.c.rdb.SetNX(ctx, s.hooks+key, "1", max(ttl, time.Millisecond)).Result()
		return err
	})
	return fresh && err == nil, err
}

// ReadState implements adapter.WebhookStore.
func (s *Store) ReadState(ctx context.Context, key string) (b []byte, err error) {
	err = s.c.do(ctx, OpWebhook, func(ctx context.Context) (err error) {
		b, err = s.c.rdb.Get(ctx, s.hooks+key).Bytes()
		return err
	})
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return b, nil
}

// WriteState implements adapter.WebhookStore.
func (s *Store) WriteState(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return s.c.do(ctx, OpWebhook, func(ctx context.Context) error {
		if value == nil {
			return s.c.rdb.Del(ctx, s.hooks+key).Err()
		}
		return s.c.rdb.Set(ctx, s.hooks+key, value, max(ttl, time.Millisecond)).Err()
	})
}
