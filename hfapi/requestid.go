package hfapi

import (
	"context"
	"net/http"
	"sync"
)

// RequestIDs collects the X-Request-Id of every request that changes something (any method but GET)
// sent under a context from WithRequestIDs, so an audit record can name the API requests a call made.
type RequestIDs struct {
	mu  sync.Mutex
	ids []string
}

type requestIDsKey struct{}

// WithRequestIDs returns a context under which the client records mutation request ids into the
// returned collector.
func WithRequestIDs(ctx context.Context) (context.Context, *RequestIDs) {
	r := &RequestIDs{}
	return context.WithValue(ctx, requestIDsKey{}, r), r
}

// IDs returns the recorded ids in request order (nil-safe).
func (r *RequestIDs) IDs() []string {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

// Last returns the most recent id, or "".
func (r *RequestIDs) Last() string {
	ids := r.IDs()
	if len(ids) == 0 {
		return ""
	}
	return ids[len(ids)-1]
}

func recordRequestID(ctx context.Context, req request, id string) {
	if id == "" || req.method == http.MethodGet {
		return
	}
	if r, ok := ctx.Value(requestIDsKey{}).(*RequestIDs); ok {
		r.mu.Lock()
		r.ids = append(r.ids, id)
		r.mu.Unlock()
	}
}
