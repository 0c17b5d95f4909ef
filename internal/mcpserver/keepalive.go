package mcpserver

import (
	"bytes"
	"net/http"
	"sync"
	"time"
)

// keepSSEAlive keeps idle legacy SSE streams from being cut by proxies and
// load balancers: after interval without an event it writes an SSE comment
// (": keep-alive"), which every SSE parser ignores (the official Go SDK's
// included). mcp-go's own SSE keep-alive sends JSON-RPC ping requests instead,
// which a client must answer with a POST and some clients do not understand;
// a comment needs nothing from the client. Comments go only between events.
func keepSSEAlive(next http.Handler, interval time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || interval <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		kw := &keepAliveWriter{ResponseWriter: w, last: time.Now()}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			kw.run(interval, stop, r.Context().Done())
		}()
		defer wg.Wait()
		defer close(stop)
		next.ServeHTTP(kw, r)
	})
}

// keepAliveWriter serialises the handler's writes with the keep-alive
// comments and remembers whether the stream is between two events.
type keepAliveWriter struct {
	http.ResponseWriter
	mu       sync.Mutex
	streamed bool // a 200 event stream has started
	boundary bool // the last write ended an event
	last     time.Time
}

var sseComment = []byte(": keep-alive\n\n")

func (k *keepAliveWriter) run(interval time.Duration, stop <-chan struct{}, gone <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-gone:
			return
		case now := <-t.C:
			k.ping(now, interval)
		}
	}
}

// ping writes a comment if the stream has been idle for interval.
func (k *keepAliveWriter) ping(now time.Time, interval time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.streamed || !k.boundary || now.Sub(k.last) < interval {
		return
	}
	if _, err := k.ResponseWriter.Write(sseComment); err == nil {
		_ = http.NewResponseController(k.ResponseWriter).Flush()
	}
	k.last = now
}

func (k *keepAliveWriter) WriteHeader(code int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.streamed = code == http.StatusOK
	k.ResponseWriter.WriteHeader(code)
}

func (k *keepAliveWriter) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.streamed && k.Header().Get("Content-Type") == "text/event-stream" {
		k.streamed = true // an implicit 200
	}
	n, err := k.ResponseWriter.Write(p)
	if n > 0 {
		k.boundary = bytes.HasSuffix(p[:n], []byte("\n\n")) || bytes.HasSuffix(p[:n], []byte("\r\n\r\n"))
		k.last = time.Now()
	}
	return n, err
}

// Flush implements http.Flusher, which mcp-go's SSE transport requires.
func (k *keepAliveWriter) Flush() {
	k.mu.Lock()
	defer k.mu.Unlock()
	_ = http.NewResponseController(k.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (k *keepAliveWriter) Unwrap() http.ResponseWriter { return k.ResponseWriter }
