package mcpserver

// Workaround for mcp-go v1.2.1: a server cannot refuse resources/subscribe. server.go's
// handleSubscribe acknowledges every request with a URI; its hooks cannot fail it, and the
// SessionWithResourceSubscriptionsErr interface it consults is for sessions mcp-go itself
// creates. A subscription to a namespace the caller cannot see, or beyond the caps, must be
// refused with a JSON-RPC error (resources.Service.CheckSubscribe says which), so the transports
// answer such a request themselves before mcp-go sees it: stdio's readLines asks
// refusedSubscription, and HTTP requests pass through refuseHTTPSubscriptions. The
// resources service does not record a refused subscription either way, so nothing is polled
// for it even where a request slips past these.
//
// It can go when mcp-go lets a hook or handler fail resources/subscribe (e.g. a subscribe
// handler option, or hooks that can return an error): check server/server.go's
// handleSubscribe in a newer mcp-go, then delete this file and its call sites (readLines, newHTTPHandler).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/resources"
)

// subscribeRequest is the part of a JSON-RPC message the refusal needs: resources/subscribe
// (up to 2025-11-25) or subscriptions/listen (2026-07-28).
type subscribeRequest struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		URI           string `json:"uri"`
		Notifications struct {
			ResourceSubscriptions []string `json:"resourceSubscriptions"`
		} `json:"notifications"`
	} `json:"params"`
}

var (
	subscribeMethod = []byte(`"` + string(mcp.MethodResourcesSubscribe) + `"`)
	listenMethod    = []byte(`"` + string(mcp.MethodSubscriptionsListen) + `"`)
)

// subscriptionRefusal returns the JSON-RPC error response (one line, newline-terminated) for msg
// when it is a resources/subscribe, or a subscriptions/listen with resource subscriptions, that
// session's caller may not make; else nil.
func (s *Server) subscriptionRefusal(ctx context.Context, session string, msg []byte) []byte {
	if s.resources == nil || (!bytes.Contains(msg, subscribeMethod) && !bytes.Contains(msg, listenMethod)) {
		return nil
	}
	var req subscribeRequest
	if json.Unmarshal(msg, &req) != nil || len(req.ID) == 0 {
		return nil // not one; mcp-go answers whatever it is
	}
	var err error
	switch {
	case req.Method == string(mcp.MethodResourcesSubscribe) && req.Params.URI != "":
		err = s.resources.CheckSubscribe(ctx, resources.SessionSubscriberID(session), req.Params.URI)
	case req.Method == string(mcp.MethodSubscriptionsListen) && len(req.Params.Notifications.ResourceSubscriptions) > 0:
		err = s.resources.CheckListen(ctx, req.Params.Notifications.ResourceSubscriptions)
	default:
		return nil
	}
	if err == nil || !errors.Is(err, resources.ErrSubscriptionRefused) {
		return nil
	}
	s.log.Info("subscription refused", "method", req.Method, "reason", err)
	return jsonRPCError(req.ID, mcp.INVALID_PARAMS, err.Error())
}

// refuseHTTPSubscriptions answers a refused resources/subscribe posted to /mcp (streamable HTTP:
// the response is the POST's body) or /message (legacy SSE: the POST is accepted and the error
// goes on the session's event stream, as mcp-go's responses do).
func (s *Server) refuseHTTPSubscriptions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		id := sessionID(r)
		var stream *sseTap
		if r.URL.Path == PathMessage {
			if v, ok := s.sseStreams.Load(id); ok {
				stream = v.(*sseTap)
			} else {
				next.ServeHTTP(w, r) // mcp-go answers for an unknown session
				return
			}
		}
		refusal := s.subscriptionRefusal(r.Context(), id, peekBody(r))
		switch {
		case refusal == nil:
			next.ServeHTTP(w, r)
		case stream != nil:
			w.WriteHeader(http.StatusAccepted)
			stream.event(refusal)
		default:
			w.Header().Set("Content-Type", "application/json")
			if bytes.Contains(peekBody(r), listenMethod) {
				w.WriteHeader(http.StatusBadRequest) // 2026-07-28 answers invalid params so (mcp-go does too)
			}
			_, _ = w.Write(refusal)
		}
	})
}

// tapSSEStreams records each legacy SSE stream under its session id (from the endpoint event
// mcp-go sends first), so that refuseHTTPSubscriptions can answer on it.
func (s *Server) tapSSEStreams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		tap := &sseTap{ResponseWriter: w, s: s}
		defer func() {
			if tap.id != "" {
				s.sseStreams.Delete(tap.id)
			}
		}()
		next.ServeHTTP(tap, r)
	})
}

// sseTap passes a legacy SSE stream through, noting its session id.
type sseTap struct {
	http.ResponseWriter
	s  *Server
	mu sync.Mutex
	id string
}

var endpointEvent = []byte("event: endpoint\n")

func (t *sseTap) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.id == "" && bytes.HasPrefix(p, endpointEvent) {
		if _, after, ok := bytes.Cut(p, []byte("sessionId=")); ok {
			end := bytes.IndexAny(after, "&\r\n")
			if end < 0 {
				end = len(after)
			}
			t.id = string(after[:end])
			t.s.sseStreams.Store(t.id, t)
		}
	}
	return t.ResponseWriter.Write(p)
}

// event writes one JSON-RPC message as an SSE event, between mcp-go's (each is one Write).
func (t *sseTap) event(msg []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := t.ResponseWriter.Write(sseMessage(msg)); err == nil {
		_ = http.NewResponseController(t.ResponseWriter).Flush()
	}
}

// Flush keeps the stream streaming.
func (t *sseTap) Flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = http.NewResponseController(t.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (t *sseTap) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// stdioSession is the session id of the stdio stream (stdio.go's stdioClient).
const stdioSession = "stdio"

// refusedSubscription answers, on stdio, a resources/subscribe line that must be refused
// (readLines then drops it).
func (s *Server) refusedSubscription(line []byte, out *stdioOut) bool {
	refusal := s.subscriptionRefusal(context.Background(), stdioSession, line)
	if refusal == nil {
		return false
	}
	_, _ = out.Write(refusal)
	return true
}
