package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
)

// clientError is a failure to build the API client (no token, bad base URL).
type clientError struct{ err error }

func (e *clientError) Error() string {
	return "the Hugging Face client is not configured: " + e.err.Error()
}
func (e *clientError) Unwrap() error { return e.err }

// errorResult turns a handler error into an isError result the model can act
// on. hfapi errors already carry the operation and, where clear, the next step.
func errorResult(tool string, err error) *mcp.CallToolResult {
	return mcp.NewToolResultError(errorMessage(tool, err))
}

func errorMessage(tool string, err error) string {
	var argErr *ArgumentError
	switch {
	case errors.As(err, &argErr):
		argErr.Tool = tool
		return argErr.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s timed out: %v — the endpoint or API did not answer in time; check it with get_endpoint and retry", tool, err)
	case errors.Is(err, context.Canceled):
		return tool + " was cancelled before it finished"
	}
	return tool + " failed: " + err.Error()
}

// nextStep is an error for the model whose message ends with what to do next.
type nextStep struct {
	msg, next string
}

func (e *nextStep) Error() string { return e.msg + " — " + e.next }

func errNext(next, format string, args ...any) error {
	return &nextStep{msg: fmt.Sprintf(format, args...), next: next}
}
