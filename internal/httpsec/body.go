package httpsec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxBodyBytes is the default request body limit: JSON-RPC messages are small.
const DefaultMaxBodyBytes = 1 << 20

// DefaultBodyReadTimeout bounds how long a client may take to send a request body.
const DefaultBodyReadTimeout = 30 * time.Second

// DefaultBodyBudget bounds the request bodies held in memory at once, all connections together:
// slow senders of large bodies cannot make the server hold more than this. A body held is then read
// again and decoded by mcp-go, which costs several times its size, so the budget is kept small:
// eight bodies of the largest size.
const DefaultBodyBudget = 8 << 20

// bodyChunk is the unit in which a body is read and charged to the budget: a slow connection holds
// what it has sent, rounded up to a chunk, never a whole body's worth in advance.
const bodyChunk = 16 << 10

// BodyLimits configure LimitBody. Zero fields take the defaults.
type BodyLimits struct {
	Max         int64         // the largest body (DefaultMaxBodyBytes)
	ReadTimeout time.Duration // the longest a body may take to arrive (DefaultBodyReadTimeout)
	Budget      int64         // bodies held at once, all requests together (DefaultBodyBudget)
}

// LimitBody is LimitBodies with a size limit and a read timeout (≤0: the defaults) and the default budget.
func LimitBody(max int64, readTimeout time.Duration) Middleware {
	return LimitBodies(BodyLimits{Max: max, ReadTimeout: readTimeout})
}

// LimitBodies returns middleware that answers 413 to requests whose body exceeds the limit. A declared
// Content-Length over the limit is refused before anything is read. Other bodies (including chunked
// ones) are read up front, under a read deadline, in small chunks charged to a budget shared by every
// request: a body that would take the budget over is refused with 503 and Retry-After, so that many
// slow clients cannot make the server hold their bodies without bound. The wrapped handler gets the
// body as an in-memory *BufferedBody, charged to the budget until it returns. Buffering is what makes
// a real 413 possible: mcp-go reads the body itself and would turn a MaxBytesReader error into a
// JSON-RPC parse error with status 200 or 400.
func LimitBodies(limits BodyLimits) Middleware {
	if limits.Max <= 0 {
		limits.Max = DefaultMaxBodyBytes
	}
	if limits.ReadTimeout <= 0 {
		limits.ReadTimeout = DefaultBodyReadTimeout
	}
	if limits.Budget <= 0 {
		limits.Budget = DefaultBodyBudget
	}
	return limitBodies(limits, &bodyBudget{left: limits.Budget})
}

func limitBodies(limits BodyLimits, budget *bodyBudget) Middleware {
	tooLarge := fmt.Sprintf("request body too large: the limit is %d bytes", limits.Max)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limits.Max {
				w.Header().Set("Connection", "close")
				writeError(w, http.StatusRequestEntityTooLarge, tooLarge)
				return
			}
			if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
				next.ServeHTTP(w, r)
				return
			}
			body, charged, err := readBody(w, r, limits, budget)
			defer budget.release(charged)
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				w.Header().Set("Connection", "close")
				writeError(w, http.StatusRequestEntityTooLarge, tooLarge)
				return
			case errors.Is(err, errBodyBudget):
				w.Header().Set("Connection", "close")
				w.Header().Set("Retry-After", strconv.Itoa(bodyRetryAfter))
				writeError(w, http.StatusServiceUnavailable, "server busy receiving other requests; retry after the Retry-After delay")
				return
			case err != nil:
				writeError(w, http.StatusBadRequest, "could not read the request body: "+errorKind(err))
				return
			}
			r.Body = body
			r.ContentLength = int64(body.Len())
			next.ServeHTTP(w, r)
		})
	}
}

// bodyRetryAfter is the Retry-After, in seconds, of a body refused for want of budget.
const bodyRetryAfter = 2

// BufferedBody is a request body LimitBody has read into memory. Bytes gives it without a copy.
type BufferedBody struct {
	*bytes.Reader
	b []byte
}

// NewBufferedBody returns b as a request body whose Bytes need no copy.
func NewBufferedBody(b []byte) *BufferedBody { return &BufferedBody{Reader: bytes.NewReader(b), b: b} }

// Bytes returns the whole body; the caller must not modify it.
func (b *BufferedBody) Bytes() []byte { return b.b }

// Close does nothing: the body is in memory.
func (b *BufferedBody) Close() error { return nil }

var errBodyBudget = errors.New("request body budget exhausted")

// bodyBudget is what is left of the bytes bodies may hold at once.
type bodyBudget struct{ left int64 }

func (b *bodyBudget) take(n int64) bool {
	if atomic.AddInt64(&b.left, -n) < 0 {
		atomic.AddInt64(&b.left, n)
		return false
	}
	return true
}

func (b *bodyBudget) release(n int64) {
	if n > 0 {
		atomic.AddInt64(&b.left, n)
	}
}

var chunkPool = sync.Pool{New: func() any { return new([bodyChunk]byte) }}

// readBody reads at most limits.Max bytes of r's body under a read deadline, chunk by chunk, each
// charged to budget, then lifts the deadline so it cannot outlive the body read (net/http also clears
// it when the body reaches EOF; lifting it here keeps that true on every path). It returns the bytes
// charged, which the caller releases when done with the body.
func readBody(w http.ResponseWriter, r *http.Request, limits BodyLimits, budget *bodyBudget) (*BufferedBody, int64, error) {
	rc := http.NewResponseController(w)
	// Not every writer supports deadlines (e.g. httptest.ResponseRecorder); the size limit still holds.
	if rc.SetReadDeadline(time.Now().Add(limits.ReadTimeout)) == nil {
		defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	}
	src := http.MaxBytesReader(w, r.Body, limits.Max)
	var chunks []*[bodyChunk]byte
	defer func() {
		for _, c := range chunks {
			chunkPool.Put(c)
		}
	}()
	var charged, n int64
	for {
		if !budget.take(bodyChunk) {
			return nil, charged, errBodyBudget
		}
		charged += bodyChunk
		c := chunkPool.Get().(*[bodyChunk]byte)
		chunks = append(chunks, c)
		got, err := fill(src, c[:])
		n += int64(got)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, charged, err
		}
	}
	// One exact-size copy; the chunks go back to the pool, and the budget keeps only what is held.
	whole := make([]byte, 0, n)
	for _, c := range chunks {
		whole = append(whole, c[:min(int64(bodyChunk), n-int64(len(whole)))]...)
	}
	budget.release(charged - n)
	return NewBufferedBody(whole), n, nil
}

// fill reads into p until it is full or the reader fails; io.EOF means the body ended.
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		got, err := r.Read(p[n:])
		n += got
		if err != nil {
			return n, err
		}
	}
	return n, nil
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
