package replicas_test

import (
	"sync"
	"testing"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/confirm"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/confirm/ledgertest"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/replicas"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/replicas/redistest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func open(t *testing.T, url string, ttl time.Duration) *replicas.Store {
	t.Helper()
	s, err := replicas.Open(url, replicas.Options{LeaseTTL: ttl})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRedisLedger(t *testing.T) {
	srv := redistest.Start(t)
	ledgertest.Run(t, func(t *testing.T) confirm.Ledger { return open(t, srv.URL, 0).Ledger() })
}

func TestOpenRefusesABadURLWithoutRepeatingIt(t *testing.T) {
	_, err := replicas.Open("http://user:s3cret@host:6379", replicas.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redis://")
	assert.NotContains(t, err.Error(), "s3cret")
}

// lists records what a share heard from the others.
type lists struct {
	mu  sync.Mutex
	got []string
}

func (l *lists) add(p []byte) { l.mu.Lock(); l.got = append(l.got, string(p)); l.mu.Unlock() }
func (l *lists) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

func TestOneReplicaPollsAndTheOthersHear(t *testing.T) {
	srv := redistest.Start(t)
	const ttl = replicas.DefaultLeaseTTL
	var shares []*replicas.Share
	var heard []*lists
	for range 3 {
		s := open(t, srv.URL, ttl)
		l := &lists{}
		sh := s.Share("", "alice", l.add, nil)
		t.Cleanup(sh.Close)
		shares, heard = append(shares, sh), append(heard, l)
	}
	leaders := func() (n int, who int) {
		for i, sh := range shares {
			if sh.Leading(t.Context()) {
				n, who = n+1, i
			}
		}
		return n, who
	}
	n, holder := leaders()
	require.Equal(t, 1, n, "exactly one replica holds the lease")

	shares[holder].Publish([]byte("the list"))
	for i, l := range heard {
		if i == holder {
			continue
		}
		require.Eventually(t, func() bool { return len(l.all()) == 1 }, 5*time.Second, 10*time.Millisecond)
		assert.Equal(t, []string{"the list"}, l.all())
	}
	assert.Empty(t, heard[holder].all(), "the holder does not hear itself")

	// Another scope (another caller) of the same namespace has a lease of its own.
	other := open(t, srv.URL, ttl).Share("caller:bob", "alice", func([]byte) {}, nil)
	t.Cleanup(other.Close)
	assert.True(t, other.Leading(t.Context()))

	// The holder leaves: another takes over.
	shares[holder].Close()
	shares = append(shares[:holder], shares[holder+1:]...)
	require.Eventually(t, func() bool { n, _ := leaders(); return n == 1 }, 5*time.Second, 10*time.Millisecond)
}

func TestAHolderThatLeavesHandsTheLeaseOver(t *testing.T) {
	srv := redistest.Start(t)
	const ttl = replicas.DefaultLeaseTTL
	a, b := open(t, srv.URL, ttl), open(t, srv.URL, ttl)
	took := make(chan time.Time, 1)
	shA := a.Share("", "ns", func([]byte) {}, nil)
	require.True(t, shA.Leading(t.Context()))
	shB := b.Share("", "ns", func([]byte) {}, func() { took <- time.Now() })
	t.Cleanup(shB.Close)
	require.False(t, shB.Leading(t.Context()))

	// A replica shutting down gives its leases up; one that dies loses them with the TTL (e2e tests kill one).
	stopped := time.Now()
	require.NoError(t, a.Close())
	select {
	case at := <-took:
		moved := at.Sub(stopped)
		t.Logf("the lease moved %v after its holder left (TTL %v)", moved.Round(time.Millisecond), ttl)
		assert.Less(t, moved, ttl, "no waiting for the TTL")
	case <-time.After(10 * ttl):
		t.Fatal("the lease did not move")
	}
}

func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL, 0)
	key := []byte("0123456789abcdef0123456789abcdef")
	issuer, err := confirm.New(confirm.Options{Key: key, Ledger: s.Ledger()})
	require.NoError(t, err)
	del := confirm.Claims{Action: "delete", Namespace: "alice", Name: "ep"}
	tok, _ := issuer.Issue(del)
	follower := open(t, srv.URL, 0).Share("", "alice", func([]byte) {}, nil)
	t.Cleanup(follower.Close)
	holder := s.Share("", "alice", func([]byte) {}, nil)
	t.Cleanup(holder.Close)
	require.True(t, follower.Leading(t.Context()) != holder.Leading(t.Context()))

	srv.Stop()
	err = issuer.Redeem(t.Context(), tok, del)
	require.ErrorIs(t, err, confirm.ErrLedger, "confirmations fail closed")
	assert.Contains(t, err.Error(), "unavailable")
	require.Eventually(t, func() bool { return follower.Leading(t.Context()) && holder.Leading(t.Context()) },
		10*time.Second, 20*time.Millisecond, "every replica polls on its own")
}
