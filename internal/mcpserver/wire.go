package mcpserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/httpsec"
)

// Everything the server sends a client passes through outbound, on every
// transport: stdio's output (stdioOut), and every HTTP response and event
// stream (wireWriter). It restores exact request ids (mcpgo_float_ids.go) and
// scrubs secrets: the HF tokens of the server and its callers, the auth token,
// anything shaped like an HF token, as is or encoded (package scrub). mcp-go
// writes each message in one Write, so a message is scrubbed whole.
func (s *Server) outbound(p []byte) []byte {
	return s.secrets.Bytes(restoreExactIDs(p))
}

// maxStdioLine bounds one JSON-RPC message on stdio. A longer line is skipped
// (never held in memory) and answered with an error; the stream goes on.
const maxStdioLine = 4 << 20

// stdioOut serialises whole messages onto stdio's output and passes each
// through outbound.
type stdioOut struct {
	mu sync.Mutex
	w  io.Writer
	s  *Server
}

func (o *stdioOut) Write(p []byte) (int, error) {
	out := o.s.outbound(p)
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := o.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// refuse writes a JSON-RPC error answering the request with the given raw
// id (nil: no particular request).
func (o *stdioOut) refuse(id json.RawMessage, code int, msg string) {
	if line := jsonRPCError(id, code, msg); line != nil {
		_, _ = o.Write(line)
	}
}

// jsonRPCError is a JSON-RPC error response, newline-terminated, answering the
// request with the given raw id (nil: no particular request); nil if it cannot
// be encoded.
func jsonRPCError(id json.RawMessage, code int, msg string) []byte {
	if id == nil {
		id = json.RawMessage("null")
	}
	line, err := json.Marshal(struct {
		JSONRPC string                  `json:"jsonrpc"`
		ID      json.RawMessage         `json:"id"`
		Error   mcp.JSONRPCErrorDetails `json:"error"`
	}{mcp.JSONRPC_VERSION, id, mcp.NewJSONRPCErrorDetails(code, msg, nil)})
	if err != nil {
		return nil
	}
	return append(line, '\n')
}

// tooLongMessage is the error for a stdio line over maxStdioLine.
var tooLongMessage = fmt.Sprintf("Invalid Request: message larger than %d MiB; it was skipped. "+
	"Send smaller requests (one JSON-RPC message per line).", maxStdioLine>>20)

// wireWriter passes every HTTP response and event through outbound.
type wireWriter struct {
	http.ResponseWriter
	s *Server
}

func (w *wireWriter) Write(p []byte) (int, error) {
	if _, err := w.ResponseWriter.Write(w.s.outbound(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush keeps the response streamable.
func (w *wireWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the connection (write deadlines).
func (w *wireWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// bodyBytes reads r's body, without a copy when httpsec buffered it.
func bodyBytes(r *http.Request) ([]byte, error) {
	if b, ok := r.Body.(*httpsec.BufferedBody); ok {
		return b.Bytes(), nil
	}
	return io.ReadAll(r.Body)
}

// onTheWire wraps the HTTP transports: request ids are made exact on the way
// in, and every response goes through outbound.
func (s *Server) onTheWire(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Body != nil {
			body, err := bodyBytes(r)
			if err != nil {
				http.Error(w, "reading the request body: "+err.Error(), http.StatusBadRequest)
				return
			}
			if fixed := exactIDs(body); len(body) > 0 && &fixed[0] != &body[0] {
				body = fixed
				r.ContentLength = int64(len(body))
				r.Header.Del("Content-Length")
			}
			r.Body = httpsec.NewBufferedBody(body) // read again without a copy (peekBody)
		}
		next.ServeHTTP(&wireWriter{ResponseWriter: w, s: s}, r)
	})
}

// sseMessage frames one JSON-RPC message (a trailing newline is dropped) as an SSE event, as mcp-go
// writes its own.
func sseMessage(msg []byte) []byte {
	msg = bytes.TrimRight(msg, "\n")
	ev := make([]byte, 0, len(msg)+len("event: message\ndata: \n\n"))
	return append(append(append(ev, "event: message\ndata: "...), msg...), "\n\n"...)
}
