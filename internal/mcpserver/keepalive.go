package mcpserver

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"time"
)

// streamWriteTimeout bounds each write of an event to a long-lived stream (a GET stream of
// streamable HTTP, a legacy SSE stream) and of a POST's response (boundPostWrites). A client
// that keeps its connection open but stops reading fills the socket buffers, and a write without
// a deadline would then block for good, holding the stream or the call, the session's
// notifications and the connection. A write that times out ends the stream or the response as a
// client gone does (a legacy streamable HTTP session keeps its events for replay). Between writes
// there is no deadline: an idle stream, or a call still working, is never cut for it.
const streamWriteTimeout = 30 * time.Second

// writeChunk is the most one bounded write sends: a longer one (a large JSON result, written in
// one piece) goes out in pieces, each under a deadline of its own, so that a client that reads
// slowly but reads, writeChunk per streamWriteTimeout at least, is never cut however large the
// message.
const writeChunk = 64 << 10

// responseBuffer is how much of a response net/http holds before it writes any to the connection
// (bufferBeforeChunkingSize over HTTP/1.1; 4 KiB over HTTP/2): writes within it, before a flush,
// cannot wait for the client, and boundPostWrites gives them no deadline. Most results fit (a
// get_endpoint answer is under 1 KiB), so most calls set one only, for what net/http writes once
// the handler returned.
const responseBuffer = 2 << 10

// boundPostWrites bounds each write of a POST's response by writeTimeout, as keepAliveWriter
// (with no keep-alives) bounds a stream's: a streamable HTTP POST's JSON result or event stream,
// on mcp-go's path and on the 2026-07-28 fast path alike. A write that times out fails; net/http
// then cancels the request's context as for a client gone (HTTP/1.1 closes the connection, HTTP/2
// resets the stream), so the call is cancelled if it still runs, and the handler and the
// forwarder of the call's notifications return. onTheWire's writer, which scrubs the response,
// wraps this one, so a message is scrubbed whole before it is cut into pieces. What net/http
// writes once the handler returned is bounded by boundTails (http.go), for every answer but a
// stream's served off its connection. A writer that cannot take deadlines (a middleware that
// hides the connection and has no Unwrap) is written to without one, as with streams.
func boundPostWrites(next http.Handler, writeTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || writeTimeout <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		kw := keepAlive(w, 0, writeTimeout, nil)
		kw.held = responseBuffer
		defer kw.stop()
		next.ServeHTTP(kw, r)
	})
}

// keepSSEAlive keeps idle legacy SSE streams from being cut by proxies and
// load balancers: after interval without an event it writes an SSE comment
// (": keep-alive"), which every SSE parser ignores (the official Go SDK's
// included). mcp-go's own SSE keep-alive sends JSON-RPC ping requests instead,
// which a client must answer with a POST and some clients do not understand;
// a comment needs nothing from the client. Comments go only between events.
// Each write is bounded by writeTimeout (keepAliveWriter).
func keepSSEAlive(next http.Handler, interval, writeTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		kw := keepAlive(w, interval, writeTimeout, func() []byte { return sseComment })
		defer kw.stop()
		next.ServeHTTP(kw, r)
	})
}

var sseComment = []byte(": keep-alive\n\n")

// keepAliveWriter serialises the handler's writes with the keep-alive
// messages and remembers whether the stream is between two events (with no
// keep-alives, boundPostWrites, it only bounds the writes). A timer,
// not a goroutine, waits for the next keep-alive: an idle stream costs no
// goroutine of its own (an idle session holds little more than its
// connection). Each write and flush gets a deadline of writeTimeout, lifted
// once it is done (see bounded).
type keepAliveWriter struct {
	http.ResponseWriter
	interval     time.Duration // 0 or less: no keep-alives
	writeTimeout time.Duration // 0 or less: writes are not bounded
	beat         func() []byte // the keep-alive message, a whole SSE event or comment
	started      func()        // if not nil, called once a 200 event stream starts

	mu       sync.Mutex
	deadline time.Time   // the handler's own write deadline (mcp-go sets one while it replays); zero: none
	timer    *time.Timer // nil without keep-alives
	stopped  bool        // the handler returned: nothing more is written
	streamed bool        // a 200 event stream has started
	boundary bool        // nothing written yet, or the last write ended an event
	last     time.Time
	held     int // bytes the writer below can still take without writing to the connection
}

