package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
)

// parked counts the streams parked.
func (l *replayLog) parked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, se := range l.sessions {
		if se.parked != nil {
			n++
		}
	}
	return n
}

// waitParked waits until n listening streams are parked.
func waitParked(t *testing.T, s *Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return s.events.parked() == n }, 10*time.Second, 5*time.Millisecond,
		"the number of parked streams never came to %d", n)
}

// readToEnd reads a stream until it ends, and returns the events it carried.
func readToEnd(t *testing.T, stream rawStream) []sseEvent {
	t.Helper()
	require.NoError(t, stream.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	got, err := io.ReadAll(stream.body)
	require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the stream did not end")
	return readSSE(t, bytes.NewReader(got), func(sseEvent) bool { return false })
}

// eventID is the ID of e, a number.
func eventID(t *testing.T, e sseEvent) int {
	t.Helper()
	id, err := strconv.Atoi(e.id)
	require.NoError(t, err, "event %q has no numeric ID", e.data)
	return id
}

// TestParkedStreamsCarryEveryEventOnceInOrder: notifications flow to a session all along while
// its listening stream is opened again and again, each new one taking over from the one before,
// parked as it starts. Every stream carries its events in order with no gap and none twice (the
// session has no other stream, so its events' IDs follow one another), the stream taken over ends,
// and the last notification reaches the last stream.
func TestParkedStreamsCarryEveryEventOnceInOrder(t *testing.T) {
	s := newServer(t, Options{})
	base := serve(t, s)

	// The notifier sends one notification per token; the readers give a token back for each they
	// read, so that the streams are never far behind, and a new stream brings a few more.
	tokens := make(chan struct{}, 1024)
	done := make(chan struct{})
	notified := make(chan struct{})
	go func() {
		defer close(notified)
		n := 0
		for {
			select {
			case <-done:
				return
			case <-tokens:
				notify(s, n, 10)
				n++
			}
		}
	}()
	give := func(k int) {
		for range k {
			tokens <- struct{}{}
		}
	}

	stream := openStreamableGET(t, base)
	for round := range 8 {
		give(16)
		require.NoError(t, stream.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		lines := bufio.NewReader(stream.body)
		var events []sseEvent
		readSSE(t, lines, func(e sseEvent) bool {
			if notificationNumber(e) >= 0 {
				events = append(events, e)
				give(1)
			}
			return len(events) == 40
		})
		require.Len(t, events, 40, "round %d: the stream ended early", round)
		for i := 1; i < len(events); i++ {
			require.Equal(t, eventID(t, events[i-1])+1, eventID(t, events[i]), "round %d: events out of order, lost or twice: %v", round, events)
			require.Less(t, notificationNumber(events[i-1]), notificationNumber(events[i]), "round %d", round)
		}
		next := openStreamableGETOf(t, base, stream.session)
		rest := readToEnd(t, rawStream{conn: stream.conn, body: lines})
		for _, e := range rest {
			if notificationNumber(e) >= 0 {
				require.Equal(t, eventID(t, events[len(events)-1])+1, eventID(t, e), "round %d: the stream taken over: events lost or twice", round)
				events = append(events, e)
			}
		}
		stream = next
	}
	close(done)
	<-notified
	const marker = 1 << 20
	notify(s, marker, 10)
	require.NoError(t, stream.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	events := readSSE(t, stream.body, func(e sseEvent) bool { return notificationNumber(e) == marker })
	require.NotEmpty(t, events)
	assert.Equal(t, marker, notificationNumber(events[len(events)-1]), "a notification sent now reaches the last stream")
	waitParked(t, s, 1)
}

// openStreamableGETOf opens a GET stream of a session.
func openStreamableGETOf(t *testing.T, base, session string, header ...string) rawStream {
	t.Helper()
	conn, resp := dialGET(t, base, PathStreamable, append([]string{"Mcp-Session-Id: " + session, "Mcp-Protocol-Version: 2025-11-25"}, header...)...)
	return rawStream{conn: conn, body: resp.Body, session: session}
}

// inPlaceHeader makes inPlaceWhenAsked keep a request's writer from taking its connection over, as
// HTTP/2.
const inPlaceHeader = "X-Test-In-Place"

func inPlaceWhenAsked(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(inPlaceHeader) != "" {
			w = noHijack{w}
		}
		next.ServeHTTP(w, r)
	})
}

// TestAParkedStreamEndsWhenAnotherTakesOverOrItsSessionEnds: a session's parked listening stream
// ends (its connection closes, it is no longer parked) when another listening stream of the session
// starts, fresh (parked, or served in place) or resumed with Last-Event-ID (parked too), or when
// the session ends. Only the stream that took over carries what comes next.
func TestAParkedStreamEndsWhenAnotherTakesOverOrItsSessionEnds(t *testing.T) {
	cases := []struct {
		name   string
		then   func(t *testing.T, base string, stream rawStream, seen sseEvent) *rawStream
		parked int // streams parked afterwards
	}{
		{"a fresh stream, parked", func(t *testing.T, base string, stream rawStream, _ sseEvent) *rawStream {
			next := openStreamableGETOf(t, base, stream.session)
			return &next
		}, 1},
		{"a fresh stream served in place", func(t *testing.T, base string, stream rawStream, _ sseEvent) *rawStream {
			next := openStreamableGETOf(t, base, stream.session, inPlaceHeader+": 1")
			return &next
		}, 0},
		{"the stream resumed", func(t *testing.T, base string, stream rawStream, seen sseEvent) *rawStream {
			next := openStreamableGETOf(t, base, stream.session, "Last-Event-ID: "+seen.id)
			return &next
		}, 1},
		{"the session deleted", func(t *testing.T, base string, stream rawStream, _ sseEvent) *rawStream {
			code, _ := rawRequest(t, http.MethodDelete, base+PathStreamable, "", stream.session, "")
			require.Equal(t, http.StatusOK, code)
			return nil
		}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t, Options{HTTPMiddleware: []func(http.Handler) http.Handler{inPlaceWhenAsked}})
			base := serve(t, s)
			other := openStreamableGET(t, base) // a session the change must not touch
			stream := openStreamableGET(t, base)
			waitParked(t, s, 2)
			deadline := time.Now().Add(10 * time.Second) // a stream that carries nothing fails the test, not hangs it
			require.NoError(t, other.conn.SetReadDeadline(deadline))
			require.NoError(t, stream.conn.SetReadDeadline(deadline))
			notify(s, 1, 10)
			lines := bufio.NewReader(stream.body)
			seen := readSSE(t, lines, func(e sseEvent) bool { return notificationNumber(e) == 1 })
			require.NotEmpty(t, seen)

			next := c.then(t, base, stream, seen[len(seen)-1])
			for _, e := range readToEnd(t, rawStream{conn: stream.conn, body: lines}) {
				assert.Negative(t, notificationNumber(e), "the stream carried a notification after it was taken over: %s", e.data)
			}
			waitParked(t, s, c.parked+1)

			notify(s, 2, 10)
			isTwo := func(e sseEvent) bool { return notificationNumber(e) == 2 }
			got := readSSE(t, other.body, isTwo)
			require.NotEmpty(t, got)
			assert.Equal(t, 2, notificationNumber(got[len(got)-1]), "the other session's stream goes on")
			if next == nil {
				return
			}
			require.NoError(t, next.conn.SetReadDeadline(deadline))
			got = readSSE(t, next.body, isTwo)
			require.NotEmpty(t, got)
			assert.Equal(t, 2, notificationNumber(got[len(got)-1]), "the stream that took over carries what comes next")
			for _, e := range got[:len(got)-1] {
				assert.Negative(t, notificationNumber(e), "and nothing from before it began: %s", e.data)
			}
		})
	}
}

