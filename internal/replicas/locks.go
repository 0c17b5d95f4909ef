package replicas

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// DefaultLockTTL is how long an endpoint lock lasts unless its holder renews it: a replica that
// dies while changing an endpoint holds up the others' changes of it for at most this long.
const DefaultLockTTL = 10 * time.Second

// lockWaitMax caps the pause between two attempts to take a lock held by another replica.
const lockWaitMax = 200 * time.Millisecond

// EndpointLocks serialise the changes of one endpoint across the replicas using this Redis (the
// hfapi.EndpointLocker of Config.EndpointLocks). A lock is a key set with SET NX and a TTL whose
// value names its holder; the holder renews it while it holds it, and unlocking deletes the key
// only while it still holds that value, so a lock that expired and was taken by another replica
// is never released by the first.
type EndpointLocks struct{ s *Store }

var _ hfapi.EndpointLocker = EndpointLocks{}

// EndpointLocks returns the endpoint locks in this Redis.
func (s *Store) EndpointLocks() EndpointLocks { return EndpointLocks{s} }

// renewScript extends KEYS[1] by ARGV[2] ms if it still holds ARGV[1].
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)

// Lock takes key's lock, waiting (with growing pauses) while another replica holds it, until ctx
// ends. A Redis that does not answer is an error: the lock was not taken.
func (l EndpointLocks) Lock(ctx context.Context, key string) (func(), error) {
	k := prefix + "lock:endpoint:" + hashed(key)
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	holder := l.s.id + ":" + base64.RawURLEncoding.EncodeToString(b)
	ttl := l.s.lockTTL
	wait := 5 * time.Millisecond
	for {
		octx, cancel := context.WithTimeout(ctx, opTimeout)
		ok, err := l.s.rdb.SetNX(octx, k, holder, ttl).Result()
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			return nil, fmt.Errorf("redis at %s: %w", l.s.addr, err)
		case ok:
			return l.held(k, holder, ttl), nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, lockWaitMax)
	}
}

// held renews the lock k until the returned unlock is called, which releases it.
func (l EndpointLocks) held(k, holder string, ttl time.Duration) func() {
	stop := make(chan struct{})
	l.s.wg.Add(1)
	go func() {
		defer l.s.wg.Done()
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-l.s.ctx.Done():
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(l.s.ctx, opTimeout)
				if err := renewScript.Run(ctx, l.s.rdb, []string{k}, holder, ttl.Milliseconds()).Err(); err != nil {
					l.s.log.Warn("renewing an endpoint lock", "err", err)
				}
				cancel()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			defer cancel()
			if err := releaseScript.Run(ctx, l.s.rdb, []string{k}, holder).Err(); err != nil {
				// It expires by itself within its TTL.
				l.s.log.Warn("releasing an endpoint lock", "err", err)
			}
		})
	}
}
