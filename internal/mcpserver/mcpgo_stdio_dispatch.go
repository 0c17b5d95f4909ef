package mcpserver

import (
	"github.com/mark3labs/mcp-go/server"
)

// Workaround for mcp-go v1.2.1's stdio dispatch (server/stdio.go): tool calls go to a fixed pool of
// workers (at most 100) through a queue, and when the queue is full the read loop runs the call
// itself. A call that waits in the queue has not started, so notifications/cancelled cannot reach
// it; once the read loop runs a call, nothing more is read, so ping, cancellations and every other
// request go unanswered until that call ends — for ever with an upstream that never answers.
//
// The cure is to never let calls wait: the pool is as large as mcp-go allows and larger than the
// concurrency cap (calls.go), so a worker is always free to start a call, and a call beyond the cap
// is refused at once, which frees its worker again. The queue only absorbs a burst of refusals.
//
// It can go when mcp-go's stdio serves requests without a bounded pool (or lets a full pool refuse
// calls instead of blocking the read loop): fire more concurrent calls than the cap at a hung
// upstream over stdio and check that ping, cancellation and "busy" answers still come without it
// (TestE2EHungUpstreamNeverWedgesTheServer).
const (
	stdioWorkers = 100   // mcp-go's maximum
	stdioQueue   = 10000 // mcp-go's maximum
	// stdioSpareWorkers are kept out of the cap, free to start (and refuse) calls over it.
	stdioSpareWorkers = 16
)

// sizeStdioDispatch sizes stdio's pool and lowers the process's call cap so that it leaves
// stdioSpareWorkers workers free.
func (s *Server) sizeStdioDispatch(stdio *server.StdioServer) {
	server.WithWorkerPoolSize(stdioWorkers)(stdio)
	server.WithQueueSize(stdioQueue)(stdio)
	if limit := stdioWorkers - stdioSpareWorkers; s.calls.lower(limit) {
		s.log.Warn("the tool call cap is lowered on stdio: mcp-go serves at most 100 calls at once there",
			"max_concurrent_calls", limit)
	}
}
