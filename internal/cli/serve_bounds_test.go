package cli

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBoundsFlags(t *testing.T) {
	type caps struct {
		calls, callerCalls, sessions, callerSessions int
		rate                                         float64
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want caps
		err  string
	}{
		{name: "defaults", want: caps{64, 16, 1000, 100, 100}},
		{name: "flags", args: []string{"--max-concurrent-calls", "8", "--max-calls-per-caller", "2", "--max-sessions", "50",
			"--max-sessions-per-caller", "5", "--rate-limit", "2.5"}, want: caps{8, 2, 50, 5, 2.5}},
		{name: "environment", env: map[string]string{envMaxCalls: "9", envMaxCallsPerCaller: "3", envMaxSessions: "20",
			envMaxSessionsPerUser: "4", envRateLimit: "off"}, want: caps{9, 3, 20, 4, -1}},
		{name: "flags win", env: map[string]string{envMaxSessions: "20"}, args: []string{"--max-sessions", "30"}, want: caps{64, 16, 30, 100, 100}},
		{name: "zero sessions", args: []string{"--max-sessions", "0"}, err: `--max-sessions (HF_MCP_MAX_SESSIONS) "0": want a positive whole number`},
		{name: "not a number", env: map[string]string{envMaxCalls: "many"}, err: `--max-concurrent-calls (HF_MCP_MAX_CONCURRENT_CALLS) "many"`},
		{name: "negative rate", args: []string{"--rate-limit", "-3"}, err: `--rate-limit (HF_MCP_RATE_LIMIT) "-3": want requests a second`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{envMaxCalls, envMaxCallsPerCaller, envMaxSessions, envMaxSessionsPerUser, envRateLimit} {
				t.Setenv(k, tc.env[k])
			}
			got, _, err := parseServeFlags(tc.args, io.Discard)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			b := got.bounds
			assert.Equal(t, tc.want, caps{b.maxCalls, b.maxCallsPerCaller, b.maxSessions, b.maxSessionsPerCaller, b.rate})
		})
	}
}
