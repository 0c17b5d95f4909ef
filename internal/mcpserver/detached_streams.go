package mcpserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// A legacy streamable HTTP session keeps its GET stream open for as long as it listens, mostly
// idle. Served in place, each such stream holds its connection's goroutine parked under the whole
// handler chain (a 16 KiB stack), net/http's background read goroutine and 10 KiB of connection
// buffers. serveDetached serves it off the connection instead: mcp-go's stream loop runs on a
// goroutine of its own, which stays shallow, and once the stream has started (status 200, an
// event stream) the connection is taken over from net/http, so its goroutines and buffers go. A
// session's listening stream then goes on without that goroutine too: it is parked
// (mcpgo_listening_streams.go), mcp-go's loop ends, and what the loop still writes is dropped.
//
// What changes for an HTTP/1.x GET stream:
//   - The response is delimited by closing the connection (Connection: close, no chunking; the
//     framing the SSE specification recommends), and the request's log line is written when the
//     stream starts, not when it ends.
//   - A client that goes away is noticed at the next heartbeat (HTTPOptions.StreamHeartbeat), not
//     at once: nothing reads the connection in between. Its events stay in the replay log.
//
// As in place, a write that waits streamWriteTimeout for a client that stopped reading fails and
// ends the stream (keepAliveWriter bounds each write, and parkedStream.write each of a parked one).
//
// Everything else is as in place: a response that is not an event stream (an error) is written
// through the handler chain, and so is every stream when the connection cannot be taken over
// (HTTP/2, a writer without Unwrap); events go through the same scrubbing as the chain's
// (outbound, correctErrorCodes).

// serveDetached runs serve for r on a goroutine of its own, and hands the connection over to it
// once it starts an event stream. done runs when serve has returned, or, if the stream is parked
// (mcpgo_listening_streams.go: park, if not nil, is the stream it becomes if it turns out to be its
// session's listening stream), when it ends.
func (s *Server) serveDetached(w http.ResponseWriter, r *http.Request, serve http.HandlerFunc, park *parkedStream, done func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	// Until the connection is handed over, the request's end (its client gone) ends the stream.
	stopFollowing := context.AfterFunc(r.Context(), cancel)
	defer stopFollowing()
	d := &detachedWriter{s: s, w: w, header: w.Header(), cancel: cancel, park: park,
		decided: make(chan bool, 1), handed: make(chan net.Conn, 1), finished: make(chan struct{})}
	go func() {
		defer func() {
			if !d.finish() {
				done()
			}
		}()
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic serving a GET stream", "panic", p)
			}
		}()
		serve(d, r.WithContext(ctx))
	}()
	if stream := <-d.decided; stream {
		parking := d.park != nil                        // settled with the decision
		w.Header().Set("Transfer-Encoding", "identity") // net/http: no chunking, the connection closes after the body
		w.WriteHeader(http.StatusOK)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			stopFollowing() // net/http ends the request's context as this handler returns
			s.streams.add(conn)
			d.handed <- conn
			if parking {
				cancel() // mcp-go's loop returns; the stream is parked
			}
			return // the stream goes on without this goroutine
		}
		d.handed <- nil // served in place
	}
	<-d.finished
}

// detachedWriter is the response writer of a stream served by serveDetached. Until the stream
// is decided, and to its end when it is served in place, it writes through the request's writer;
// once handed the connection, to the connection. Its methods are called from the stream's
// goroutine and the heartbeat timer, serialised by keepAliveWriter.
type detachedWriter struct {
	s      *Server
	header http.Header
	cancel context.CancelFunc // ends the stream's request context
	park   *parkedStream      // not nil: once handed the connection, mcp-go's writes are dropped and the stream parked

	decided  chan bool     // to the request's goroutine: true when an event stream starts
	handed   chan net.Conn // from it: the connection, or nil to go on in place
	finished chan struct{} // closed when the stream has ended

	state    detachedState
	w        http.ResponseWriter // the request's writer, until handed the connection
	conn     net.Conn
	pending  []byte    // an event being written, until Flush
	broken   bool      // the connection failed, the client went away or stopped reading
	deadline time.Time // a write deadline set before the stream was decided
	probe    [1]byte
}

type detachedState int

const (
	undecided detachedState = iota
	inPlace
	detached
)

var errStreamBroken = errors.New("the client's connection is gone")

func (d *detachedWriter) Header() http.Header { return d.header }

