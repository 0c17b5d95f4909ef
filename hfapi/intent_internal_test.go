package hfapi

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// settlements records what a WriteAhead hears.
type settlements struct {
	mu   sync.Mutex
	seen []Settlement
}

func (s *settlements) Intent(context.Context, Intent) error { return nil }
func (s *settlements) Settled(_ context.Context, st Settlement) {
	s.mu.Lock()
	s.seen = append(s.seen, st)
	s.mu.Unlock()
}

// TestUnreadableAfterALostAnswerIsRecordedAsUnknown: a pause to an upstream that never answers, and
// whose endpoint cannot be read afterwards either, is settled as unknown, and said so; the POST is
// sent once.
func TestUnreadableAfterALostAnswerIsRecordedAsUnknown(t *testing.T) {
	h := newHungUpstream(t)
	rec := &settlements{}
	_, err := hungClient(t, h).Pause(WithWriteAhead(t.Context(), rec), "acme", "ep")
	require.Error(t, err)
	require.Len(t, rec.seen, 1)
	s := rec.seen[0]
	assert.False(t, s.Done)
	assert.Equal(t, "pause endpoint acme/ep", s.Op)
	assert.Contains(t, s.Found, "could not be read")
	assert.Contains(t, s.Found, "whether the change took effect is unknown")
	assert.Equal(t, 1, h.requests(t, http.MethodPost))
}
