package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
)

type replayed struct{ id, msg string }

func replayAfter(t *testing.T, l *replayLog, session, last string) (string, []replayed, error) {
	t.Helper()
	var got []replayed
	stream, err := l.ReplayEventsAfter(context.Background(), session, last, func(id string, msg json.RawMessage) error {
		got = append(got, replayed{id, string(msg)})
		return nil
	})
	return stream, got, err
}

func store(t *testing.T, l *replayLog, session, stream, msg string) string {
	t.Helper()
	id, err := l.StoreEvent(context.Background(), session, stream, json.RawMessage(msg))
	require.NoError(t, err)
	require.NotEmpty(t, id)
	return id
}

func TestReplayLogReplaysTheRestOfOneStream(t *testing.T) {
	l := newReplayLog(100, 1<<20)
	buf := []byte(`"a1"`)
	a1, err := l.StoreEvent(context.Background(), "s1", "A", buf)
	require.NoError(t, err)
	copy(buf, `"XX"`) // the log keeps its own copy
	b1 := store(t, l, "s1", "B", `"b1"`)
	a2 := store(t, l, "s1", "A", `"a2"`)
	other := store(t, l, "s2", "A", `"other session"`)
	a3 := store(t, l, "s1", "A", `"a3"`)

	stream, got, err := replayAfter(t, l, "s1", a1)
	require.NoError(t, err)
	assert.Equal(t, "A", stream)
	assert.Equal(t, []replayed{{a2, `"a2"`}, {a3, `"a3"`}}, got, "only stream A, in order, after a1")

	stream, got, err = replayAfter(t, l, "s1", b1)
	require.NoError(t, err)
	assert.Equal(t, "B", stream)
	assert.Empty(t, got, "nothing came after b1 on B")

	_, _, err = replayAfter(t, l, "s2", a1)
	assert.ErrorIs(t, err, server.ErrUnknownEventID, "an ID of another session is unknown")
	_, _, err = replayAfter(t, l, "s1", "not-a-number")
	assert.ErrorIs(t, err, server.ErrUnknownEventID)
	_, _, err = replayAfter(t, l, "nobody", a1)
	assert.ErrorIs(t, err, server.ErrUnknownEventID)

	require.NoError(t, l.PurgeSession(context.Background(), "s1"))
	_, _, err = replayAfter(t, l, "s1", a2)
	assert.ErrorIs(t, err, server.ErrUnknownEventID, "a purged session's events are gone")
	_, got, err = replayAfter(t, l, "s2", other)
	require.NoError(t, err, "other sessions keep theirs")
	assert.Empty(t, got)
}

func TestReplayLogKeepsOnlyTheNewestEvents(t *testing.T) {
	l := newReplayLog(3, 1<<20)
	var ids []string
	for _, m := range []string{`1`, `2`, `3`, `4`, `5`} {
		ids = append(ids, store(t, l, "s", "A", m))
	}
	_, _, err := replayAfter(t, l, "s", ids[1])
	assert.ErrorIs(t, err, server.ErrUnknownEventID, "beyond the count bound the oldest go")
	_, got, err := replayAfter(t, l, "s", ids[2])
	require.NoError(t, err)
	assert.Equal(t, []replayed{{ids[3], `4`}, {ids[4], `5`}}, got)

	l = newReplayLog(100, 10)
	first := store(t, l, "s", "A", `"12345"`) // 7 bytes
	second := store(t, l, "s", "A", `"1234"`) // 6: 13 > 10, the first goes
	_, _, err = replayAfter(t, l, "s", first)
	assert.ErrorIs(t, err, server.ErrUnknownEventID, "beyond the byte bound the oldest go")
	big := store(t, l, "s", "A", `"a message larger than the bound"`)
	_, _, err = replayAfter(t, l, "s", second)
	assert.ErrorIs(t, err, server.ErrUnknownEventID)
	_, got, err = replayAfter(t, l, "s", big)
	require.NoError(t, err, "the newest event is kept whatever its size")
	assert.Empty(t, got)
	assert.Len(t, l.sessions["s"].events, 1)
	assert.Equal(t, len(`"a message larger than the bound"`), l.sessions["s"].bytes)
}

