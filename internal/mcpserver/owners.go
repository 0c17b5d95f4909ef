package mcpserver

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/httpsec"
)

// sessionOwners ties each MCP session to the bearer token that first used
// it, so that a session id alone never lets another caller read that
// session's notification stream or post into it. Only token digests are kept.
type sessionOwners struct {
	mu     sync.Mutex
	owners map[string][sha256.Size]byte
}

// claim records key as the owner of session id if it has none, and reports
// whether key owns it, and whether this call made the claim.
func (o *sessionOwners) claim(id string, key [sha256.Size]byte) (owned, created bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.owners == nil {
		o.owners = map[string][sha256.Size]byte{}
	}
	if owner, ok := o.owners[id]; ok {
		return owner == key, false
	}
	o.owners[id] = key
	return true, true
}

func (o *sessionOwners) release(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.owners, id)
}

func (o *sessionOwners) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.owners)
}

// releaseEndedSessions drops the owner of every session that ends (DELETE,
// idle expiry, a closed SSE stream, shutdown). With pass-through, a session
// is claimed as it is registered, by the caller of the request that opened it
// (a legacy GET /sse, a streamable initialize): whoever learns its id cannot
// be first to post into it.
func (s *Server) releaseEndedSessions() {
	s.hooks.AddOnRegisterSession(func(ctx context.Context, session server.ClientSession) {
		if tok, ok := httpsec.HFTokenFrom(ctx); ok {
			s.sec.owners.claim(session.SessionID(), callerDigest(ctx, tok))
		}
	})
	s.hooks.AddOnUnregisterSession(func(_ context.Context, session server.ClientSession) {
		s.sec.owners.release(session.SessionID())
	})
}

// sessionID is the MCP session a request belongs to: the Mcp-Session-Id
// header (streamable HTTP) or the sessionId query parameter of /message.
func sessionID(r *http.Request) string {
	if id := r.Header.Get("Mcp-Session-Id"); id != "" {
		return id
	}
	if r.URL.Path == PathMessage {
		return r.URL.Query().Get("sessionId")
	}
	return ""
}

// bindSessions is middleware (inside bearer auth) that answers 404, as for
// an unknown session, when a request names a session first used with
// another token. A claim on an id the transport does not know is dropped
// again, so made-up ids leave nothing behind; ended sessions are released by
// the OnUnregisterSession hook.
func (s *Server) bindSessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := sessionID(r)
		tok, ok := httpsec.BearerToken(r)
		if id == "" || !ok {
			next.ServeHTTP(w, r)
			return
		}
		owned, created := s.sec.owners.claim(id, callerDigest(r.Context(), tok))
		if !owned {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "session not found: start a new session"})
			return
		}
		if !created {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusNotFound || sw.status == http.StatusBadRequest {
			s.sec.owners.release(id)
		}
	})
}

// statusWriter remembers the response status; Flush and Unwrap keep streams
// working through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
