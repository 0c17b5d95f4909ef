package mcpserver

// Workaround for mcp-go v1.2.1: its streamable HTTP transport writes a legacy session's listening
// (GET) stream from a goroutine that lives as long as the stream (resumableStream.serve in
// server/streamable_http_resume.go), waiting in a select while the stream is idle. With its stack
// and its queue, that goroutine is a third of what an idle session costs.
//
// Here a session's listening stream that is served off its connection (detached_streams.go) is
// parked once it has started: mcp-go's loop is ended at once (its request's context cancelled;
// mcp-go then only records the stream's events, as for a client that is away), and each event goes
// from where mcp-go records it, the event store (replayLog.StoreEvent, which mcp-go's listening
// pump calls for every message of the stream), to the connection: in order, each once, those
// recorded since the GET began included. A goroutine runs only while there is something to write;
// a timer sends the heartbeats and notices a client gone, as keepAliveWriter does for streams in
// place. An idle parked stream holds no goroutine.
//
// A stream is parked when it is a session's listening stream (a GET that names its session, fresh
// or resuming the listening stream with Last-Event-ID) served off its connection; a resumed one
// gets the events after Last-Event-ID, as mcp-go would replay them. The session's next listening
// stream takes over from it as it would from mcp-go's loop, and the session's end ends it. A
// client that stops reading is cut after streamWriteTimeout, or once the events waiting for it
// reach half of what the replay log keeps (beyond those it resumed after), so that it can still
// resume from where it is.
//
// mcp-go's listening pump is told from the streams of requests by the context it records with:
// context.Background() (startListeningPump), where a request's stream records with the request's.
//
// This can go when mcp-go serves an idle listening stream without a goroutine of its own: then
// TestIdleSessionsHoldOneGoroutineEach passes without parking (parkedStream, detachedWriter.park
// and the replayLog methods below).

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// parkedStream is a session's listening stream once parked: its connection, the events waiting
// to be written, and its heartbeat timer.
type parkedStream struct {
	s        *Server // s.events is the log it is parked in
	session  string
	since    uint64        // the log's last event when the GET began, or the one it resumes after: its events come after it
	interval time.Duration // of heartbeats
	ended    func()        // the GET's end for the session's idle tracking: once, when the stream ends
	started  uint64        // when it started, in the log's count (under its lock); 0: not the session's listening stream
	probe    [1]byte

	mu           sync.Mutex
	conn         net.Conn      // set when parked
	queue        []parkedEvent // waiting to be written
	behind       int           // events not yet written whole: the queue's and the one being written
	bytes        int           // and their bytes
	backlog      int           // of those, the events recorded before the stream was parked
	backlogBytes int
	writing      bool // a goroutine is writing the queue
	closed       bool
	last         time.Time // of the last write
	timer        *time.Timer
}

// parkedEvent is an event of the log (id, and the message the log keeps), or, with id 0, a whole
// SSE event of its own (a heartbeat).
type parkedEvent struct {
	id  uint64
	msg []byte
}

// fromListeningPump tells the events of mcp-go's listening pump from those of requests' streams.
func fromListeningPump(ctx context.Context) bool { return ctx == context.Background() }

// beginListening is a GET of session beginning: the stream it will be, if it is parked.
func (l *replayLog) beginListening(s *Server, session string, interval time.Duration, ended func()) *parkedStream {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &parkedStream{s: s, session: session, since: l.seq, interval: interval, ended: ended}
}

// listeningStarted records that a stream of session started (its 200 answer written): a fresh
// one, or, with lastEventID, one resumed. If it is the session's listening stream (mcp-go attached
// it), it takes over from the stream parked and from those that started before it. p is the
// stream if it may be parked, or nil; p.started is set if it is the listening stream, and a
// resumed stream's events are those after lastEventID.
func (l *replayLog) listeningStarted(session, lastEventID string, p *parkedStream) {
	l.mu.Lock()
	defer l.mu.Unlock()
	se := l.sessions[session]
	if se == nil {
		se = &sessionEvents{}
		l.sessions[session] = se
	}
	var resumed uint64
	if lastEventID != "" {
		id, err := strconv.ParseUint(lastEventID, 10, 64)
		if err != nil || se.listening == "" {
			return // mcp-go refuses it, or it resumes a request's stream
		}
		if i, found := se.find(id); !found || se.events[i].stream != se.listening {
			return
		}
		resumed = id
	}
	started := l.takeOver(se)
	if p != nil {
		p.started = started
		if resumed != 0 {
			p.since = resumed
		}
	}
}

// takeOver ends the session's parked stream for one starting now, whose order it returns. l.mu is held.
func (l *replayLog) takeOver(se *sessionEvents) uint64 {
	l.starts++
	se.latest = l.starts
	if se.parked != nil {
		se.parked.shut()
		se.parked = nil
	}
	return se.latest
}

