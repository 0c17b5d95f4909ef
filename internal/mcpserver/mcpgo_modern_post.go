package mcpserver

// Workaround for mcp-go v1.2.1: its streamable HTTP transport spends ~60 µs more on a 2026-07-28
// POST than on a 2025-11-25 one, none of it needed for an ordinary request: handlePost decodes the
// whole body to find the protocol era (detectRequestEra); HandleMessage decodes it again for the
// header check (validateStandardHeadersForMessage), which for tools/call re-marshals the tool's
// input schema on every call (mcp.ValidateParamHeadersLookup); each request gets a session whose
// channels alone are 9.4 KiB, a goroutine forwarding its notifications, and the answer is encoded
// twice. Our own wrappers for the era's defects (completeModernNotification,
// trackProgressDelivery, correctHTTPErrorCodes) add more.
//
// serveModernPosts serves an ordinary 2026-07-28 request itself, through mcp-go's HandleMessage
// as the transport would, and hands everything else to the transport unchanged, so every error
// and edge case keeps mcp-go's answer. It is as strict as handlePost, validateModernRequest and
// HandleMessage's header check together, never looser; what it cannot read exactly as they do
// (a key in another case, a duplicate key, an escaped method) it leaves to them.
//
// What differs, by construction: mcp-go's request handlers see no HTTP headers on the request
// (request.Header, and a request logger's or tracer's protocol-version attribute) because the
// context key that carries them is unexported; nothing of this server reads them. A session
// cannot be asked for elicitation, sampling or roots, which 2026-07-28 replaced by multi round-
// trip requests: mcp-go refuses those server requests in that era unless the server opts in
// (server.WithLegacyServerInitiatedRequests, which this server does not), and its own POST
// session would queue them where nothing reads them.
//
// It can go when mcp-go's own 2026-07-28 POST costs about what a 2025-11-25 one does:
// BenchmarkGetEndpointOverhead/http-2026-07-28-mcpgo (this path off) within ~20 µs of
// http-2025-11-25. TestModernPostsAnswerAsMCPGoDoes shows what the two paths must agree on.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// modernNotificationBuffer is how many notifications of one request may wait to be written, as
// in mcp-go's POST sessions (beyond it mcp-go drops one and reports it to the error hooks).
const modernNotificationBuffer = 100

// modernPosts serves ordinary 2026-07-28 POSTs; next (the transport) serves the rest.
type modernPosts struct {
	s         *Server
	next      http.Handler
	supports  func(version string) bool // the transport's SupportsProtocolVersion
	versions  []string                  // the versions it serves, newest first
	checkHost bool                      // mcp-go's DNS-rebinding check is on
	bindings  headerBindings
	served    atomic.Int64 // requests answered here (tests)
}

// serveModernPosts puts the fast path in front of next, the streamable transport's chain.
func (s *Server) serveModernPosts(streamable *server.StreamableHTTPServer, next http.Handler) http.Handler {
	if s.modernPostsOff {
		return next
	}
	s.modernPosts = &modernPosts{s: s, next: next, supports: streamable.SupportsProtocolVersion,
		versions: server.FilterSupportedVersions(streamable), checkHost: !s.localhostProtectionOff(),
		bindings: headerBindings{tools: map[string]toolBindings{}}}
	return s.modernPosts
}

func (m *modernPosts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := m.ordinary(r)
	if !ok {
		m.next.ServeHTTP(w, r)
		return
	}
	m.served.Add(1)
	m.serve(w, r, body)
}

