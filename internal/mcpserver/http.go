package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// HTTP paths served on one listener.
const (
	PathStreamable = "/mcp"     // streamable HTTP, both protocol eras
	PathSSE        = "/sse"     // legacy HTTP+SSE event stream
	PathMessage    = "/message" // legacy HTTP+SSE client messages
	PathHealth     = "/healthz"
)

// Timeouts of the HTTP transport.
const (
	sessionIdleTTL     = 30 * time.Minute
	readHeaderTimeout  = 10 * time.Second
	idleTimeout        = 120 * time.Second
	shutdownGrace      = 5 * time.Second
	maxHeaderBytesHTTP = 64 << 10
)

// streamHeartbeat is how often an idle streamable HTTP GET stream carries a ping request, so
// that proxies do not cut it (HTTPOptions.StreamHeartbeat overrides it).
const streamHeartbeat = 25 * time.Second

// HTTPHandler serves streamable HTTP at /mcp, legacy SSE at /sse and /message,
// and /healthz. It is a plain http.Handler, so middleware can wrap it.
type HTTPHandler struct {
	mux        *http.ServeMux
	streamable *server.StreamableHTTPServer
	sse        *server.SSEServer
	idle       *idleSessions
	streams    *detachedConns
}

// HTTPHandler returns the server's HTTP handler (one per Server), without the
// Options.HTTPMiddleware; Handler returns it wrapped.
func (s *Server) HTTPHandler() *HTTPHandler {
	s.httpOnce.Do(func() { s.http = s.newHTTPHandler() })
	return s.http
}

// Handler returns the HTTP handler wrapped in Options.HTTPMiddleware.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.HTTPHandler()
	for i := len(s.opts.HTTPMiddleware) - 1; i >= 0; i-- {
		h = s.opts.HTTPMiddleware[i](h)
	}
	return h
}

func (s *Server) newHTTPHandler() *HTTPHandler {
	s.events = newReplayLog(replayEvents, replayBytes)
	streamable := server.NewStreamableHTTPServer(s.mcp,
		// Stateful: a legacy client's session keeps its GET stream for notifications.
		// Modern (2026-07-28) requests ignore sessions by design.
		server.WithStateful(true),
		// Legacy sessions' streams are resumable, and no notification is lost
		// to a request that just finished (see replayLog).
		server.WithEventStore(s.events),
		// Heartbeats and idle expiry are keepStreamsAlive's (mcpgo_stream_heartbeat.go).
		server.WithStreamableHTTPLogger(s.log),
		server.WithDisableLocalhostProtection(s.localhostProtectionOff()),
	)
	sse := server.NewSSEServer(s.mcp,
		server.WithSSEEndpoint(PathSSE),
		server.WithMessageEndpoint(PathMessage),
		server.WithSSEDisableLocalhostProtection(s.localhostProtectionOff()),
	)
	mux := http.NewServeMux()
	// Ordinary 2026-07-28 requests take a shorter way than mcp-go's transport (mcpgo_modern_post.go).
	// A POST's response is bounded like a stream (boundPostWrites). A legacy /message POST is
	// answered 202 without a body, its result going to the SSE stream; only net/http's write of
	// that answer, after the handler, has anything to bound, and boundTails (Serve) bounds it.
	mux.Handle(PathStreamable, boundPostWrites(s.onTheWire(s.capSessions(s.refuseHTTPSubscriptions(explainMissingSession(
		s.serveModernPosts(streamable, completeModernNotification(trackProgressDelivery(correctHTTPErrorCodes(s.keepStreamsAlive(streamable, s.streamHeartbeat()))))))))), s.streamWriteTimeout))
	mux.Handle(PathSSE, s.onTheWire(s.capSessions(keepSSEAlive(s.tapSSEStreams(correctHTTPErrorCodes(sse)), s.sseKeepAlive(), s.streamWriteTimeout))))
	mux.Handle(PathMessage, s.onTheWire(s.refuseHTTPSubscriptions(correctHTTPErrorCodes(sse))))
	mux.HandleFunc("GET "+PathHealth, s.health)
	s.idle.expireWith(streamable, s.log)
	return &HTTPHandler{mux: mux, streamable: streamable, sse: sse, idle: s.idle, streams: &s.streams}
}

// ServeHTTP dispatches to the transport for the path.
func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// CloseSessions ends every open MCP session (streamable and SSE), which
// releases long-lived streams so the HTTP server can shut down.
func (h *HTTPHandler) CloseSessions(ctx context.Context) {
	h.idle.close()
	h.streamable.CloseSessions(ctx)
	h.sse.CloseSessions()
	h.streams.closeAll()
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "ok", "name": Name, "version": s.opts.Version, "tools": len(s.tools)})
}