// TestParkedStreamsFarBehindAreCutWhileTheyCanResume: a client that stops reading its parked
// stream is cut once the events waiting for it reach half of what the replay log keeps, long
// before a write times out, so that it can resume: with Last-Event-ID it gets the rest from the
// first event it did not get whole.
func TestParkedStreamsFarBehindAreCutWhileTheyCanResume(t *testing.T) {
	s := newServer(t, Options{})
	s.streamWriteTimeout = time.Hour // only falling behind can cut the stream
	base := serve(t, s)
	stream := openStreamableGET(t, base)
	waitParked(t, s, 1)

	sent := 0
	require.Eventually(t, func() bool {
		notifyRecorded(t, s, sent, 16<<10)
		sent++
		return s.events.parked() == 0
	}, 20*time.Second, time.Millisecond, "a stream whose client stopped reading was still parked")

	var last sseEvent
	for _, e := range readToEnd(t, stream) {
		if notificationNumber(e) >= 0 {
			last = e
		}
	}
	require.NotEmpty(t, last.data, "the client got none of the notifications")
	const marker = 1 << 20
	notify(s, marker, 10)

	// What the stream missed is more than it may fall behind by once parked: resumed, it gets it all.
	resp := getStream(t, base, stream.session, last.id)
	next := readSSE(t, resp.Body, func(e sseEvent) bool { return notificationNumber(e) == marker })
	require.NotEmpty(t, next, "nothing replayed")
	assert.Equal(t, eventID(t, last)+1, eventID(t, next[0]), "the replay goes on from the last event the client got")
	assert.Equal(t, notificationNumber(last)+1, notificationNumber(next[0]), "with the notification it did not get whole")
	replayed := 0
	for _, e := range next {
		replayed += len(e.data)
	}
	assert.Greater(t, replayed, replayBytes/2, "the replay is no longer than half the log: the test shows nothing")
	for i := 1; i < len(next); i++ {
		require.Equal(t, eventID(t, next[i-1])+1, eventID(t, next[i]), "events lost or twice")
	}
	assert.Equal(t, marker, notificationNumber(next[len(next)-1]), "the replay ends with what came after the stream was cut")
	waitParked(t, s, 1)
}

