package replicas

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/confirm"
	"github.com/redis/go-redis/v9"
)

// Ledger is the confirm.Ledger of every replica using this Redis: a redeemed
// token is a key set with SET NX that expires with the token.
type Ledger struct{ s *Store }

var _ confirm.Ledger = Ledger{}

// Ledger returns the confirmation ledger in this Redis.
func (s *Store) Ledger() Ledger { return Ledger{s} }

// Spend sets the nonce's key unless it exists (SET NX), with the token's expiry as TTL.
func (l Ledger) Spend(ctx context.Context, nonce string, expiry time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	ttl := max(time.Until(expiry), time.Second)
	ok, err := l.s.rdb.SetNX(ctx, prefix+"confirm:used:"+hashed(nonce), "1", ttl).Result()
	if err != nil {
		return fmt.Errorf("redis at %s: %w", l.s.addr, err)
	}
	if !ok {
		return confirm.ErrUsed
	}
	return nil
}

// retireScript keeps the latest retirement time of a key: KEYS[1] the key,
// ARGV[1] the time (unix ns), ARGV[2] when the record may go (unix ms).
var retireScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and tonumber(v) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
return 1`)

// Retire records at as key's retirement unless a later one is recorded.
func (l Ledger) Retire(ctx context.Context, key string, at, until time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	err := retireScript.Run(ctx, l.s.rdb, []string{prefix + "confirm:retired:" + hashed(key)},
		at.UnixNano(), until.UnixMilli()).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redis at %s: %w", l.s.addr, err)
	}
	return nil
}

// Retired reads key's retirement time.
func (l Ledger) Retired(ctx context.Context, key string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	v, err := l.s.rdb.Get(ctx, prefix+"confirm:retired:"+hashed(key)).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("redis at %s: %w", l.s.addr, err)
	}
	ns, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("redis at %s: the retirement record %q is not a time", l.s.addr, v)
	}
	return time.Unix(0, ns), nil
}
