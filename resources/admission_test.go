package resources

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSubscriptionsToUnseenNamespacesAreRefused: 300 subscriptions to made-up namespaces are
// refused, and start no polling: not one list call reaches the API.
func TestSubscriptionsToUnseenNamespacesAreRefused(t *testing.T) {
	f := newFixture(t)
	s := newService(t, f)
	sub := newRecorder("session:attacker")
	for i := range 300 {
		uri := URI(fmt.Sprintf("made-up-%03d", i), "ep")
		err := s.CheckSubscribe(t.Context(), sub.ID(), uri)
		require.ErrorIs(t, err, ErrSubscriptionRefused, uri)
		assert.Contains(t, err.Error(), `is not one this token can see; subscribe to endpoints of "alice" or "acme"`)
		assert.Nil(t, s.subscribe(t.Context(), sub, uri))
	}
	assert.Zero(t, s.Registry().Len())
	assert.Empty(t, s.Registry().Namespaces())
	assert.Zero(t, s.Poller().Running(), "no namespace loop was started")
	assert.Zero(t, f.lists(), "no list call was made")

	// The user's own namespace and their organization's are accepted, and polled.
	for _, ns := range []string{user, org} {
		require.NotNil(t, s.subscribe(t.Context(), sub, URI(ns, "ep")), ns)
	}
	require.Eventually(t, func() bool { return f.lists() >= 2 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, []string{org, user}, s.Registry().Namespaces())
}

func TestSubscriptionsAreCapped(t *testing.T) {
	f := newFixture(t)
	s, err := New(Options{API: f.api, MaxSubscriptionsPerSubscriber: 3, MaxSubscriptions: 5})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	a, b := newRecorder("a"), newRecorder("b")
	for i := range 3 {
		require.NotNil(t, s.subscribe(t.Context(), a, URI(user, fmt.Sprint("ep", i))))
	}
	err = s.CheckSubscribe(t.Context(), a.ID(), URI(user, "ep3"))
	require.ErrorIs(t, err, ErrSubscriptionRefused)
	assert.Contains(t, err.Error(), "this session already holds 3 subscriptions")
	require.NoError(t, s.CheckSubscribe(t.Context(), a.ID(), URI(user, "ep0")), "a subscription held is accepted again")

	for i := range 2 {
		require.NotNil(t, s.subscribe(t.Context(), b, URI(org, fmt.Sprint("ep", i))))
	}
	err = s.CheckSubscribe(t.Context(), b.ID(), URI(org, "ep2"))
	require.ErrorIs(t, err, ErrSubscriptionRefused)
	assert.Contains(t, err.Error(), "the server already holds 5 subscriptions")
	assert.Nil(t, s.subscribe(t.Context(), newRecorder("c"), URI(user, "x")))
	assert.Equal(t, 5, s.Registry().Len())

	s.Registry().Drop(a.ID())
	require.NoError(t, s.CheckSubscribe(t.Context(), b.ID(), URI(org, "ep2")), "room again once a session ends")
}

func TestFailingNamespacesAreListedLessAndLessOften(t *testing.T) {
	slow := 10 * time.Second
	for fails, want := range map[int]time.Duration{
		0: slow, 1: slow, 2: 20 * time.Second, 3: 40 * time.Second, 5: 160 * time.Second,
		6: maxFailureBackoff, 30: maxFailureBackoff,
	} {
		assert.Equal(t, want, failureBackoff(slow, fails), "after %d failures", fails)
	}
	assert.Equal(t, 10*time.Minute, failureBackoff(10*time.Minute, 4), "never faster than the slow interval")

	l := &nsLoop{}
	for range 3 {
		l.setFailed(true)
	}
	assert.Equal(t, 3, l.failures())
	l.setFailed(false)
	assert.Zero(t, l.failures(), "a list that works resets the backoff")
}

func TestListenStreamsAreCheckedLikeSubscriptions(t *testing.T) {
	f := newFixture(t)
	s, err := New(Options{API: f.api, MaxSubscriptionsPerSubscriber: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.CheckListen(t.Context(), []string{URI(user, "a"), URI(org, "b")}))
	err = s.CheckListen(t.Context(), []string{URI(user, "a"), URI("elsewhere", "b")})
	require.ErrorIs(t, err, ErrSubscriptionRefused)
	assert.Contains(t, err.Error(), `namespace "elsewhere" is not one this token can see`)
	err = s.CheckListen(t.Context(), []string{URI(user, "a"), URI(user, "b"), URI(user, "c")})
	require.ErrorIs(t, err, ErrSubscriptionRefused)
	assert.Contains(t, err.Error(), "3 resource subscriptions on one stream; at most 2")
	assert.Zero(t, f.lists())
}
