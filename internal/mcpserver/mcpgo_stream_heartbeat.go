package mcpserver

// Workaround for mcp-go v1.2.1: with WithHeartbeatInterval, its streamable HTTP transport runs a
// goroutine with a ticker for every open GET stream (server/streamable_http_resume.go,
// startConnHeartbeat), a quarter of the goroutines an idle session holds. Here a timer per stream
// writes the same ping requests, and costs no goroutine while it waits (keepalive.go).
//
// mcp-go's idle sweeper (WithSessionIdleTTL) counts a session active only when mcp-go itself
// writes to one of its streams or reads one of its requests, so pings it does not write would let
// a session that only listens expire: the expiry moves here as well (idleSessions), counting a
// session active while any request of it (its GET stream included) is open. It ends a session as
// a DELETE does, through the transport's Handle.
//
// It can go when mcp-go sends heartbeats without a goroutine per stream (startConnHeartbeat):
// then pass WithHeartbeatInterval and WithSessionIdleTTL again in newHTTPHandler, and
// TestIdleSessionsHoldNoHeartbeatGoroutine still passes without this file.

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// pingIDs numbers the heartbeat pings of the process. mcp-go answers a client's (empty) result
// to any of them with 202, as it did for its own pings, whose IDs came from its request counter.
var pingIDs atomic.Int64

// heartbeatPing is one ping request as an SSE event without an event ID: like mcp-go's, it
// checks the connection and is not recorded for replay.
func heartbeatPing() []byte {
	return []byte(`event: message` + "\n" + `data: {"jsonrpc":"2.0","id":` + strconv.FormatInt(pingIDs.Add(1), 10) +
		`,"method":"ping"}` + "\n\n")
}

// keepStreamsAlive is the streamable HTTP transport's middleware for both: GET streams carry a
// ping after interval without an event (and their writes are bounded, keepAliveWriter), and a
// request naming a session keeps it from expiring while it is open.
func (s *Server) keepStreamsAlive(next http.Handler, interval time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(server.HeaderKeySessionID)
		if id != "" {
			s.idle.begin(id)
		}
		ended := func() {
			if id != "" {
				s.idle.end(id)
			}
		}
		if id == "" && r.Method == http.MethodGet { // mcp-go opens a session for it
			opening := &openingStream{}
			r = r.WithContext(context.WithValue(r.Context(), openingStreamKey{}, opening))
			ended = func() {
				if opening.id != "" {
					s.idle.end(opening.id)
				}
			}
		}
		if r.Method != http.MethodGet {
			defer ended()
			next.ServeHTTP(w, r)
			return
		}
		// Without heartbeats nothing would notice a client gone from a detached stream.
		detach := interval > 0 && r.ProtoMajor == 1 && !mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion))
		// A session's listening stream takes over from the one before, and one served off its
		// connection may be parked (mcpgo_listening_streams.go).
		var park *parkedStream
		if id != "" && detach {
			park = s.events.beginListening(s, id, interval, ended)
		}
		lastEventID := r.Header.Get("Last-Event-ID")
		serve := func(w http.ResponseWriter, r *http.Request) {
			kw := keepAlive(w, interval, s.streamWriteTimeout, heartbeatPing)
			if id != "" {
				kw.started = func() { s.events.listeningStarted(id, lastEventID, park) }
			}
			defer kw.stop()
			next.ServeHTTP(kw, r)
		}
		if !detach {
			defer ended()
			serve(w, r)
			return
		}
		s.serveDetached(w, r, serve, park, ended) // detached_streams.go
	})
}

// openingStream is a GET stream without a session, which mcp-go opens one for: the
// registration tells it which.
type openingStream struct{ id string }

type openingStreamKey struct{}

// idleSessions ends the streamable HTTP sessions idle for ttl: no request of theirs open, none
// begun or ended for ttl. One timer checks them every half ttl (as mcp-go's sweeper did), armed
// only while there are sessions.
type idleSessions struct {
	ttl     time.Duration
	endFunc func(id string) // ends a session as its DELETE would; set with the HTTP handler

	mu       sync.Mutex
	sessions map[string]*idleSession
	timer    *time.Timer // nil while unarmed
	closed   bool
}

