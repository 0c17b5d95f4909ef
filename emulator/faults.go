package emulator

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Fault describes a failure the emulator injects into matching requests. It applies after the route
// is matched and counted, before its handler (authentication included), so only routes the emulator
// serves can fail. Effects combine in this order: Latency, then Drop, else Status, else MalformedJSON.
type Fault struct {
	// Method matches the request method ("" matches any).
	Method string
	// Route matches a route pattern as listed by Routes, without the method,
	// e.g. "/v2/endpoint/{namespace}/{name}" or "/e/{id}/generate" ("" matches any route).
	Route string
	// Status, when non-zero, answers with this status and a JSON {"error": …} body.
	Status int
	// RetryAfter sets the Retry-After header (whole seconds, rounded up) on a Status answer.
	RetryAfter time.Duration
	// Latency delays the request (the client's cancellation and Close cut it short).
	Latency time.Duration
	// Drop closes the connection without answering. Note that Go's http.Transport silently retries an
	// idempotent request (GET, HEAD…) whose reused keep-alive connection closes this way, so a
	// Count: 1 drop may go unseen by such a client; use Count ≥ 2 or a fresh connection.
	Drop bool
	// MalformedJSON lets the handler run, then sends only the first half of its body.
	MalformedJSON bool
	// Count limits how many requests the fault hits (0 = unlimited).
	Count int
	// Probability is the chance that a matching request is hit (0 means 1).
	Probability float64
}

type activeFault struct {
	Fault
	hits int
}

type faultSet struct {
	mu     sync.Mutex
	faults []*activeFault
	n      atomic.Int32 // len(faults), read without the lock on every request
}

// InjectFault adds a fault. It fails if the route is not one the emulator serves or the fault does nothing.
func (e *Emulator) InjectFault(f Fault) error {
	if f.Route != "" && !e.knownRoute(f.Method, f.Route) {
		return fmt.Errorf("emulator: no route %q %q; valid routes are listed by Routes()", f.Method, f.Route)
	}
	if f.Status == 0 && f.Latency <= 0 && !f.Drop && !f.MalformedJSON {
		return fmt.Errorf("emulator: fault has no effect; set Status, Latency, Drop or MalformedJSON")
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
		return fmt.Errorf("emulator: fault status %d is not an HTTP status (100..599)", f.Status)
	}
	if f.Probability < 0 || f.Probability > 1 {
		return fmt.Errorf("emulator: fault probability %v must be within [0, 1]", f.Probability)
	}
	e.faults.mu.Lock()
	e.faults.faults = append(e.faults.faults, &activeFault{Fault: f})
	e.faults.n.Store(int32(len(e.faults.faults)))
	e.faults.mu.Unlock()
	return nil
}

// ClearFaults removes every injected fault.
func (e *Emulator) ClearFaults() {
	e.faults.mu.Lock()
	e.faults.faults = nil
	e.faults.n.Store(0)
	e.faults.mu.Unlock()
}

func (e *Emulator) knownRoute(method, route string) bool {
	for k := range e.counters {
		m, p, _ := cutSpace(k)
		if p == route && (method == "" || method == m) {
			return true
		}
	}
	return false
}

// pick returns the first fault matching the request that fires, consuming one of its hits.
func (e *Emulator) pickFault(method, route string) *Fault {
	e.faults.mu.Lock()
	defer e.faults.mu.Unlock()
	for i, f := range e.faults.faults {
		if (f.Method != "" && f.Method != method) || (f.Route != "" && f.Route != route) {
			continue
		}
		if f.Probability > 0 && f.Probability < 1 && e.rng.float64() >= f.Probability {
			continue
		}
		f.hits++
		if f.Count > 0 && f.hits >= f.Count {
			e.faults.faults = append(e.faults.faults[:i:i], e.faults.faults[i+1:]...)
			e.faults.n.Store(int32(len(e.faults.faults)))
		}
		out := f.Fault
		return &out
	}
	return nil
}

// applyFault answers the request as f says, running next when f only delays or mangles the answer.
func (e *Emulator) applyFault(w http.ResponseWriter, r *http.Request, f *Fault, next http.HandlerFunc) {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-e.done:
			t.Stop()
		}
	}
	switch {
	case f.Drop:
		dropConnection(w)
	case f.Status != 0:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
		}
		msg := fmt.Sprintf("injected fault: %d %s", f.Status, http.StatusText(f.Status))
		apiError(w, f.Status, msg)
	case f.MalformedJSON:
		rec := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
		next(rec, r)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		body := rec.buf.Bytes()
		if len(body) < 2 {
			body = []byte(`{"error": "truncated`)
		} else {
			body = body[:len(body)/2]
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.status)
		w.Write(body)
	default:
		next(w, r)
	}
}

// dropConnection closes the client connection without a response.
func dropConnection(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	conn, _, err := rc.Hijack()
	if err != nil {
		// Not hijackable (e.g. HTTP/2 or a test recorder): abort the handler, which resets the stream.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// bufferedWriter captures a handler's answer so a fault can mangle it.
type bufferedWriter struct {
	header http.Header
	status int
	wrote  bool
	buf    bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.wrote = true
	return b.buf.Write(p)
}

// FailNextDeploy makes the next deployment of namespace/name (create or resume, even if the endpoint
// does not exist yet) end in state "failed" with message.
func (e *Emulator) FailNextDeploy(namespace, name, message string) {
	if message == "" {
		message = msgDeployFailed
	}
	e.store.mu.Lock()
	e.store.failDeploy[namespace+"/"+name] = message
	e.store.mu.Unlock()
}

// HoldNextDeploy keeps the next deployment of namespace/name (create or resume, even if the endpoint
// does not exist yet) in state "initializing" until release is called; it then ends as usual. Tests use
// it to watch a deployment in progress however slow the machine is. release may be called more than once.
func (e *Emulator) HoldNextDeploy(namespace, name string) (release func()) {
	hold := make(chan struct{})
	e.store.mu.Lock()
	e.store.holdDeploy[namespace+"/"+name] = hold
	e.store.mu.Unlock()
	return sync.OnceFunc(func() { close(hold) })
}

// FailNextUpdate makes the next update of namespace/name end in state "updateFailed" with message.
func (e *Emulator) FailNextUpdate(namespace, name, message string) {
	if message == "" {
		message = msgUpdateFailed
	}
	e.store.mu.Lock()
	e.store.failUpdate[namespace+"/"+name] = message
	e.store.mu.Unlock()
}
