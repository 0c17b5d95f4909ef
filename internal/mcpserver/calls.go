package mcpserver

import (
	"context"
	"fmt"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Default caps on tool calls running at once. A call beyond a cap is refused at once with a
// "busy, retry" result instead of waiting in a queue: with an upstream that never answers, a
// queue only grows, and whatever waits in it (cancellations included) waits for ever.
const (
	// DefaultMaxConcurrentCalls caps the tool calls running in the process.
	DefaultMaxConcurrentCalls = 64
	// DefaultMaxCallsPerCaller caps the tool calls of one caller under token pass-through, so
	// that one caller cannot take every slot.
	DefaultMaxCallsPerCaller = 16
)

// callLimiter counts running tool calls, in all and per caller.
type callLimiter struct {
	max, perCaller int

	mu       sync.Mutex
	running  int
	byCaller map[string]int
}

func newCallLimiter(max, perCaller int) *callLimiter {
	if max <= 0 {
		max = DefaultMaxConcurrentCalls
	}
	if perCaller <= 0 {
		perCaller = DefaultMaxCallsPerCaller
	}
	return &callLimiter{max: max, perCaller: min(perCaller, max), byCaller: map[string]int{}}
}

// acquire takes a slot for caller ("" = no per-caller cap) and returns its release, or the
// reason the call must wait.
func (l *callLimiter) acquire(caller string) (release func(), busy string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.running >= l.max:
		return nil, fmt.Sprintf("server busy: %d tool calls are already running, the most it runs at once; "+
			"retry in a few seconds", l.running)
	case caller != "" && l.byCaller[caller] >= l.perCaller:
		return nil, fmt.Sprintf("busy: %d of your tool calls are already running, the most one caller may run at once; "+
			"retry when one of them finishes", l.byCaller[caller])
	}
	l.running++
	if caller != "" {
		l.byCaller[caller]++
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.running--
		if caller != "" {
			if l.byCaller[caller]--; l.byCaller[caller] <= 0 {
				delete(l.byCaller, caller)
			}
		}
	}, ""
}

// limitCalls is a tool middleware that refuses a call beyond the caps with an isError result
// saying the server is busy, so that a client retries instead of waiting on a queue.
func (s *Server) limitCalls(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		release, busy := s.calls.acquire(s.callerKey(ctx))
		if busy != "" {
			s.log.Debug("tool call refused: too many running", "tool", req.Params.Name, "reason", busy)
			return mcp.NewToolResultError(busy), nil
		}
		defer release()
		return next(ctx, req)
	}
}
