package resources

import "sync"

// audience records which sessions and subscriptions/listen streams belong to which caller
// (scope key), so that a change of one caller's resource list reaches that caller only. It
// matters with token pass-through; with one server token every session shares the scope "".
type audience struct {
	mu       sync.Mutex
	sessions map[string]string                // session ID → scope key
	streams  map[string]map[string]Subscriber // scope key → stream ID → listen stream
}

func newAudience() *audience {
	return &audience{sessions: map[string]string{}, streams: map[string]map[string]Subscriber{}}
}

// join records that session sessionID belongs to the caller of scope key. A session keeps
// the caller it was registered with (the HTTP layer refuses other tokens on it).
func (a *audience) join(sessionID, key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions[sessionID] = key
}

// leave forgets an ended session.
func (a *audience) leave(sessionID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, sessionID)
}

// member reports whether sessionID is a recorded session.
func (a *audience) member(sessionID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.sessions[sessionID]
	return ok
}

// listen records a subscriptions/listen stream that asked for list changes in scope key and
// returns the function that forgets it.
func (a *audience) listen(key string, stream Subscriber) (stop func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.streams[key] == nil {
		a.streams[key] = map[string]Subscriber{}
	}
	a.streams[key][stream.ID()] = stream
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		delete(a.streams[key], stream.ID())
		if len(a.streams[key]) == 0 {
			delete(a.streams, key)
		}
	}
}

// of returns the sessions and listen streams of scope key.
func (a *audience) of(key string) (sessions []string, streams []Subscriber) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, k := range a.sessions {
		if k == key {
			sessions = append(sessions, id)
		}
	}
	for _, st := range a.streams[key] {
		streams = append(streams, st)
	}
	return sessions, streams
}
