package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/httpsec"
)

// Default caps on the HTTP sessions held at once: each costs memory until it ends or idles out, so
// without a cap anyone who can connect can make the server hold sessions without bound.
const (
	// DefaultMaxSessions caps the streamable HTTP and legacy SSE sessions of the process.
	DefaultMaxSessions = 1000
	// DefaultMaxSessionsPerCaller caps one caller's sessions under token pass-through.
	DefaultMaxSessionsPerCaller = 100
)

// sessionsRetryAfter is the Retry-After, in seconds, of a session refused for want of room.
const sessionsRetryAfter = 10

// sessionLimiter counts the sessions held, in all and per caller, and the ones being opened.
type sessionLimiter struct {
	max, perCaller int

	mu       sync.Mutex
	held     map[string]string // session id → caller ("" without pass-through)
	byCaller map[string]int    // held and opening sessions per caller
	opening  int
}

func newSessionLimiter(max, perCaller int) *sessionLimiter {
	if max <= 0 {
		max = DefaultMaxSessions
	}
	if perCaller <= 0 {
		perCaller = DefaultMaxSessionsPerCaller
	}
	return &sessionLimiter{max: max, perCaller: min(perCaller, max), held: map[string]string{}, byCaller: map[string]int{}}
}

// reservation is room for one session being opened: the session takes it over when it registers
// (hold), or the request gives it back when it ends without one (release).
type reservation struct {
	l       *sessionLimiter
	caller  string
	settled bool // guarded by l.mu
}

type reservationKey struct{}

// reserve makes room for one session of caller while it is opened, or says why there is none.
func (l *sessionLimiter) reserve(caller string) (*reservation, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case len(l.held)+l.opening >= l.max:
		return nil, "too many sessions: this server holds at most " + strconv.Itoa(l.max) +
			" at once; close sessions you no longer use, or retry after the Retry-After delay"
	case caller != "" && l.byCaller[caller] >= l.perCaller:
		return nil, "too many sessions: you hold " + strconv.Itoa(l.byCaller[caller]) +
			", the most one caller may; close sessions you no longer use, or retry after the Retry-After delay"
	}
	l.opening++
	l.byCaller[caller]++
	return &reservation{l: l, caller: caller}, ""
}

// hold turns the reservation into session id, held until it is removed.
func (r *reservation) hold(id string) {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	if r.settled {
		return
	}
	r.settled = true
	r.l.opening--
	if _, dup := r.l.held[id]; dup {
		r.l.dropLocked(r.caller)
		return
	}
	r.l.held[id] = r.caller
}

// release gives the reservation back unless a session took it over.
func (r *reservation) release() {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	if r.settled {
		return
	}
	r.settled = true
	r.l.opening--
	r.l.dropLocked(r.caller)
}

func (l *sessionLimiter) add(id, caller string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[id]; !ok {
		l.held[id] = caller
		l.byCaller[caller]++
	}
}

func (l *sessionLimiter) remove(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if caller, ok := l.held[id]; ok {
		delete(l.held, id)
		l.dropLocked(caller)
	}
}

func (l *sessionLimiter) dropLocked(caller string) {
	if l.byCaller[caller]--; l.byCaller[caller] <= 0 {
		delete(l.byCaller, caller)
	}
}

// len returns the number of sessions held.
func (l *sessionLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.held)
}

// countSessions keeps the session limiter's count from mcp-go's session registry.
func (s *Server) countSessions() {
	s.hooks.AddOnRegisterSession(func(ctx context.Context, session server.ClientSession) {
		id := session.SessionID()
		switch res, _ := ctx.Value(reservationKey{}).(*reservation); {
		case id == "":
		case res != nil:
			res.hold(id)
		default:
			s.sessions.add(id, s.callerKey(ctx))
		}
	})
	s.hooks.AddOnUnregisterSession(func(_ context.Context, session server.ClientSession) {
		s.sessions.remove(session.SessionID())
	})
}

// capSessions is HTTP middleware that answers 503 with Retry-After to a request that would open a
// session beyond the caps: an initialize without a session (streamable HTTP), a GET stream without
// one (which mcp-go's stateful mode turns into a new session), or a legacy SSE stream.
func (s *Server) capSessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !opensSession(r) {
			next.ServeHTTP(w, r)
			return
		}
		res, refusal := s.sessions.reserve(s.callerKey(r.Context()))
		if refusal != "" {
			s.log.Warn("HTTP session refused", "reason", refusal)
			w.Header().Set("Retry-After", strconv.Itoa(sessionsRetryAfter))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": refusal})
			return
		}
		// The session registers with this request's context (mcp-go), and takes the reservation over.
		defer res.release()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), reservationKey{}, res)))
	})
}

// opensSession reports whether r would open an MCP session.
func opensSession(r *http.Request) bool {
	switch {
	case r.URL.Path == PathSSE:
		return r.Method == http.MethodGet
	case r.URL.Path != PathStreamable || r.Header.Get("Mcp-Session-Id") != "":
		return false
	case r.Method == http.MethodGet:
		return true
	case r.Method != http.MethodPost:
		return false
	}
	return messageMethod(peekBody(r)) == string(mcp.MethodInitialize)
}

// peekBody returns r's body and leaves it in place: without a copy when httpsec buffered it.
func peekBody(r *http.Request) []byte {
	if b, ok := r.Body.(*httpsec.BufferedBody); ok {
		return b.Bytes()
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, httpsec.DefaultMaxBodyBytes+1))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), r.Body))
	return b
}