// ordinary returns the body of r when r is an ordinary 2026-07-28 request, one mcp-go's
// transport would hand to HandleMessage as it is, with headers that pass its check.
func (m *modernPosts) ordinary(r *http.Request) ([]byte, bool) {
	version := r.Header.Get(mcp.HeaderProtocolVersion)
	if r.Method != http.MethodPost || !mcp.IsModernProtocol(version) || !m.supports(version) ||
		r.Header.Get(mcp.HeaderLastEventID) != "" ||
		r.Header.Get(server.HeaderKeySessionID) != "" || // keepStreamsAlive counts the session named
		!m.hostAllowed(r) {
		return nil, false
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" { // what clients send; else parse it as mcp-go does
		if mediaType, _, err := mime.ParseMediaType(ct); err != nil || mediaType != "application/json" {
			return nil, false
		}
	}
	body, ok := r.Body.(interface{ Bytes() []byte }) // onTheWire buffered it
	if !ok || !json.Valid(body.Bytes()) {
		return nil, false
	}
	msg := body.Bytes()
	top, ok := peekExact(msg, "jsonrpc", "id", "method", "params", "result", "error")
	if !ok || string(top[0]) != `"2.0"` || !plainID(top[1]) || top[4] != nil || top[5] != nil {
		return nil, false
	}
	method, ok := plainString(top[2])
	if !ok || method == "" || method == string(mcp.MethodInitialize) ||
		method == string(mcp.MethodSubscriptionsListen) || strings.HasPrefix(method, "notifications/") {
		return nil, false
	}
	params := top[3]
	if len(params) == 0 || params[0] != '{' {
		return nil, false
	}
	meta, ok := peekExact(params, "_meta")
	if !ok || len(meta[0]) == 0 || meta[0][0] != '{' {
		return nil, false
	}
	declared, ok := peekExact(meta[0], mcp.MetaKeyProtocolVersion)
	if !ok {
		return nil, false
	}
	if v, isString := plainString(declared[0]); !isString || v != version {
		return nil, false
	}
	if !standardHeadersMatch(r.Header, version, mcp.MCPMethod(method), params) {
		return nil, false
	}
	return msg, method != string(mcp.MethodToolsCall) || m.paramHeadersMatch(r.Header, params)
}

// standardHeadersMatch is mcp.ValidateStandardHeaders(...) == nil, without decoding params when
// it can read the name they carry exactly (peekExact).
func standardHeadersMatch(h http.Header, version string, method mcp.MCPMethod, params []byte) bool {
	if h.Get(mcp.HeaderMethod) != string(method) { // method is not empty
		return false
	}
	if !mcp.MethodRequiresNameHeader(method) {
		return true
	}
	member := "" // what mcp.ExtractHeaderName reads
	switch method {
	case mcp.MethodToolsCall, mcp.MethodPromptsGet:
		member = "name"
	case mcp.MethodResourcesRead:
		member = "uri"
	}
	if header := h.Get(mcp.HeaderName); member != "" && header != "" {
		if v, ok := peekExact(params, member); ok {
			if name, ok := plainString(v[0]); ok {
				decoded, ok := mcp.DecodeHeaderValue(header)
				return ok && decoded == name
			}
		}
	}
	return mcp.ValidateStandardHeaders(h.Get, version, method, params) == nil
}

// paramHeadersMatch checks a tools/call's Mcp-Param-* headers as HandleMessage would, for a
// tool that declares any; false for a tool the server does not have (mcp-go answers that).
func (m *modernPosts) paramHeadersMatch(h http.Header, params json.RawMessage) bool {
	name, ok := mcp.DecodeHeaderValue(h.Get(mcp.HeaderName)) // the body's, ValidateStandardHeaders checked
	if !ok {
		return false
	}
	tool := m.s.mcp.GetTool(name)
	if tool == nil && m.s.RegisterTools() == nil { // the first call may come before tools/list
		tool = m.s.mcp.GetTool(name)
	}
	if tool == nil {
		return false
	}
	if !m.bindings.declared(&tool.Tool) {
		return true
	}
	return mcp.ValidateParamHeadersLookup(func(name string) (string, bool) {
		values := h.Values(name)
		if len(values) == 0 {
			return "", false
		}
		return values[0], true
	}, &tool.Tool, params) == nil
}

// hostAllowed is mcp-go's DNS-rebinding check (server/http_localhost.go), when it is on: a
// request on a loopback connection must name a loopback Host.
func (m *modernPosts) hostAllowed(r *http.Request) bool {
	if !m.checkHost {
		return true
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || local == nil {
		return true
	}
	return !loopbackHost(local.String()) || loopbackHost(r.Host)
}

// loopbackHost is mcp-go's isLoopbackHost: addr (host or host:port) names a loopback interface.
func loopbackHost(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = strings.Trim(addr, "[]")
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// plainID reports whether raw is an id read the same by everyone: a plain string or an integer.
func plainID(raw []byte) bool {
	if _, ok := plainString(raw); ok {
		return true
	}
	if len(raw) == 0 || len(raw) > 16 { // beyond 2^53 a float64 id loses digits (mcpgo_float_ids.go)
		return false
	}
	for i, c := range raw {
		if (c < '0' || c > '9') && (i > 0 || c != '-') {
			return false
		}
	}
	return raw[len(raw)-1] != '-'
}

// plainString returns the JSON string raw holds when it has neither escapes nor non-ASCII bytes.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || !plainASCII(raw[1:len(raw)-1]) {
		return "", false
	}
	return string(raw[1 : len(raw)-1]), true
}