type idleSession struct {
	open       int       // requests naming the session being served
	last       time.Time // when the last one began or ended
	registered bool      // mcp-go registered the session (a GET may name an id it then registers)
}

func newIdleSessions(ttl time.Duration) *idleSessions {
	return &idleSessions{ttl: ttl, sessions: map[string]*idleSession{}}
}

// checkEvery is how often idle sessions are looked for.
func (t *idleSessions) checkEvery() time.Duration { return max(t.ttl/2, time.Second) }

// add starts tracking session id, which mcp-go registered.
func (t *idleSessions) add(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	is := t.sessions[id]
	if is == nil {
		is = &idleSession{last: time.Now()}
		t.sessions[id] = is
	}
	is.registered = true
	if t.timer == nil && t.endFunc != nil {
		t.timer = time.AfterFunc(t.checkEvery(), t.sweep)
	}
}

// remove stops tracking session id, which ended.
func (t *idleSessions) remove(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.sessions, id)
}

// begin marks session id active until the matching end. An id not (yet) registered is counted
// too, until its requests end: a GET naming an unknown id makes mcp-go register it.
func (t *idleSessions) begin(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	is := t.sessions[id]
	if is == nil {
		is = &idleSession{}
		t.sessions[id] = is
	}
	is.open++
	is.last = time.Now()
}

// end is the end of a request begun with begin.
func (t *idleSessions) end(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	is := t.sessions[id]
	if is == nil { // the session ended during the request
		return
	}
	is.open--
	is.last = time.Now()
	if is.open == 0 && !is.registered {
		delete(t.sessions, id) // a made-up or ended id leaves nothing behind
	}
}

// sweep ends the sessions idle for ttl, and rearms the timer while sessions remain.
func (t *idleSessions) sweep() {
	t.mu.Lock()
	now := time.Now()
	var idle []string
	for id, is := range t.sessions {
		if is.registered && is.open == 0 && now.Sub(is.last) >= t.ttl {
			idle = append(idle, id)
			delete(t.sessions, id)
		}
	}
	if len(t.sessions) > 0 && !t.closed {
		t.timer.Reset(t.checkEvery())
	} else {
		t.timer = nil
	}
	t.mu.Unlock()
	for _, id := range idle {
		t.endFunc(id)
	}
}

// close stops the sweeps (the sessions are being closed).
func (t *idleSessions) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}

// len returns the number of sessions tracked.
func (t *idleSessions) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sessions)
}

// trackIdleSessions keeps idleSessions' list from mcp-go's session registry: streamable HTTP
// sessions only (legacy SSE sessions end with their stream).
func (s *Server) trackIdleSessions() {
	s.hooks.AddOnRegisterSession(func(ctx context.Context, session server.ClientSession) {
		id := session.SessionID()
		if _, streamable := session.(server.SessionWithStreamableHTTPConfig); !streamable || id == "" {
			return
		}
		s.idle.add(id)
		if opening, ok := ctx.Value(openingStreamKey{}).(*openingStream); ok {
			opening.id = id // the stream that opened the session keeps it active until it ends
			s.idle.begin(id)
		}
	})
	s.hooks.AddOnUnregisterSession(func(_ context.Context, session server.ClientSession) {
		s.idle.remove(session.SessionID())
	})
}

// expireWith makes idle sessions end through streamable, the way a client's DELETE does.
func (t *idleSessions) expireWith(streamable *server.StreamableHTTPServer, log *slog.Logger) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.endFunc = func(id string) {
		log.Info("streamable HTTP session expired", "idle_timeout", t.ttl.String())
		r := &server.HTTPRequest{Method: http.MethodDelete, Header: http.Header{}, Context: context.Background()}
		r.Header.Set(server.HeaderKeySessionID, id) // no Mcp-Protocol-Version: any legacy session's DELETE
		streamable.Handle(&discardResponse{header: http.Header{}}, r)
	}
}

// discardResponse is the response writer of a DELETE the server sends itself.
type discardResponse struct{ header http.Header }

func (d *discardResponse) Header() http.Header         { return d.header }
func (d *discardResponse) WriteHeader(int)             {}
func (d *discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardResponse) Flush()                      {}
func (d *discardResponse) CanStream() bool             { return false }
