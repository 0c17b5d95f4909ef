package httpsec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultMaxBodyBytes is the default request body limit: JSON-RPC messages are small.
const DefaultMaxBodyBytes = 1 << 20

// DefaultBodyReadTimeout bounds how long a client may take to send a request body.
const DefaultBodyReadTimeout = 30 * time.Second

// LimitBody returns middleware that answers 413 to requests whose body exceeds max bytes (≤0 means
// DefaultMaxBodyBytes). A declared Content-Length over the limit is refused before anything is read.
// Other bodies (including chunked ones) are read up front through http.MaxBytesReader, under a read
// deadline of readTimeout (≤0 means DefaultBodyReadTimeout), and handed to the wrapped handler as an
// in-memory reader. Buffering is what makes a real 413 possible: mcp-go reads the body itself and would
// turn a MaxBytesReader error into a JSON-RPC parse error with status 200 or 400.
func LimitBody(max int64, readTimeout time.Duration) Middleware {
	if max <= 0 {
		max = DefaultMaxBodyBytes
	}
	if readTimeout <= 0 {
		readTimeout = DefaultBodyReadTimeout
	}
	tooLarge := fmt.Sprintf("request body too large: the limit is %d bytes", max)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > max {
				w.Header().Set("Connection", "close")
				writeError(w, http.StatusRequestEntityTooLarge, tooLarge)
				return
			}
			if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
				next.ServeHTTP(w, r)
				return
			}
			body, err := readBody(w, r, max, readTimeout)
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				w.Header().Set("Connection", "close")
				writeError(w, http.StatusRequestEntityTooLarge, tooLarge)
				return
			case err != nil:
				writeError(w, http.StatusBadRequest, "could not read the request body: "+errorKind(err))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			next.ServeHTTP(w, r)
		})
	}
}

// readBody reads at most max bytes of r's body under a read deadline, then lifts the deadline so it
// cannot outlive the body read (net/http also clears it when the body reaches EOF; lifting it here keeps
// that true on every path).
func readBody(w http.ResponseWriter, r *http.Request, max int64, timeout time.Duration) ([]byte, error) {
	rc := http.NewResponseController(w)
	// Not every writer supports deadlines (e.g. httptest.ResponseRecorder); the size limit still holds.
	if rc.SetReadDeadline(time.Now().Add(timeout)) == nil {
		defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, max))
}

// errorKind describes a body read error without echoing request data.
func errorKind(err error) string {
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed early"
	}
	return "read error"
}
