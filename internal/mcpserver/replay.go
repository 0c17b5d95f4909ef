package mcpserver

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/mark3labs/mcp-go/server"
)

// Bounds of the events a session keeps for replay.
const (
	replayEvents = 256     // events per session
	replayBytes  = 2 << 20 // bytes of messages per session; the newest event is kept whatever its size
)

// replayLog is the event store of legacy streamable HTTP sessions. With it,
// every message a session's SSE streams carry gets an event ID, and a client
// whose stream broke can resume it with Last-Event-ID and receive what it
// missed (progress and the result of a long wait, say).
//
// It also keeps notifications from being lost: the transport delivers a
// notification that was picked up just as a request finished on that
// request's stream, where without a store it drops it (a client running
// several calls on one session could miss the last progress of one of them).
//
// Unlike an unbounded log, a session keeps only its most recent events (at
// most replayEvents, and replayBytes of messages), so memory stays bounded
// however long a session lives; resuming from an event already dropped is
// answered "Unknown Last-Event-ID". Events go when the session ends.
type replayLog struct {
	maxEvents, maxBytes int

	mu       sync.Mutex
	seq      uint64
	starts   uint64 // listening streams started (mcpgo_listening_streams.go)
	sessions map[string]*sessionEvents
}

// sessionEvents are one session's retained events, oldest first, with
// increasing IDs.
type sessionEvents struct {
	events []replayEvent
	bytes  int

	// The session's listening stream (mcpgo_listening_streams.go): its ID, once it carried an
	// event; its connection while parked; the order of the latest to start.
	listening string
	parked    *parkedStream
	latest    uint64
}

// find returns the index of the event id, and whether it is kept.
func (se *sessionEvents) find(id uint64) (int, bool) {
	return slices.BinarySearchFunc(se.events, id, func(e replayEvent, id uint64) int { return cmp.Compare(e.id, id) })
}

type replayEvent struct {
	id     uint64
	stream string
	msg    json.RawMessage
}

var _ server.EventStore = (*replayLog)(nil)

func newReplayLog(maxEvents, maxBytes int) *replayLog {
	return &replayLog{maxEvents: maxEvents, maxBytes: maxBytes, sessions: map[string]*sessionEvents{}}
}

// StoreEvent records message as the next event of streamID and returns its ID,
// dropping the session's oldest events beyond the bounds.
func (l *replayLog) StoreEvent(ctx context.Context, sessionID, streamID string, message json.RawMessage) (string, error) {
	msg := slices.Clone(message) // the caller may reuse its buffer
	l.mu.Lock()
	defer l.mu.Unlock()
	se := l.sessions[sessionID]
	if se == nil {
		se = &sessionEvents{}
		l.sessions[sessionID] = se
	}
	l.seq++
	se.events = append(se.events, replayEvent{id: l.seq, stream: streamID, msg: msg})
	se.bytes += len(msg)
	if fromListeningPump(ctx) {
		se.listening = streamID
		if se.parked != nil {
			l.sendParked(se, l.seq, msg)
		}
	}
	for len(se.events) > 1 && (len(se.events) > l.maxEvents || se.bytes > l.maxBytes) {
		se.bytes -= len(se.events[0].msg)
		se.events[0] = replayEvent{} // release the message before the slot leaves the slice
		se.events = se.events[1:]
	}
	return strconv.FormatUint(l.seq, 10), nil
}

// ReplayEventsAfter sends, in order, the events of lastEventID's stream that
// came after it, and returns that stream's ID.
func (l *replayLog) ReplayEventsAfter(_ context.Context, sessionID, lastEventID string, send func(eventID string, message json.RawMessage) error) (string, error) {
	id, err := strconv.ParseUint(lastEventID, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: %q is not an event ID of this server", server.ErrUnknownEventID, lastEventID)
	}
	l.mu.Lock()
	var events []replayEvent
	var i int
	found := false
	if se := l.sessions[sessionID]; se != nil {
		events = se.events
		i, found = se.find(id)
	}
	if !found {
		l.mu.Unlock()
		return "", fmt.Errorf("%w: event %s is not (or no longer) kept for this session", server.ErrUnknownEventID, lastEventID)
	}
	stream := events[i].stream
	var later []replayEvent
	for _, e := range events[i+1:] {
		if e.stream == stream {
			later = append(later, e)
		}
	}
	l.mu.Unlock()

	for _, e := range later {
		if err := send(strconv.FormatUint(e.id, 10), e.msg); err != nil {
			return "", err
		}
	}
	return stream, nil
}

// PurgeSession forgets a session's events, and ends its parked stream; the transport calls it when
// the session ends.
func (l *replayLog) PurgeSession(_ context.Context, sessionID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if se := l.sessions[sessionID]; se != nil && se.parked != nil {
		se.parked.shut()
	}
	delete(l.sessions, sessionID)
	return nil
}
