package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Stdio is served by our own loop around mcp-go's MCPServer.HandleMessage rather than by mcp-go's
// StdioServer, which hands every line across three goroutines (a reader per line, the read loop,
// a pool of workers) and parses it up to five times: each hand-off is a scheduler wake-up, 10-20 µs
// on a small machine. Here one goroutine reads lines; each request is handed to a goroutine of its
// own at once (it may block: a hung upstream, subscriptions/listen), so ping and
// notifications/cancelled are always read; notifications and responses to the server's own
// requests are handled as they are read. The call caps (calls.go) bound the calls; nothing queues.

// stdioConn is one stdio stream being served.
type stdioConn struct {
	s       *Server
	out     *stdioOut
	session *stdioClient

	mu       sync.Mutex // guards stopped and handlers.Add
	stopped  bool
	handlers sync.WaitGroup // running requests

	idle      chan stdioWork // to a goroutine waiting for its next request (work)
	idleCount atomic.Int32
	quit      chan struct{} // closed once the last request is answered
}

// ServeStdio serves one client over in/out (newline-delimited JSON-RPC) until
// in ends or ctx is cancelled; then it cancels the requests still running and
// waits for them. Nothing but JSON-RPC is written to out. The stdio session
// has one id, so serve one stream at a time.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	o := &stdioOut{w: out, s: s}
	c := &stdioConn{s: s, out: o, session: newStdioClient(o), idle: make(chan stdioWork), quit: make(chan struct{})}
	if err := s.mcp.RegisterSession(ctx, c.session); err != nil {
		return fmt.Errorf("mcpserver: serving stdio: %w", err)
	}
	defer s.mcp.UnregisterSession(context.WithoutCancel(ctx), c.session.SessionID())
	ctx, cancel := context.WithCancel(s.mcp.WithContext(ctx, c.session))
	defer cancel()
	s.log.Info("serving MCP over stdio", append([]any{"tools", len(s.tools)}, s.opts.StartAttrs...)...)

	notified := make(chan struct{})
	go func() {
		defer close(notified)
		c.writeNotifications()
	}()
	read := make(chan error, 1) // the reader may outlive ServeStdio, blocked on in
	go func() { read <- c.readLines(ctx, in) }()

	var err error
	select {
	case err = <-read:
	case <-ctx.Done():
	}
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	cancel()
	c.handlers.Wait()
	close(c.quit)
	<-notified
	return err
}