// keepAlive wraps w, writing beat's message after interval without a write
// (if interval > 0), until stop; each write is bounded by writeTimeout.
func keepAlive(w http.ResponseWriter, interval, writeTimeout time.Duration, beat func() []byte) *keepAliveWriter {
	k := &keepAliveWriter{ResponseWriter: w, interval: interval, writeTimeout: writeTimeout, beat: beat, boundary: true, last: time.Now()}
	if interval > 0 {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.timer = time.AfterFunc(interval, k.fire)
	}
	return k
}

// stop ends the keep-alives; the handler calls it before it returns.
func (k *keepAliveWriter) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	if k.timer != nil {
		k.timer.Stop()
	}
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
		_ = k.bounded(func() error {
			if _, err := k.ResponseWriter.Write(k.beat()); err != nil {
				return err
			}
			return http.NewResponseController(k.ResponseWriter).Flush()
		})
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
	if k.streamed && strings.HasPrefix(k.Header().Get("Content-Type"), "text/event-stream") {
		k.streamStarts()
	}
	k.ResponseWriter.WriteHeader(code)
}

// streamStarts calls started, once. k.mu is held.
func (k *keepAliveWriter) streamStarts() {
	if k.started != nil {
		k.started()
		k.started = nil
	}
}

func (k *keepAliveWriter) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.interval > 0 && !k.streamed && k.Header().Get("Content-Type") == "text/event-stream" {
		k.streamed = true // an implicit 200
		k.streamStarts()
	}
	if k.held > 0 && len(p) <= k.held { // held by net/http, not written yet: nothing to wait for
		k.held -= len(p)
		return k.ResponseWriter.Write(p)
	}
	k.held = 0
	var n int
	for {
		piece := p[n:min(len(p), n+writeChunk)]
		var m int
		err := k.bounded(func() (err error) {
			m, err = k.ResponseWriter.Write(piece)
			return err
		})
		n += m
		if err != nil || n >= len(p) {
			if n > 0 && k.interval > 0 {
				k.boundary = bytes.HasSuffix(p[:n], []byte("\n\n")) || bytes.HasSuffix(p[:n], []byte("\r\n\r\n"))
				k.last = time.Now()
			}
			return n, err
		}
	}
}

// Flush implements http.Flusher, which mcp-go's SSE transports require.
func (k *keepAliveWriter) Flush() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.held = 0
	_ = k.bounded(http.NewResponseController(k.ResponseWriter).Flush)
}

// SetWriteDeadline sets the handler's own deadline (mcp-go bounds a replay so): writes until it
// is lifted end by it at the latest, and it is what each write restores.
func (k *keepAliveWriter) SetWriteDeadline(t time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.deadline = t
	return http.NewResponseController(k.ResponseWriter).SetWriteDeadline(t)
}

// bounded runs write, which may write to the client, under a deadline writeTimeout away (or
// the handler's own, if sooner), then puts the handler's back (none, mostly): an idle stream
// has no deadline to run into. A write that times out fails, and the stream ends as for any
// failed write (detachedWriter.fail; net/http cancels an in-place request's context). A writer
// that cannot take deadlines (a middleware hiding the connection) is written to without one.
func (k *keepAliveWriter) bounded(write func() error) error {
	if k.writeTimeout <= 0 {
		return write()
	}
	rc := http.NewResponseController(k.ResponseWriter)
	if rc.SetWriteDeadline(k.writeDeadline()) != nil {
		return write()
	}
	defer func() { _ = rc.SetWriteDeadline(k.deadline) }()
	return write()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (k *keepAliveWriter) Unwrap() http.ResponseWriter { return k.ResponseWriter }

// writeDeadline is the deadline of a write starting now: writeTimeout away, or the handler's own
// if sooner.
func (k *keepAliveWriter) writeDeadline() time.Time {
	deadline := time.Now().Add(k.writeTimeout)
	if !k.deadline.IsZero() && k.deadline.Before(deadline) {
		deadline = k.deadline
	}
	return deadline
}
