package hfapi

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// EndpointLocksHeld reports how many endpoint locks are held or waited for (for the external tests).
func EndpointLocksHeld() int { return endpointLocks.size() }

func TestLockTableSerialisesAndForgets(t *testing.T) {
	var tab = lockTable{held: map[string]*lockEntry{}}
	unlock, err := tab.lock(t.Context(), "a")
	require.NoError(t, err)

	other, err := tab.lock(t.Context(), "b")
	require.NoError(t, err, "another key is independent")
	other()

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = tab.lock(cancelled, "a")
	assert.ErrorIs(t, err, context.Canceled, "a waiter gives up when its context ends")

	// Many waiters: each gets the lock alone.
	var mu sync.Mutex
	inside, most := 0, 0
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			u, err := tab.lock(context.Background(), "a")
			if !assert.NoError(t, err) {
				return
			}
			mu.Lock()
			inside++
			most = max(most, inside)
			mu.Unlock()
			mu.Lock()
			inside--
			mu.Unlock()
			u()
		})
	}
	unlock()
	unlock() // a second call is harmless
	wg.Wait()
	assert.Equal(t, 1, most)
	assert.Zero(t, tab.size(), "no key outlives its holders and waiters")
}