// sseEvent is one event of a text/event-stream body.
type sseEvent struct{ id, data string }

// readSSE reads events from body until stop says so or the body ends. From a *bufio.Reader it
// reads no further than the event stop took, so that what follows can be read after.
func readSSE(t *testing.T, body io.Reader, stop func(sseEvent) bool) []sseEvent {
	t.Helper()
	lines, ok := body.(*bufio.Reader)
	if !ok {
		lines = bufio.NewReaderSize(body, 64<<10)
	}
	var events []sseEvent
	var cur sseEvent
	for {
		line, err := lines.ReadString('\n')
		if err != nil {
			return events // the body ended; a line or an event cut short is not one
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "id:"):
			cur.id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
		case strings.HasPrefix(line, "data:"):
			cur.data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		case line == "" && cur.data != "":
			events = append(events, cur)
			if stop(cur) {
				return events
			}
			cur = sseEvent{}
		}
	}
}

// TestLegacyStreamsResumeFromLastEventID: over the wire, every event of a
// legacy session's stream has an ID, and a GET with Last-Event-ID replays the
// rest of that stream, the result included.
func TestLegacyStreamsResumeFromLastEventID(t *testing.T) {
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: emulator.Timings{Deploy: 30 * time.Millisecond, IdleMinute: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	release := emu.HoldNextDeploy("emulator-user", "resume-me")
	t.Cleanup(release)
	client := emuClient(t, emu, emu.Token())
	createEndpoint(t, client, "resume-me")
	base := serve(t, newServer(t, Options{Client: client}))

	post := func(session, body string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, base+PathStreamable, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	session := post("", initializeBody).Header.Get("Mcp-Session-Id")
	require.NotEmpty(t, session)
	post(session, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	resp := post(session, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"wait_for_endpoint",`+
		`"arguments":{"endpoint_name":"resume-me","poll_seconds":0.01},"_meta":{"progressToken":"w"}}}`)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	isResult := func(e sseEvent) bool { return strings.Contains(e.data, `"id":7`) }
	progressSeen := 0
	first := readSSE(t, resp.Body, func(e sseEvent) bool {
		if strings.Contains(e.data, "notifications/progress") {
			progressSeen++
		}
		if progressSeen == 2 { // the wait is under way and reported the deployment
			release()
		}
		return isResult(e)
	})
	require.NotEmpty(t, first)
	require.True(t, isResult(first[len(first)-1]), "the stream ends with the result")
	require.GreaterOrEqual(t, len(first), 3)
	for _, e := range first {
		assert.NotEmpty(t, e.id, "every event carries an ID: %s", e.data)
	}
	assert.Contains(t, first[len(first)-1].data, `"ready":true`)

	// A client that saw only the first event resumes and gets the others, result included.
	req, err := http.NewRequest(http.MethodGet, base+PathStreamable, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	req.Header.Set("Last-Event-ID", first[0].id)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	again, err := http.DefaultClient.Do(req.WithContext(ctx))
	require.NoError(t, err)
	defer again.Body.Close()
	require.Equal(t, http.StatusOK, again.StatusCode)
	rest := readSSE(t, again.Body, isResult)
	assert.Equal(t, first[1:], rest, "the replay is exactly what came after the last event seen")

	// An ID the session never had is refused, saying so.
	req.Header.Set("Last-Event-ID", "999999")
	unknown, err := http.DefaultClient.Do(req.WithContext(ctx))
	require.NoError(t, err)
	defer unknown.Body.Close()
	assert.Equal(t, http.StatusBadRequest, unknown.StatusCode)
	msg, _ := io.ReadAll(unknown.Body)
	assert.Contains(t, string(msg), "Last-Event-ID")
}