// TestParkedStreamsCarryNoEventOfARequest: a parked listening stream carries the events mcp-go's
// listening pump records, never those of a call's stream. The call's result is on its stream only,
// and each of its progress notifications arrives once: mcp-go's pump and the call's stream read the
// session's notifications from one channel, so a notification of the call may reach the listening
// stream instead of the call's, but never both.
func TestParkedStreamsCarryNoEventOfARequest(t *testing.T) {
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: emulator.Timings{Deploy: 50 * time.Millisecond, IdleMinute: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	client := emuClient(t, emu, emu.Token())
	createEndpoint(t, client, "watched")
	s := newServer(t, Options{Client: client})
	base := serve(t, s)
	stream := openStreamableGET(t, base)
	waitParked(t, s, 1)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+PathStreamable, strings.NewReader(
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"wait_for_endpoint",`+
			`"arguments":{"endpoint_name":"watched","poll_seconds":0.01},"_meta":{"progressToken":"w"}}}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", stream.session)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	isResult := func(e sseEvent) bool { return strings.Contains(e.data, `"id":7`) }
	call := readSSE(t, resp.Body, isResult)
	require.NotEmpty(t, call)
	require.True(t, isResult(call[len(call)-1]), "the call's stream ends with its result")
	assert.Contains(t, call[len(call)-1].data, `"ready":true`)

	notify(s, 1, 10) // after the call: once it arrives, the listening stream carried all it will of the call
	require.NoError(t, stream.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	listening := readSSE(t, stream.body, func(e sseEvent) bool { return notificationNumber(e) == 1 })
	require.NotEmpty(t, listening)
	assert.Equal(t, 1, notificationNumber(listening[len(listening)-1]))

	progress := map[string]int{} // progress notification → how many times it arrived
	for _, e := range append(call, listening...) {
		assert.False(t, isResult(e) && !slices.Contains(call, e), "the listening stream carried the call's result")
		if strings.Contains(e.data, "notifications/progress") {
			progress[e.data]++
		}
	}
	require.NotEmpty(t, progress)
	for p, n := range progress {
		assert.Equal(t, 1, n, "a progress notification arrived %d times: %s", n, p)
	}
}

// TestParkedStreamsFallBehindByHalfTheLogAtMostBeyondTheirBacklog: a parked stream queues all the
// events it resumes after (its backlog, up to the whole log), however far behind that leaves it,
// and then may fall behind by half of what the log keeps before it is cut.
func TestParkedStreamsFallBehindByHalfTheLogAtMostBeyondTheirBacklog(t *testing.T) {
	s := newServer(t, Options{})
	s.events = newReplayLog(8, 1<<20) // no HTTP handler: a log of the test's own
	l := s.events
	record := func(n int) {
		_, err := l.StoreEvent(context.Background(), "s", "listening", json.RawMessage(`{"n":`+strconv.Itoa(n)+`}`))
		require.NoError(t, err)
	}
	for n := range 6 {
		record(n) // events 1 to 6
	}
	ended := make(chan struct{})
	p := l.beginListening(s, "s", time.Hour, func() { close(ended) })
	l.listeningStarted("s", "1", p) // resumed after the first event
	conn, client := net.Pipe()      // a write waits until the client reads, which it does not
	defer client.Close()
	require.True(t, l.park(p, conn))
	for n := 6; n < 10; n++ {
		record(n) // half the log, beyond the backlog of five
	}
	require.Equal(t, 1, l.parked(), "cut within half the log beyond its backlog")
	record(10)
	require.Zero(t, l.parked(), "not cut beyond it")
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream cut did not end its GET")
	}
	_, err := io.ReadAll(client)
	require.NoError(t, err, "the stream's connection is closed")
}