// ListenAndServe listens on addr and serves Handler until ctx is cancelled,
// then shuts down gracefully: sessions are closed, in-flight requests get a
// few seconds to finish.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	if err := s.checkListenAddr(addr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on an existing listener, which it closes.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	handler, err := s.secureHandler(ln.Addr().String())
	if err != nil {
		_ = ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           boundTails(handler, s.streamWriteTimeout),
		IdleTimeout:       idleTimeout,
		ReadHeaderTimeout: readHeaderTimeout,
		MaxHeaderBytes:    maxHeaderBytesHTTP,
		ErrorLog:          slogErrorLog(s.log),
	}
	if s.opts.ConfigureHTTPServer != nil {
		s.opts.ConfigureHTTPServer(srv)
	}
	fresh := trackFreshConns(srv)
	base := "http://" + ln.Addr().String()
	s.log.Info("serving MCP over HTTP", append([]any{"streamable", base + PathStreamable, "sse", base + PathSSE,
		"health", base + PathHealth, "tools", len(s.tools)}, s.opts.StartAttrs...)...)
	if s.opts.HTTP.OnListen != nil {
		s.opts.HTTP.OnListen(base)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	err = s.shutdown(ctx, srv, fresh)
	if serveErr := <-errc; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	s.log.Info("HTTP server stopped")
	return err
}

// shutdown stops accepting connections, lets in-flight tool calls finish
// (cancelling those still running after drainGrace), then closes the MCP
// sessions, ending their long-lived streams, and waits for the connections to
// go idle, up to shutdownGrace in all. Connections that never carried a
// request are closed at once: http.Server would otherwise wait seconds for
// them to count as idle.
func (s *Server) shutdown(ctx context.Context, srv *http.Server, fresh *freshConns) error {
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	defer s.sec.startShutdown() // whatever still runs is cancelled on the way out
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(shutdownCtx) }()
	s.drainCalls(shutdownCtx, fresh.closeAll)
	s.HTTPHandler().CloseSessions(shutdownCtx)
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		fresh.closeAll()
		select {
		case err := <-done:
			if errors.Is(err, context.DeadlineExceeded) {
				s.log.Warn("HTTP shutdown grace period over; closing remaining connections")
				err = srv.Close()
			}
			return err
		case <-ticker.C:
		}
	}
}

// boundTails gives what net/http writes of a response once its handler has returned (what it
// buffered, the end of a chunked body) a deadline of writeTimeout, for every request but those
// whose connection was taken over (a GET stream served off it, detached_streams.go: net/http would
// set the deadline on the connection the stream now owns). Without it, a client that sends request
// after request on one connection and reads no answer (to /healthz, which needs no credentials, to
// a path that does not exist, or refused by the security checks in front of everything) would hold
// the connection's goroutine for good once the socket buffers are full. net/http lifts the deadline
// before the connection's next request (over HTTP/2 it ends with the stream). A POST's own writes
// are bounded by boundPostWrites, a stream's by keepAliveWriter.
func boundTails(next http.Handler, writeTimeout time.Duration) http.Handler {
	if writeTimeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hw := &hijackWatch{ResponseWriter: w}
		next.ServeHTTP(hw, r)
		if !hw.hijacked {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
		}
	})
}

// hijackWatch is a response writer that tells whether its connection was taken over.
type hijackWatch struct {
	http.ResponseWriter
	hijacked bool
}

func (h *hijackWatch) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.hijacked = h.hijacked || err == nil
	return conn, rw, err
}

// Flush implements http.Flusher, which the streams' writers require of theirs.
func (h *hijackWatch) Flush() { _ = http.NewResponseController(h.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the connection's other controls.
func (h *hijackWatch) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// freshConns tracks connections that have not started a request yet.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// trackFreshConns chains a ConnState hook onto srv (keeping any set before).
func trackFreshConns(srv *http.Server) *freshConns {
	f := &freshConns{conns: map[net.Conn]struct{}{}}
	prev := srv.ConnState
	srv.ConnState = func(c net.Conn, state http.ConnState) {
		f.mu.Lock()
		if state == http.StateNew {
			f.conns[c] = struct{}{}
		} else {
			delete(f.conns, c)
		}
		f.mu.Unlock()
		if prev != nil {
			prev(c, state)
		}
	}
	return f
}

func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.Close()
		delete(f.conns, c)
	}
}
