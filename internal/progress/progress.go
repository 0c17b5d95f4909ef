// Package progress sends MCP notifications/progress for one request: monotonic,
// with a heartbeat, and never blocking the work it reports on.
package progress

import (
	"context"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// DefaultHeartbeat is how often Heartbeat repeats the last message when nothing
// else was reported: below the 5 s after which clients may give up on a quiet call.
const DefaultHeartbeat = 4 * time.Second

// Method is the JSON-RPC method of a progress notification.
const Method = "notifications/progress"

// SendFunc delivers one notification without blocking; it returns an error when
// the notification could not be queued (the caller drops it).
type SendFunc func(method string, params map[string]any) error

// Reporter reports the progress of one request. A nil *Reporter is valid and
// discards everything, so callers never check whether the client asked.
type Reporter struct {
	token mcp.ProgressToken
	send  SendFunc
	now   func() time.Time

	mu       sync.Mutex
	progress float64
	message  string
	lastSent time.Time
	sent     int
	dropped  int
}

// New returns a Reporter that sends through send for the given progress token,
// or nil when token is nil (the client did not ask for progress).
func New(token mcp.ProgressToken, send SendFunc) *Reporter {
	if token == nil || send == nil {
		return nil
	}
	return &Reporter{token: token, send: send, now: time.Now}
}

// FromRequest returns a Reporter for a tools/call request, sending through the
// MCP server and session carried by ctx; nil when the request carries no
// progressToken or ctx carries no server.
func FromRequest(ctx context.Context, req mcp.CallToolRequest) *Reporter {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return nil
	}
	delivery := DeliveryFrom(ctx)
	return New(req.Params.Meta.ProgressToken, func(method string, params map[string]any) error {
		if err := srv.SendNotificationToClient(ctx, method, params); err != nil {
			return err
		}
		delivery.Queued()
		return nil
	})
}

// Report sends message as the next step: progress grows by one.
func (r *Reporter) Report(message string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sendLocked(r.progress+1, 0, message)
}

// ReportAt sends message with an explicit progress value and optional total
// (0 = unknown). A value not above the last one sent is raised just above it,
// so the sequence the client sees is strictly increasing whatever the caller does.
func (r *Reporter) ReportAt(progress, total float64, message string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if progress <= r.progress {
		progress = r.progress + 1
	}
	if total > 0 && total < progress {
		total = 0
	}
	r.sendLocked(progress, total, message)
}

// sendLocked records and sends one notification; r.mu is held. The progress
// value advances even when the send is dropped, which keeps later values
// increasing relative to everything the client may have received.
func (r *Reporter) sendLocked(progress, total float64, message string) {
	r.progress = progress
	r.message = message
	r.lastSent = r.now()
	params := map[string]any{"progressToken": r.token, "progress": progress}
	if total > 0 {
		params["total"] = total
	}
	if message != "" {
		params["message"] = message
	}
	if err := r.send(Method, params); err != nil {
		r.dropped++
		return
	}
	r.sent++
}

// Heartbeat repeats the last message whenever nothing was reported for an
// interval (DefaultHeartbeat when interval <= 0), until ctx ends or stop is
// called; stop waits for the heartbeat goroutine to finish. The gap between
// two notifications never exceeds the interval (plus scheduling delay).
func (r *Reporter) Heartbeat(ctx context.Context, interval time.Duration) (stop func()) {
	if r == nil {
		return func() {}
	}
	if interval <= 0 {
		interval = DefaultHeartbeat
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	start := r.now()
	go func() {
		defer close(done)
		timer := time.NewTimer(interval)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			timer.Reset(r.beat(start, interval))
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// beat re-sends the last message when nothing was sent for an interval (or
// since start), and returns how long to wait before the next check.
func (r *Reporter) beat(start time.Time, interval time.Duration) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	last := r.lastSent
	if last.Before(start) {
		last = start
	}
	if wait := interval - r.now().Sub(last); wait > 0 {
		return wait
	}
	message := r.message
	if message == "" {
		message = "working"
	}
	r.sendLocked(r.progress+1, 0, message)
	return interval
}

// Stats returns how many notifications were sent and how many were dropped
// because the client's queue was full.
func (r *Reporter) Stats() (sent, dropped int) {
	if r == nil {
		return 0, 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent, r.dropped
}