// headerBindings remembers which tools declare x-mcp-header bindings, by tool name and the raw
// input schema it was read from, so that a call reads a schema only when it is new or changed
// (mcp-go re-marshals it on every call).
type headerBindings struct {
	mu    sync.RWMutex
	tools map[string]toolBindings
}

type toolBindings struct {
	schema   json.RawMessage
	declared bool
}

// declared reports whether tool declares any x-mcp-header binding.
func (b *headerBindings) declared(tool *mcp.Tool) bool {
	if len(tool.RawInputSchema) == 0 { // a structured schema has no cheap identity: read it, as mcp-go does
		return len(mcp.ExtractParamHeaderBindings(tool)) > 0
	}
	b.mu.RLock()
	known, ok := b.tools[tool.Name]
	b.mu.RUnlock()
	if ok && bytes.Equal(known.schema, tool.RawInputSchema) { // the same bytes: no comparison at all
		return known.declared
	}
	declared := len(mcp.ExtractParamHeaderBindings(tool)) > 0
	b.mu.Lock()
	b.tools[tool.Name] = toolBindings{schema: tool.RawInputSchema, declared: declared}
	b.mu.Unlock()
	return declared
}

// serve answers an ordinary request as mcp-go's handlePost does for 2026-07-28: its
// notifications as SSE events on the response (the response turns into an event stream with
// the first), then the result, as the last event or as a JSON body with the era's HTTP status.
func (m *modernPosts) serve(w http.ResponseWriter, r *http.Request, body []byte) {
	call := &modernCall{s: m.s, w: w, done: r.Context().Done()}
	ctx := m.s.mcp.WithContext(r.Context(), call)
	ctx = server.WithSupportedProtocolVersions(ctx, m.versions)
	defer call.stopForwarding() // whatever happens (a panic unwinds to net/http), nothing writes after ServeHTTP
	resp := m.s.mcp.HandleMessage(ctx, body)
	call.finish(r.Context(), resp)
}

// modernCall is one request on the fast path: the session mcp-go serves it with, and its
// response. Notifications are forwarded by a goroutine started with the first (most calls
// send none); the result waits until it has written what it took and is written after
// whatever is still queued, so no notification the call sent is lost or follows its result.
type modernCall struct {
	clientState
	s    *Server
	w    http.ResponseWriter
	done <-chan struct{} // the client went away

	upgrade atomic.Bool // a notification was sent: mcp-go answers with an event stream then

	mu       sync.Mutex // guards the fields below
	queue    chan mcp.JSONRPCNotification
	finished bool          // the result is being written: nothing is forwarded any more
	stop     chan struct{} // closed to stop the forwarder
	stopped  chan struct{} // closed by the forwarder as it returns

	streaming bool // the event stream's headers are written (by the forwarder, then by finish)
}

var (
	_ server.ClientSession                   = (*modernCall)(nil)
	_ server.SessionWithClientInfo           = (*modernCall)(nil)
	_ server.SessionWithStreamableHTTPConfig = (*modernCall)(nil)
)

// SessionID is empty: a 2026-07-28 request has no session (mcp-go's are the same).
func (c *modernCall) SessionID() string { return "" }

// TransportName names the transport in audit lines, as mcp-go's sessions are named there.
func (c *modernCall) TransportName() string { return "streamable-http" }

// Initialize does nothing: the request carries what initialize would have said.
func (c *modernCall) Initialize() {}

// Initialized is true: 2026-07-28 has no initialize.
func (c *modernCall) Initialized() bool { return true }

// UpgradeToSSEWhenReceiveNotification records that a notification was sent (mcp-go calls it
// before each), which makes the result an event too.
func (c *modernCall) UpgradeToSSEWhenReceiveNotification() { c.upgrade.Store(true) }

