package mcpserver

// Workaround for mcp-go v1.2.1: every error that a resource, prompt or completion handler
// returns is answered with -32603 (internal error), because server/handler_errors.go's
// handlerError keeps a handler's own code only for URL elicitations. MCP asks for -32002 for a
// resource that does not exist (-32602 from protocol 2026-07-28 on, as mcp-go's own
// resourceNotFoundCode does for a URI no handler matches) and -32602 for bad parameters.
//
// Handlers mark such errors: server.ErrResourceNotFound ("resource not found: …") and
// prompts.ErrInvalidParams ("invalid params: …"). The transports' writers then correct the code
// of an error response whose message starts with a mark. Both corrected codes have as many
// digits as -32603, so a message keeps its length (and any Content-Length stays true).
//
// It can go when handlerError honours a code carried by the error (for example an error with a
// JSONRPCError or ToJSONRPCError method, as it does for URL elicitations): check
// server/handler_errors.go in a newer mcp-go, then delete this file, its calls in stdio.go's
// serve and newHTTPHandler, and markModernResourceErrors.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/prompts"
)

// internalErrorPrefix is how mcp-go encodes a handler's error, up to its message.
var internalErrorPrefix = []byte(`"error":{"code":-32603,"message":"`)

// codeOffset is where the code's digits start in internalErrorPrefix.
var codeOffset = len(`"error":{"code":`)

// errorCodeMarks are the message prefixes that name a code, and the code.
var errorCodeMarks = []struct {
	prefix []byte
	code   []byte
}{
	{[]byte(server.ErrResourceNotFound.Error()), []byte("-32002")},
	{[]byte(prompts.ErrInvalidParams.Error()), []byte("-32602")},
}

// correctErrorCodes returns msg with the code of each marked error corrected; msg itself when
// there is none (the common case costs one search).
func correctErrorCodes(msg []byte) []byte {
	out, copied := msg, false
	for off := 0; ; {
		i := bytes.Index(out[off:], internalErrorPrefix)
		if i < 0 {
			return out
		}
		i += off
		rest := out[i+len(internalErrorPrefix):]
		for _, m := range errorCodeMarks {
			if bytes.HasPrefix(rest, m.prefix) {
				if !copied {
					out, copied = bytes.Clone(msg), true // never change the caller's buffer
				}
				copy(out[i+codeOffset:], m.code)
				break
			}
		}
		off = i + len(internalErrorPrefix)
	}
}

// correctHTTPErrorCodes wraps an mcp-go transport's responses (JSON bodies and SSE streams).
func correctHTTPErrorCodes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&errorCodeResponseWriter{ResponseWriter: w}, r)
	})
}

type errorCodeResponseWriter struct{ http.ResponseWriter }

func (e *errorCodeResponseWriter) Write(p []byte) (int, error) {
	if _, err := e.ResponseWriter.Write(correctErrorCodes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (e *errorCodeResponseWriter) Flush() { _ = http.NewResponseController(e.ResponseWriter).Flush() }

func (e *errorCodeResponseWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// markModernResourceErrors makes an unknown resource invalid params for 2026-07-28 clients, whose
// revision answers it so; earlier ones keep the resource-not-found mark (-32002).
func markModernResourceErrors(next server.ResourceHandlerFunc) server.ResourceHandlerFunc {
	return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		contents, err := next(ctx, req)
		if err != nil && errors.Is(err, server.ErrResourceNotFound) && mcp.IsModernProtocol(server.RequestProtocolVersion(ctx)) {
			return nil, fmt.Errorf("%w: %w", prompts.ErrInvalidParams, err)
		}
		return contents, err
	}
}
