package cli

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/httpsec"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/mcpserver"
)

// Environment variables of the resource caps (flags win).
const (
	envMaxCalls           = "HF_MCP_MAX_CONCURRENT_CALLS"
	envMaxCallsPerCaller  = "HF_MCP_MAX_CALLS_PER_CALLER"
	envMaxSessions        = "HF_MCP_MAX_SESSIONS"
	envMaxSessionsPerUser = "HF_MCP_MAX_SESSIONS_PER_CALLER"
	envRateLimit          = "HF_MCP_RATE_LIMIT"
)

// boundsConfig caps what callers can make the server hold: running tool calls, HTTP sessions and
// request rates.
type boundsConfig struct {
	maxCalls, maxCallsPerCaller       int
	maxSessions, maxSessionsPerCaller int
	rate                              float64 // requests a second per caller; negative = no limit

	callsRaw, callerCallsRaw, sessionsRaw, callerSessionsRaw, rateRaw string
}

func (b *boundsConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&b.callsRaw, "max-concurrent-calls", envOr(envMaxCalls, strconv.Itoa(mcpserver.DefaultMaxConcurrentCalls)),
		"tool calls run at once; a call beyond gets a \"busy, retry\" result at once (env "+envMaxCalls+")")
	fs.StringVar(&b.callerCallsRaw, "max-calls-per-caller", envOr(envMaxCallsPerCaller, strconv.Itoa(mcpserver.DefaultMaxCallsPerCaller)),
		"with --hf-token-passthrough, tool calls one caller runs at once (env "+envMaxCallsPerCaller+")")
	fs.StringVar(&b.sessionsRaw, "max-sessions", envOr(envMaxSessions, strconv.Itoa(mcpserver.DefaultMaxSessions)),
		"HTTP sessions held at once; one more gets 503 with Retry-After (env "+envMaxSessions+")")
	fs.StringVar(&b.callerSessionsRaw, "max-sessions-per-caller", envOr(envMaxSessionsPerUser, strconv.Itoa(mcpserver.DefaultMaxSessionsPerCaller)),
		"with --hf-token-passthrough, HTTP sessions one caller holds at once (env "+envMaxSessionsPerUser+")")
	fs.StringVar(&b.rateRaw, "rate-limit", envOr(envRateLimit, strconv.Itoa(httpsec.DefaultRequestRate)),
		"HTTP requests a second from one caller (bearer token, else IP address), in bursts of twice that; "+
			"off for no limit (env "+envRateLimit+")")
}

func (b *boundsConfig) check() error {
	ints := []struct {
		flag, env, raw string
		dst            *int
	}{
		{"max-concurrent-calls", envMaxCalls, b.callsRaw, &b.maxCalls},
		{"max-calls-per-caller", envMaxCallsPerCaller, b.callerCallsRaw, &b.maxCallsPerCaller},
		{"max-sessions", envMaxSessions, b.sessionsRaw, &b.maxSessions},
		{"max-sessions-per-caller", envMaxSessionsPerUser, b.callerSessionsRaw, &b.maxSessionsPerCaller},
	}
	for _, f := range ints {
		n, err := strconv.Atoi(strings.TrimSpace(f.raw))
		if err != nil || n <= 0 {
			return fmt.Errorf("--%s (%s) %q: want a positive whole number", f.flag, f.env, f.raw)
		}
		*f.dst = n
	}
	if v := strings.TrimSpace(b.rateRaw); strings.EqualFold(v, "off") {
		b.rate = -1
		return nil
	}
	r, err := strconv.ParseFloat(strings.TrimSpace(b.rateRaw), 64)
	if err != nil || r <= 0 {
		return fmt.Errorf("--rate-limit (%s) %q: want requests a second, such as 100 or 0.5, or off", envRateLimit, b.rateRaw)
	}
	b.rate = r
	return nil
}
