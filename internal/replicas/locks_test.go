package replicas_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/replicas"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/replicas/redistest"
)

func openLocks(t *testing.T, url string, lockTTL time.Duration) (*replicas.Store, replicas.EndpointLocks) {
	t.Helper()
	s, err := replicas.Open(url, replicas.Options{LockTTL: lockTTL})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, s.EndpointLocks()
}

// TestEndpointLocksExcludeAcrossReplicas: of three replicas taking one endpoint's lock over and
// over, never two hold it at once; another endpoint's lock is not held up.
func TestEndpointLocksExcludeAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	var holders, most atomic.Int32
	var wg sync.WaitGroup
	for range 3 {
		_, locks := openLocks(t, srv.URL, 0)
		wg.Go(func() {
			for range 15 {
				unlock, err := locks.Lock(t.Context(), "api\x00alice/ep")
				if !assert.NoError(t, err) {
					return
				}
				n := holders.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				holders.Add(-1)
				unlock()
			}
		})
	}
	_, other := openLocks(t, srv.URL, 0)
	unlock, err := other.Lock(t.Context(), "api\x00alice/another")
	require.NoError(t, err, "another endpoint's lock is free")
	unlock()
	wg.Wait()
	assert.EqualValues(t, 1, most.Load(), "never two holders at once")
}

// TestEndpointLockOfADeadHolderExpires: a replica that stops while holding a lock (no unlock,
// no renewal) holds up the others for one TTL, not for ever; a waiter gives up when its
// context ends.
func TestEndpointLockOfADeadHolderExpires(t *testing.T) {
	srv := redistest.Start(t)
	dead, deadLocks := openLocks(t, srv.URL, 300*time.Millisecond)
	_, err := deadLocks.Lock(t.Context(), "api\x00alice/ep")
	require.NoError(t, err)
	require.NoError(t, dead.Close()) // stops renewing without unlocking

	_, locks := openLocks(t, srv.URL, 0)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	_, err = locks.Lock(ctx, "api\x00alice/ep")
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "held until it expires")
	unlock, err := locks.Lock(t.Context(), "api\x00alice/ep")
	require.NoError(t, err, "taken once the dead holder's lock expired")
	unlock()
}

// TestEndpointLockIsRenewedWhileHeld: a change that outlasts the TTL keeps its lock.
func TestEndpointLockIsRenewedWhileHeld(t *testing.T) {
	srv := redistest.Start(t)
	_, holder := openLocks(t, srv.URL, 300*time.Millisecond)
	unlock, err := holder.Lock(t.Context(), "api\x00alice/ep")
	require.NoError(t, err)
	_, other := openLocks(t, srv.URL, 300*time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second) // three TTLs
	_, err = other.Lock(ctx, "api\x00alice/ep")
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "still held after three TTLs")
	unlock()
	unlock() // a second unlock does nothing
	again, err := other.Lock(t.Context(), "api\x00alice/ep")
	require.NoError(t, err)
	again()
}

// TestEndpointLocksWithRedisDown: a lock that cannot be taken is an error, at once.
func TestEndpointLocksWithRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	_, locks := openLocks(t, srv.URL, 0)
	srv.Stop()
	_, err := locks.Lock(t.Context(), "api\x00alice/ep")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redis at")
}