// park makes p its session's listening stream on conn and queues the events recorded since its
// GET began. It is false if p is not the session's latest listening stream (another took over, or
// the session ended): then p is not parked.
func (l *replayLog) park(p *parkedStream, conn net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	se := l.sessions[p.session]
	if se == nil || p.started == 0 || p.started != se.latest {
		return false
	}
	se.parked = p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conn = conn
	p.last = time.Now()
	p.timer = time.AfterFunc(p.interval, p.fire)
	for _, e := range se.events {
		if e.id > p.since && e.stream == se.listening {
			p.queueLocked(parkedEvent{id: e.id, msg: e.msg})
		}
	}
	p.backlog, p.backlogBytes = p.behind, p.bytes
	return true
}

// sendParked queues an event of the listening stream for the session's parked stream, which it
// ends if the event leaves it too far behind: beyond its backlog, by half of what the log keeps,
// so that its client can resume from where it is. l.mu is held.
func (l *replayLog) sendParked(se *sessionEvents, id uint64, msg []byte) bool {
	p := se.parked
	if p.send(parkedEvent{id: id, msg: msg}, l.maxEvents/2, l.maxBytes/2) {
		return true
	}
	se.parked = nil
	p.shut()
	return false
}

// unpark forgets p, which ended, as its session's parked stream.
func (l *replayLog) unpark(p *parkedStream) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if se := l.sessions[p.session]; se != nil && se.parked == p {
		se.parked = nil
	}
}

// send queues ev. It is false, and queues nothing, when the stream is closed or would be behind,
// beyond its backlog, by more than maxEvents events or maxBytes bytes.
func (p *parkedStream) send(ev parkedEvent, maxEvents, maxBytes int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	events, bytes := p.behind-p.backlog, p.bytes-p.backlogBytes
	if p.closed || (events > 0 && (events+1 > maxEvents || bytes+len(ev.msg) > maxBytes)) {
		return false
	}
	p.queueLocked(ev)
	return true
}

// queueLocked queues ev, and starts a goroutine to write the queue if none does. p.mu is held.
func (p *parkedStream) queueLocked(ev parkedEvent) {
	p.queue = append(p.queue, ev)
	p.behind++
	p.bytes += len(ev.msg)
	if !p.writing {
		p.writing = true
		go p.drain()
	}
}

// drain writes the queue until it is empty, or the stream ends.
func (p *parkedStream) drain() {
	for {
		p.mu.Lock()
		if p.closed || len(p.queue) == 0 {
			p.writing = false
			p.mu.Unlock()
			return
		}
		ev := p.queue[0]
		p.queue[0] = parkedEvent{}
		p.queue = p.queue[1:]
		if len(p.queue) == 0 {
			p.queue = nil // an idle stream holds no buffer
		}
		p.mu.Unlock()
		if err := p.write(ev); err != nil {
			p.end()
			return
		}
		p.mu.Lock()
		p.behind--
		p.bytes -= len(ev.msg)
		if p.backlog > 0 {
			p.backlog--
			p.backlogBytes -= len(ev.msg)
		}
		p.last = time.Now()
		p.mu.Unlock()
	}
}

// write writes ev to the connection, as the handler chain's writers would (correctErrorCodes,
// then outbound), in pieces each bounded by streamWriteTimeout (see keepAliveWriter.Write).
func (p *parkedStream) write(ev parkedEvent) error {
	data := ev.msg
	if ev.id != 0 {
		data = append([]byte("id: "+strconv.FormatUint(ev.id, 10)+"\n"), sseMessage(ev.msg)...)
	}
	data = p.s.outbound(correctErrorCodes(data))
	for len(data) > 0 {
		if p.s.streamWriteTimeout > 0 {
			if err := p.conn.SetWriteDeadline(time.Now().Add(p.s.streamWriteTimeout)); err != nil {
				return err
			}
		}
		n, err := p.conn.Write(data[:min(len(data), writeChunk)])
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// fire ends the stream if its client went away, else writes a heartbeat if nothing was written
// for the interval, and sets the timer for when the stream will next have been idle that long.
func (p *parkedStream) fire() {
	if !connAlive(p.conn, p.probe[:]) {
		p.end()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	next := p.interval - time.Since(p.last)
	if !p.writing && next <= 0 {
		p.queueLocked(parkedEvent{msg: heartbeatPing()})
	}
	if next <= 0 {
		next = p.interval
	}
	p.timer.Reset(next)
}

// end ends the stream from its own side: its client went away or stopped reading.
func (p *parkedStream) end() {
	p.s.events.unpark(p)
	p.shut()
}

// shut closes the stream's connection and ends its GET, once.
func (p *parkedStream) shut() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.queue = nil
	p.timer.Stop()
	p.mu.Unlock()
	p.s.streams.remove(p.conn)
	_ = p.conn.Close()
	p.ended()
}

// connAlive reports whether the client of a connection served off net/http is still there: a read
// that would block finds the connection open; end of file or an error, gone. What the client sent
// (nothing is expected) is dropped into probe.
func connAlive(conn net.Conn, probe []byte) bool {
	if err := conn.SetReadDeadline(deadlinePassed); err != nil {
		return false
	}
	_, err := conn.Read(probe)
	return err == nil || errors.Is(err, os.ErrDeadlineExceeded)
}