// readLines reads in line by line and dispatches each message. A line longer than
// maxStdioLine is skipped without being held in memory and answered with an
// error; the stream goes on. It returns nil when in ends, or the read error.
func (c *stdioConn) readLines(ctx context.Context, in io.Reader) error {
	br := bufio.NewReaderSize(in, 64<<10)
	var line []byte
	skipping := false
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case skipping:
		case len(line)+len(chunk) > maxStdioLine:
			skipping, line = true, nil
		default:
			line = append(line, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if c.isStopped() {
			return nil
		}
		if skipping {
			c.s.log.Warn("skipped a stdio message over the size limit", "limit_bytes", maxStdioLine)
			c.out.refuse(nil, mcp.INVALID_REQUEST, tooLongMessage)
			skipping = false
		} else if len(bytes.TrimSpace(line)) > 0 && !c.s.refusedSubscription(line, c.out) {
			c.dispatch(ctx, exactIDs(line))
			line = nil // a request keeps its line; the next one gets a new buffer
		}
		if cap(line) > 1<<20 {
			line = nil // do not keep a large buffer for small messages
		}
		line = line[:0]
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func (c *stdioConn) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// stdioMessage is what the reader needs to know of a message to route it:
// its top-level members as written (nil when absent; an id of null is none).
type stdioMessage struct {
	id, method, result, err json.RawMessage
}

// readStdioMessage peeks at msg's top level (peek.go), or decodes it when it
// cannot; false if msg is not a JSON object.
func readStdioMessage(msg []byte) (stdioMessage, bool) {
	var m stdioMessage
	if v, ok := peekMembers(msg, "id", "method", "result", "error"); ok {
		m = stdioMessage{id: v[0], method: v[1], result: v[2], err: v[3]}
	} else {
		var whole struct {
			ID     json.RawMessage `json:"id"`
			Method json.RawMessage `json:"method"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if json.Unmarshal(msg, &whole) != nil {
			return m, false
		}
		m = stdioMessage{id: whole.ID, method: whole.Method, result: whole.Result, err: whole.Error}
	}
	if string(m.id) == "null" {
		m.id = nil
	}
	return m, true
}

// is reports whether the message's method is method.
func (m stdioMessage) is(method mcp.MCPMethod) bool {
	if len(m.method) != len(method)+2 { // quoted, no escapes
		var name string
		return json.Unmarshal(m.method, &name) == nil && name == string(method)
	}
	return string(m.method[1:len(m.method)-1]) == string(method)
}

// dispatch routes one message: a response to the server's own request goes to
// the call waiting for it, a request runs on a goroutine of its own, anything
// else (notifications, unparsable lines) is served here. So is initialize,
// which never blocks, so that the requests sent right behind it find the
// session initialized.
func (c *stdioConn) dispatch(ctx context.Context, line []byte) {
	msg, ok := readStdioMessage(line)
	if !ok {
		c.serve(ctx, nil, line) // mcp-go answers the parse error
		return
	}
	switch hasID := msg.id != nil; {
	case hasID && msg.method == nil && (msg.result != nil || msg.err != nil):
		if !c.session.deliver(msg.id, msg.result, msg.err) {
			c.s.log.Debug("ignored a stdio response to no pending request", "id", string(msg.id))
		}
	case hasID && !msg.is(mcp.MethodInitialize):
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.stopped {
			return
		}
		c.handlers.Add(1)
		w := stdioWork{id: msg.id, line: line}
		select {
		case c.idle <- w: // a goroutine that served a request before
		default:
			go c.work(ctx, w)
		}
	default:
		c.serve(ctx, msg.id, line)
	}
}

// stdioWork is a request for a goroutine to serve.
type stdioWork struct {
	id   json.RawMessage
	line []byte
}

// stdioIdleServers is how many goroutines wait for a next request once theirs
// is answered. A new goroutine's stack starts small and is grown (copied) as
// mcp-go and the tools go deep, which costs more than the hand-off; one that
// served before has its stack grown already.
const stdioIdleServers = 4

// work serves w and then, while no more than stdioIdleServers wait, the
// requests dispatch hands to it.
func (c *stdioConn) work(ctx context.Context, w stdioWork) {
	for {
		c.serve(ctx, w.id, w.line)
		c.handlers.Done()
		if c.idleCount.Add(1) > stdioIdleServers {
			c.idleCount.Add(-1)
			return
		}
		select {
		case w = <-c.idle:
			c.idleCount.Add(-1)
		case <-c.quit:
			return
		}
	}
}

// serve handles one message and writes its response, if it has one. A
// panicking handler answers INTERNAL_ERROR with the request's id (nil: a
// notification, which gets no answer).
func (c *stdioConn) serve(ctx context.Context, id json.RawMessage, line []byte) {
	defer func() {
		if r := recover(); r != nil {
			msg := c.s.secrets.String(fmt.Sprintf("internal panic: %v", r))
			c.s.log.Error("a stdio message handler panicked", "err", msg)
			if id != nil {
				c.out.refuse(id, mcp.INTERNAL_ERROR, msg)
			}
		}
	}()
	resp := c.s.mcp.HandleMessage(ctx, line)
	if resp == nil {
		return
	}
	line, err := encodeResponse(resp)
	if err != nil {
		c.s.log.Error("encoding a stdio response failed", "err", err)
		c.out.refuse(id, mcp.INTERNAL_ERROR, "encoding the response failed: "+err.Error())
		return
	}
	// Error codes as the protocol wants them (mcpgo_error_codes.go).
	if _, err := c.out.Write(correctErrorCodes(line)); err != nil {
		c.s.log.Debug("writing a stdio response failed", "err", err)
	}
}

// responseHead starts a JSON-RPC response, up to its id.
var responseHead = []byte(`{"jsonrpc":"` + mcp.JSONRPC_VERSION + `","id":`)

// encodeResponse is resp as one newline-terminated line, as json.Marshal
// writes it. A tool result, the common answer, is put in the envelope as its
// own MarshalJSON writes it (appendToolResult): json.Marshal would check and
// copy those bytes again, which is most of what it spends on a response.
func encodeResponse(resp mcp.JSONRPCMessage) ([]byte, error) {
	r, ok := resp.(mcp.JSONRPCResponse)
	tool, isTool := r.Result.(*mcp.CallToolResult)
	if !ok || !isTool || tool == nil {
		line, err := json.Marshal(resp)
		return append(line, '\n'), err
	}
	id, err := r.ID.MarshalJSON()
	if err != nil {
		return nil, err
	}
	line := make([]byte, 0, 512+len(tool.RawStructuredContent))
	line = append(append(line, responseHead...), id...)
	line, err = appendToolResult(append(line, `,"result":`...), tool)
	if err != nil {
		return nil, err
	}
	return append(line, '}', '\n'), nil
}

// writeNotifications writes the session's notifications until the stream
// ends, then what is left of them.
func (c *stdioConn) writeNotifications() {
	for {
		select {
		case n := <-c.session.notifications:
			c.writeNotification(n)
		case <-c.quit:
			for {
				select {
				case n := <-c.session.notifications:
					c.writeNotification(n)
				default:
					return
				}
			}
		}
	}
}

func (c *stdioConn) writeNotification(n mcp.JSONRPCNotification) {
	raw, err := json.Marshal(n)
	if err == nil {
		_, err = c.out.Write(append(raw, '\n'))
	}
	c.session.progress.written(n) // its call's result may go now (progress_order.go)
	if err != nil {
		c.s.log.Debug("writing a stdio notification failed", "method", n.Method, "err", err)
	}
}

// stdioNotificationBuffer is how many notifications may wait to be written
// (mcp-go drops one beyond it and reports it to the error hooks).
const stdioNotificationBuffer = 100

// stdioClient is the session of a stdio stream. Its requests to the client
// (elicitation, sampling, roots) are written to the stream and answered by
// responses the reader routes back to them (deliver).
type stdioClient struct {
	out           *stdioOut
	notifications chan mcp.JSONRPCNotification
	progress      stdioProgress // the calls waiting for their progress to be written

	clientState // what the client said it is and can do

	mu          sync.Mutex
	initialized bool
	logLevel    mcp.LoggingLevel
	version     string
	lastID      int64
	waiting     map[int64]chan stdioReply // the server's requests awaiting an answer, by id
}

// stdioReply is the client's answer to one of the server's requests.
type stdioReply struct {
	result json.RawMessage
	err    *mcp.JSONRPCErrorDetails
}

var (
	_ server.SessionWithLogging         = (*stdioClient)(nil)
	_ server.SessionWithClientInfo      = (*stdioClient)(nil)
	_ server.SessionWithProtocolVersion = (*stdioClient)(nil)
	_ server.SessionWithElicitation     = (*stdioClient)(nil)
	_ server.SessionWithSampling        = (*stdioClient)(nil)
	_ server.SessionWithRoots           = (*stdioClient)(nil)
)

func newStdioClient(out *stdioOut) *stdioClient {
	return &stdioClient{out: out, notifications: make(chan mcp.JSONRPCNotification, stdioNotificationBuffer),
		logLevel: mcp.LoggingLevelError, waiting: map[int64]chan stdioReply{}}
}

// SessionID is stdioSession: one stdio stream is served at a time.
func (c *stdioClient) SessionID() string { return stdioSession }

// TransportName names the transport in audit lines.
func (c *stdioClient) TransportName() string { return "stdio" }

// NotificationChannel is where mcp-go queues notifications for the client.
func (c *stdioClient) NotificationChannel() chan<- mcp.JSONRPCNotification { return c.notifications }

// Initialize marks the session initialized (mcp-go calls it on initialize).
func (c *stdioClient) Initialize() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.initialized = true
}

// Initialized reports whether the client sent initialize (or a modern request).
func (c *stdioClient) Initialized() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.initialized
}

// SetLogLevel sets the least severe log message sent (logging/setLevel).
func (c *stdioClient) SetLogLevel(level mcp.LoggingLevel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logLevel = level
}

// GetLogLevel is the least severe log message sent; errors until the client asks for more.
func (c *stdioClient) GetLogLevel() mcp.LoggingLevel {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logLevel
}

// clientState is what a client said it is and can do (server.SessionWithClientInfo):
// at initialize, or in a 2026-07-28 request's _meta. Sessions of the server's own embed it.
type clientState struct {
	mu           sync.Mutex
	clientInfo   mcp.Implementation
	capabilities mcp.ClientCapabilities
}

// GetClientInfo is what the client said it is.
func (c *clientState) GetClientInfo() mcp.Implementation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clientInfo
}

// SetClientInfo records what the client says it is.
func (c *clientState) SetClientInfo(info mcp.Implementation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clientInfo = info
}

// GetClientCapabilities is what the client said it can do.
func (c *clientState) GetClientCapabilities() mcp.ClientCapabilities {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.capabilities
}

// SetClientCapabilities records what the client says it can do.
func (c *clientState) SetClientCapabilities(caps mcp.ClientCapabilities) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.capabilities = caps
}

// ProtocolVersion is the version negotiated by initialize ("" before it).
func (c *stdioClient) ProtocolVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// SetProtocolVersion records the version negotiated by initialize.
func (c *stdioClient) SetProtocolVersion(version string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version = version
}

// RequestElicitation asks the client to fill in a form and waits for its answer or ctx.
func (c *stdioClient) RequestElicitation(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	var res mcp.ElicitationResult
	if err := c.request(ctx, mcp.MethodElicitationCreate, req.Params, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// RequestSampling asks the client for a completion and waits for its answer or ctx.
func (c *stdioClient) RequestSampling(ctx context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	var res mcp.CreateMessageResult
	if err := c.request(ctx, mcp.MethodSamplingCreateMessage, req.CreateMessageParams, &res); err != nil {
		return nil, err
	}
	content, err := mcp.ParseSamplingContent(res.Content)
	if err != nil {
		return nil, fmt.Errorf("reading the client's %s answer: %w", mcp.MethodSamplingCreateMessage, err)
	}
	res.Content = content
	return &res, nil
}

// ListRoots asks the client for its roots and waits for its answer or ctx.
func (c *stdioClient) ListRoots(ctx context.Context, _ mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	var res mcp.ListRootsResult
	if err := c.request(ctx, mcp.MethodListRoots, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// request sends the client a request and decodes its result into result; it
// returns the client's error, or ctx's when ctx ends first.
func (c *stdioClient) request(ctx context.Context, method mcp.MCPMethod, params, result any) error {
	reply := make(chan stdioReply, 1)
	c.mu.Lock()
	c.lastID++
	id := c.lastID
	c.waiting[id] = reply
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}()
	line, err := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		ID      int64  `json:"id"`
		Method  string `json:"method"`
		Params  any    `json:"params,omitempty"`
	}{mcp.JSONRPC_VERSION, id, string(method), params})
	if err != nil {
		return fmt.Errorf("encoding the %s request: %w", method, err)
	}
	if _, err := c.out.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("sending the %s request to the client: %w", method, err)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case r := <-reply:
		if r.err != nil {
			return fmt.Errorf("%s request failed: %s", method, r.err.Message)
		}
		if err := json.Unmarshal(r.result, result); err != nil {
			return fmt.Errorf("reading the client's %s answer: %w", method, err)
		}
		return nil
	}
}

// deliver hands a response (its result, or its error object) to the request
// waiting for it; false if none waits (an id the server never sent, or a
// request that gave up).
func (c *stdioClient) deliver(id, result, rpcErr json.RawMessage) bool {
	var n int64
	if json.Unmarshal(id, &n) != nil {
		return false
	}
	c.mu.Lock()
	reply, ok := c.waiting[n]
	delete(c.waiting, n)
	c.mu.Unlock()
	if !ok {
		return false
	}
	r := stdioReply{result: result}
	if rpcErr != nil {
		r.err = &mcp.JSONRPCErrorDetails{}
		if json.Unmarshal(rpcErr, r.err) != nil {
			r.err.Message = "the client answered with an unreadable error: " + string(rpcErr)
		}
	}
	reply <- r
	return true
}