// NotificationChannel is where mcp-go queues the request's notifications; the first call
// starts the goroutine that writes them.
func (c *modernCall) NotificationChannel() chan<- mcp.JSONRPCNotification {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.queue == nil {
		c.queue = make(chan mcp.JSONRPCNotification, modernNotificationBuffer)
		if !c.finished { // sent after the result: kept nowhere, as mcp-go does
			c.stop, c.stopped = make(chan struct{}), make(chan struct{})
			go c.forward(c.queue, c.stop, c.stopped)
		}
	}
	return c.queue
}

// forward writes queued notifications until stopped or the client goes.
func (c *modernCall) forward(queue <-chan mcp.JSONRPCNotification, stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	defer func() {
		if r := recover(); r != nil {
			c.s.log.Error("panic in notification forwarder", "panic", r)
		}
	}()
	for {
		select {
		case n := <-queue:
			c.event(n, "Failed to write SSE event")
		case <-stop:
			return
		case <-c.done:
			return
		}
	}
}

// finish writes what the request queued and then its result, unless the client went away.
func (c *modernCall) finish(ctx context.Context, resp mcp.JSONRPCMessage) {
	queue := c.stopForwarding()
	for drained := queue == nil; !drained; {
		select {
		case n := <-queue:
			c.event(n, "Failed to write SSE event during drain")
		default:
			drained = true
		}
	}
	switch {
	case resp == nil: // not for a request; as mcp-go answers a notification
		if !c.streaming {
			c.w.WriteHeader(http.StatusAccepted)
		}
	case ctx.Err() != nil: // the client is gone
	case c.upgrade.Load() || c.streaming:
		c.event(resp, "Failed to write final SSE response event")
	default:
		status := http.StatusOK
		if e, ok := resp.(mcp.JSONRPCError); ok {
			status = httpStatusForJSONRPCError(e.Error.Code)
		}
		c.w.Header().Set("Content-Type", "application/json")
		c.w.WriteHeader(status)
		out, err := encodeResponse(resp)
		if err != nil {
			c.s.log.Error("Failed to write response", "err", err)
			return
		}
		c.write(out)
	}
}

// stopForwarding ends forwarding: no forwarder starts any more, and one that runs has returned
// (it may finish writing what it took). It returns the queue, with what is left to write.
func (c *modernCall) stopForwarding() chan mcp.JSONRPCNotification {
	c.mu.Lock()
	c.finished = true
	queue, stop, stopped := c.queue, c.stop, c.stopped
	c.stop = nil
	c.mu.Unlock()
	if stop != nil {
		close(stop)
		<-stopped
	}
	return queue
}

// event writes msg as an SSE event, as mcp-go's writeSSEEvent does, turning the response into
// an event stream first, and flushes it.
func (c *modernCall) event(msg mcp.JSONRPCMessage, failure string) {
	select {
	case <-c.done: // the client is gone, or a write to it timed out (boundPostWrites): nothing reaches it
		return
	default:
	}
	if !c.streaming {
		h := c.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Connection", "keep-alive")
		h.Set("Cache-Control", "no-cache")
		c.w.WriteHeader(http.StatusOK)
		c.streaming = true
	}
	defer func() { _ = http.NewResponseController(c.w).Flush() }()
	raw, err := encodeResponse(msg) // json.Marshal's bytes, and a newline
	if err != nil {
		c.s.log.Error(failure, "err", fmt.Errorf("failed to marshal data: %w", err))
		return
	}
	if err := c.write(sseMessage(raw)); err != nil {
		c.s.log.Error(failure, "err", fmt.Errorf("failed to write SSE event: %w", err))
	}
}

// write writes one message with its error codes corrected (mcpgo_error_codes.go); onTheWire's
// writer, outside, scrubs it.
func (c *modernCall) write(p []byte) error {
	_, err := c.w.Write(correctErrorCodes(p))
	return err
}

// httpStatusForJSONRPCError is mcp-go's mapping of a JSON-RPC error code to the HTTP status
// protocol version 2026-07-28 prescribes for it (server/streamable_http_modern.go).
func httpStatusForJSONRPCError(code int) int {
	switch code {
	case mcp.METHOD_NOT_FOUND:
		return http.StatusNotFound
	case mcp.HEADER_MISMATCH,
		mcp.MISSING_REQUIRED_CLIENT_CAPABILITY,
		mcp.UNSUPPORTED_PROTOCOL_VERSION,
		mcp.INVALID_REQUEST,
		mcp.INVALID_PARAMS,
		mcp.PARSE_ERROR:
		return http.StatusBadRequest
	default:
		return http.StatusOK
	}
}
