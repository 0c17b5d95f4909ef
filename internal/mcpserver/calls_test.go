package mcpserver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCallLimiterRefusesBeyondItsCaps(t *testing.T) {
	l := newCallLimiter(3, 2)
	var releases []func()
	take := func(caller string) string {
		release, busy := l.acquire(caller)
		if busy == "" {
			releases = append(releases, release)
		}
		return busy
	}
	require.Empty(t, take("alice"))
	require.Empty(t, take("alice"))
	assert.Contains(t, take("alice"), "2 of your tool calls are already running", "a caller's third call is refused")
	require.Empty(t, take("bob"), "another caller still has room")
	assert.Contains(t, take("carol"), "server busy: 3 tool calls are already running", "the process cap holds for everyone")
	assert.Contains(t, take(""), "server busy")

	releases[0]()
	require.Empty(t, take("alice"), "a finished call frees its caller's slot")
	for _, r := range releases[1:] {
		r()
	}
	assert.Equal(t, 0, l.running)
	assert.Empty(t, l.byCaller, "no caller is remembered once their calls end")
}

func TestCallLimiterDefaults(t *testing.T) {
	l := newCallLimiter(0, 0)
	assert.Equal(t, DefaultMaxConcurrentCalls, l.max)
	assert.Equal(t, DefaultMaxCallsPerCaller, l.perCaller)
	l = newCallLimiter(500, 400)
	assert.Equal(t, 500, l.max, "stdio keeps no pool of its own: a cap is taken as given")
	assert.Equal(t, 400, l.perCaller)
	assert.Equal(t, 3, newCallLimiter(3, 16).perCaller, "one caller never gets more than the whole cap")
}
