package mcpserver

import (
	"bytes"
	"net/http"
	"sync"
	"time"
)

// keepSSEAlive keeps idle legacy SSE streams from being cut by proxies and
// load balancers: after interval without an event it writes an SSE comment
// (": keep-alive"), which every SSE parser ignores (the official Go SDK's
// included). mcp-go's own SSE keep-alive sends JSON-RPC ping requests instead,
// which a client must answer with a POST and some clients do not understand;
// a comment needs nothing from the client. Comments go only between events.
func keepSSEAlive(next http.Handler, interval time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || interval <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		kw := keepAlive(w, interval, func() []byte { return sseComment })
		defer kw.stop()
		next.ServeHTTP(kw, r)
	})
}

var sseComment = []byte(": keep-alive\n\n")

// keepAliveWriter serialises the handler's writes with the keep-alive
// messages and remembers whether the stream is between two events. A timer,
// not a goroutine, waits for the next keep-alive: an idle stream costs no
// goroutine of its own (an idle session holds little more than its
// connection).
type keepAliveWriter struct {
	http.ResponseWriter
	interval time.Duration
	beat     func() []byte // the keep-alive message, a whole SSE event or comment

	mu       sync.Mutex
	timer    *time.Timer
	stopped  bool // the handler returned: nothing more is written
	streamed bool // a 200 event stream has started
	boundary bool // nothing written yet, or the last write ended an event
	last     time.Time
}

// keepAlive wraps w, writing beat's message after interval without a write,
// until stop.
func keepAlive(w http.ResponseWriter, interval time.Duration, beat func() []byte) *keepAliveWriter {
	k := &keepAliveWriter{ResponseWriter: w, interval: interval, beat: beat, boundary: true, last: time.Now()}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.timer = time.AfterFunc(interval, k.fire)
	return k
}

// stop ends the keep-alives; the handler calls it before it returns.
func (k *keepAliveWriter) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	k.timer.Stop()
}

// fire writes a keep-alive if the stream has been idle for the interval, and
// sets the timer for when it will next have been.
func (k *keepAliveWriter) fire() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	if c, ok := k.ResponseWriter.(interface{ checkAlive() }); ok {
		c.checkAlive() // a detached stream has nothing else noticing that its client went away
	}
	now := time.Now()
	if k.streamed && k.boundary && now.Sub(k.last) >= k.interval {
		if _, err := k.ResponseWriter.Write(k.beat()); err == nil {
			_ = http.NewResponseController(k.ResponseWriter).Flush()
		}
		k.last = now
	}
	next := k.interval - now.Sub(k.last)
	if next <= 0 { // mid-event, or before the stream started
		next = k.interval
	}
	k.timer.Reset(next)
}

func (k *keepAliveWriter) WriteHeader(code int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.streamed = code == http.StatusOK
	k.ResponseWriter.WriteHeader(code)
}

func (k *keepAliveWriter) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.streamed && k.Header().Get("Content-Type") == "text/event-stream" {
		k.streamed = true // an implicit 200
	}
	n, err := k.ResponseWriter.Write(p)
	if n > 0 {
		k.boundary = bytes.HasSuffix(p[:n], []byte("\n\n")) || bytes.HasSuffix(p[:n], []byte("\r\n\r\n"))
		k.last = time.Now()
	}
	return n, err
}

// Flush implements http.Flusher, which mcp-go's SSE transports require.
func (k *keepAliveWriter) Flush() {
	k.mu.Lock()
	defer k.mu.Unlock()
	_ = http.NewResponseController(k.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (k *keepAliveWriter) Unwrap() http.ResponseWriter { return k.ResponseWriter }
