// Package ledgertest holds the behaviour every confirm.Ledger must have, as
// one test that each implementation runs against a real instance.
package ledgertest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/confirm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Run checks ledger directly, then through three Issuers sharing it and one
// key, as three replicas would. newLedger returns another handle on the same
// store (another process's view of it).
func Run(t *testing.T, newLedger func(t *testing.T) confirm.Ledger) {
	t.Run("spend", func(t *testing.T) {
		l := newLedger(t)
		exp := time.Now().Add(time.Minute)
		require.NoError(t, l.Spend(t.Context(), "nonce-1", exp))
		assert.ErrorIs(t, l.Spend(t.Context(), "nonce-1", exp), confirm.ErrUsed)
		assert.ErrorIs(t, newLedger(t).Spend(t.Context(), "nonce-1", exp), confirm.ErrUsed, "another handle sees the spend")
		require.NoError(t, l.Spend(t.Context(), "nonce-2", exp))
	})
	t.Run("concurrent spends", func(t *testing.T) {
		var ok atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			l := newLedger(t)
			wg.Go(func() {
				if l.Spend(t.Context(), "contended", time.Now().Add(time.Minute)) == nil {
					ok.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), ok.Load())
	})
	t.Run("retire keeps the latest", func(t *testing.T) {
		l := newLedger(t)
		at, err := l.Retired(t.Context(), "ns\x00never")
		require.NoError(t, err)
		assert.True(t, at.IsZero())
		t1 := time.Now()
		t0 := t1.Add(-time.Second)
		until := t1.Add(time.Minute)
		require.NoError(t, l.Retire(t.Context(), "ns\x00ep", t1, until))
		require.NoError(t, newLedger(t).Retire(t.Context(), "ns\x00ep", t0, until))
		at, err = newLedger(t).Retired(t.Context(), "ns\x00ep")
		require.NoError(t, err)
		assert.Equal(t, t1.UnixNano(), at.UnixNano())
	})
	t.Run("replicas", func(t *testing.T) {
		key := []byte("0123456789abcdef0123456789abcdef")
		replica := func() *confirm.Issuer {
			i, err := confirm.New(confirm.Options{Key: key, Ledger: newLedger(t)})
			require.NoError(t, err)
			return i
		}
		a, b, c := replica(), replica(), replica()
		del := confirm.Claims{Action: "delete", Namespace: "alice", Name: "ep", Identity: "2026-12-06T00:00:00Z"}
		tok, _ := a.Issue(del)
		require.NoError(t, b.Redeem(t.Context(), tok, del), "a token from A redeems on B")
		assert.ErrorIs(t, c.Redeem(t.Context(), tok, del), confirm.ErrUsed, "and is refused on C")
		assert.ErrorIs(t, a.Redeem(t.Context(), tok, del), confirm.ErrUsed, "and on A")

		before, _ := b.Issue(del)
		require.NoError(t, a.Retire(t.Context(), "alice", "ep"))
		assert.ErrorIs(t, c.Redeem(t.Context(), before, del), confirm.ErrRetired, "a deletion on A voids B's earlier token on C")
		after, _ := b.Issue(del)
		require.NoError(t, c.Redeem(t.Context(), after, del), "a token issued after the deletion is valid")
	})
}