func (d *detachedWriter) WriteHeader(code int) {
	if d.state != undecided {
		return
	}
	stream := code == http.StatusOK && strings.HasPrefix(d.header.Get("Content-Type"), "text/event-stream")
	if d.park != nil && d.park.started == 0 {
		d.park = nil // not the session's listening stream: mcp-go's loop serves it
	}
	d.decided <- stream
	if !stream {
		d.state = inPlace
		d.w.WriteHeader(code)
	} else if conn := <-d.handed; conn == nil {
		d.state = inPlace // the request's goroutine wrote the header
	} else {
		d.state, d.conn = detached, conn
		d.w, d.header = nil, http.Header{} // nothing of net/http's response is kept
	}
	if !d.deadline.IsZero() {
		_ = d.SetWriteDeadline(d.deadline)
	}
}

func (d *detachedWriter) Write(p []byte) (int, error) {
	if d.state == undecided {
		d.WriteHeader(http.StatusOK)
	}
	switch {
	case d.state == inPlace:
		return d.w.Write(p)
	case d.broken:
		return 0, errStreamBroken
	case d.park != nil: // the parked stream writes every event from the log
		return len(p), nil
	}
	// The chain's writers, in the order they wrap a response (correctHTTPErrorCodes inside onTheWire).
	d.pending = append(d.pending, d.s.outbound(correctErrorCodes(p))...)
	return len(p), nil
}

// FlushError writes the pending event to the connection.
func (d *detachedWriter) FlushError() error {
	switch {
	case d.state == undecided:
		d.WriteHeader(http.StatusOK)
		return d.FlushError()
	case d.state == inPlace:
		return http.NewResponseController(d.w).Flush()
	case d.broken:
		return errStreamBroken
	case len(d.pending) == 0:
		return nil
	}
	_, err := d.conn.Write(d.pending)
	d.pending = nil // an idle stream holds no buffer
	if err != nil {
		d.fail()
	}
	return err
}

// Flush implements http.Flusher, which mcp-go requires of a stream's writer.
func (d *detachedWriter) Flush() { _ = d.FlushError() }

// SetWriteDeadline bounds the writes (keepAliveWriter bounds each; mcp-go sets one while it
// replays a stream). Set before the stream is decided, it applies once it is.
func (d *detachedWriter) SetWriteDeadline(t time.Time) error {
	switch d.state {
	case inPlace:
		return http.NewResponseController(d.w).SetWriteDeadline(t)
	case detached:
		return d.conn.SetWriteDeadline(t)
	}
	d.deadline = t
	return nil
}

// checkAlive notices a client that went away (connAlive). The heartbeat timer calls it before
// each ping.
func (d *detachedWriter) checkAlive() {
	if d.state == detached && !d.broken && !connAlive(d.conn, d.probe[:]) {
		d.fail()
	}
}

// fail marks the connection gone and ends the stream's request.
func (d *detachedWriter) fail() {
	d.broken = true
	d.cancel()
}

// finish ends the stream: in place, the request's goroutine may return; detached, the
// connection closes, unless the stream is parked (then finish is true).
func (d *detachedWriter) finish() (parked bool) {
	d.cancel()
	switch d.state {
	case undecided:
		d.state = inPlace
		d.decided <- false
	case detached:
		if d.park != nil && !d.broken && d.s.events.park(d.park, d.conn) {
			close(d.finished)
			return true
		}
		if d.s.streamWriteTimeout > 0 {
			_ = d.conn.SetWriteDeadline(time.Now().Add(d.s.streamWriteTimeout)) // keepAliveWriter no longer bounds it
		}
		_ = d.FlushError()
		d.s.streams.remove(d.conn)
		_ = d.conn.Close()
	}
	close(d.finished)
	return false
}

// deadlinePassed is a read deadline that makes a read return at once.
var deadlinePassed = time.Unix(1, 0)

// detachedConns are the connections of the streams served off them. http.Server's Shutdown and
// Close leave connections taken over alone, so closing the sessions closes these too: a stream
// whose client stopped reading ends as well.
type detachedConns struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (c *detachedConns) add(conn net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		_ = conn.Close() // the stream ends at its first write
		return
	}
	if c.conns == nil {
		c.conns = map[net.Conn]struct{}{}
	}
	c.conns[conn] = struct{}{}
}

func (c *detachedConns) remove(conn net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.conns, conn)
}

// closeAll closes the connections, and those added later.
func (c *detachedConns) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for conn := range c.conns {
		_ = conn.Close()
		delete(c.conns, conn)
	}
}
