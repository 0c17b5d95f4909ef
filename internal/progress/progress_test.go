package progress

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a SendFunc that keeps what it was given and can refuse sends.
type recorder struct {
	mu     sync.Mutex
	got    []map[string]any
	full   bool
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1000)} }

func (r *recorder) send(method string, params map[string]any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if method != Method {
		return errors.New("unexpected method " + method)
	}
	if r.full {
		return server.ErrNotificationChannelBlocked
	}
	r.got = append(r.got, params)
	r.notify <- struct{}{}
	return nil
}

func (r *recorder) values() []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]float64, len(r.got))
	for i, p := range r.got {
		out[i] = p["progress"].(float64)
	}
	return out
}

func requireIncreasing(t *testing.T, values []float64) {
	t.Helper()
	for i := 1; i < len(values); i++ {
		require.Greater(t, values[i], values[i-1], "progress must increase: %v", values)
	}
}

func TestNilReporterDiscardsEverything(t *testing.T) {
	var r *Reporter
	r.Report("x")
	r.ReportAt(3, 4, "y")
	r.Heartbeat(context.Background(), time.Millisecond)()
	sent, dropped := r.Stats()
	assert.Zero(t, sent+dropped)
	assert.Nil(t, New(nil, newRecorder().send), "no token means no reporter")
}

func TestReportSendsTokenMessageAndIncreasingProgress(t *testing.T) {
	rec := newRecorder()
	r := New("tok-1", rec.send)
	r.Report("pending — 0/1 replicas ready")
	r.ReportAt(1, 0, "stale value is raised")
	r.ReportAt(10, 20, "half way")
	r.ReportAt(12, 11, "total below progress is dropped")

	require.Len(t, rec.got, 4)
	assert.Equal(t, "tok-1", rec.got[0]["progressToken"])
	assert.Equal(t, "pending — 0/1 replicas ready", rec.got[0]["message"])
	assert.Equal(t, 20.0, rec.got[2]["total"])
	assert.NotContains(t, rec.got[3], "total")
	requireIncreasing(t, rec.values())
}

func TestConcurrentReportsStayStrictlyIncreasing(t *testing.T) {
	rec := newRecorder()
	r := New(7, rec.send)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				r.Report("tick")
			}
		})
	}
	wg.Wait()
	values := rec.values()
	require.Len(t, values, 400)
	requireIncreasing(t, values)
}

func TestFullQueueDropsWithoutBlockingAndLaterValuesStillIncrease(t *testing.T) {
	rec := newRecorder()
	r := New("t", rec.send)
	r.Report("one")
	rec.full = true
	r.Report("dropped")
	r.Report("dropped too")
	rec.full = false
	r.Report("four")

	sent, dropped := r.Stats()
	assert.Equal(t, 2, sent)
	assert.Equal(t, 2, dropped)
	assert.Equal(t, []float64{1, 4}, rec.values())
}

func TestHeartbeatRepeatsLastMessageUntilStopped(t *testing.T) {
	rec := newRecorder()
	r := New("hb", rec.send)
	r.Report("initializing — 0/1 replicas ready")
	<-rec.notify
	stop := r.Heartbeat(context.Background(), 5*time.Millisecond)
	for range 2 {
		select {
		case <-rec.notify:
		case <-time.After(5 * time.Second):
			t.Fatal("no heartbeat arrived")
		}
	}
	stop()
	n := len(rec.values())
	require.GreaterOrEqual(t, n, 3)
	rec.mu.Lock()
	last := rec.got[len(rec.got)-1]["message"]
	rec.mu.Unlock()
	assert.Equal(t, "initializing — 0/1 replicas ready", last)
	assert.Len(t, rec.values(), n, "stop waits for the heartbeat goroutine")
	requireIncreasing(t, rec.values())
}

// callWithReporter runs a tools/call through a real MCPServer on an in-process
// session; the tool hands the reporter FromRequest built to use.
func callWithReporter(t *testing.T, meta string, use func(*Reporter)) *server.InProcessSession {
	t.Helper()
	srv := server.NewMCPServer("t", "1")
	srv.AddTool(mcp.NewTool("work"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		use(FromRequest(ctx, req))
		return mcp.NewToolResultText("done"), nil
	})
	session := server.NewInProcessSession("s-"+t.Name(), nil)
	session.Initialize()
	require.NoError(t, srv.RegisterSession(context.Background(), session))
	ctx := srv.WithContext(context.Background(), session)
	msg := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"work","arguments":{}` + meta + `}}`
	resp := srv.HandleMessage(ctx, []byte(msg))
	_, isErr := resp.(mcp.JSONRPCError)
	require.False(t, isErr, "tools/call failed: %#v", resp)
	return session
}

func TestFromRequestWithoutTokenOrServerIsNil(t *testing.T) {
	var req mcp.CallToolRequest
	assert.Nil(t, FromRequest(context.Background(), req), "no _meta, no reporter")
	req.Params.Meta = &mcp.Meta{ProgressToken: "abc"}
	assert.Nil(t, FromRequest(context.Background(), req), "no server in context, no reporter")
	callWithReporter(t, "", func(r *Reporter) { assert.Nil(t, r, "no progressToken, no reporter") })
}

func TestFromRequestSendsThroughTheSession(t *testing.T) {
	session := callWithReporter(t, `,"_meta":{"progressToken":"abc"}`, func(r *Reporter) {
		require.NotNil(t, r)
		r.Report("running")
	})
	select {
	case n := <-session.ClientNotifications():
		assert.Equal(t, Method, n.Method)
		assert.Equal(t, "abc", n.Params.AdditionalFields["progressToken"])
		assert.Equal(t, "running", n.Params.AdditionalFields["message"])
	default:
		t.Fatal("notification not queued on the session")
	}
}

func TestFromRequestToleratesAFullSessionQueue(t *testing.T) {
	var sent, dropped int
	callWithReporter(t, `,"_meta":{"progressToken":1}`, func(r *Reporter) {
		for range 250 { // the in-process queue holds 100 and nobody drains it
			r.Report("flood")
		}
		sent, dropped = r.Stats()
	})
	assert.Equal(t, 100, sent)
	assert.Equal(t, 150, dropped)
}

// TestHeartbeatGapNeverExceedsTheInterval drives a fake clock: whatever the
// timing of the caller's own reports, a beat follows one interval of silence.
func TestHeartbeatGapNeverExceedsTheInterval(t *testing.T) {
	rec := newRecorder()
	r := New("gap", rec.send)
	now := time.Unix(0, 0)
	r.now = func() time.Time { return now }
	start := now
	const interval = 4 * time.Second

	now = now.Add(time.Second)
	assert.Equal(t, 3*time.Second, r.beat(start, interval), "nothing sent yet: due one interval after start")
	now = now.Add(3 * time.Second)
	assert.Equal(t, interval, r.beat(start, interval), "silent for an interval: beat")
	require.Len(t, rec.got, 1)

	now = now.Add(3900 * time.Millisecond)
	r.Report("initializing — 0/1 replicas ready") // a report just before the next beat was due
	now = now.Add(100 * time.Millisecond)
	assert.Equal(t, 3900*time.Millisecond, r.beat(start, interval), "the next beat is due one interval after that report")
	now = now.Add(3900 * time.Millisecond)
	assert.Equal(t, interval, r.beat(start, interval))
	require.Len(t, rec.got, 3)
	assert.Equal(t, "initializing — 0/1 replicas ready", rec.got[2]["message"])
}
