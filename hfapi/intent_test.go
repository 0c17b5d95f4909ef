package hfapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// recordingAhead records intents (refusing them all when fail is set) and settlements.
type recordingAhead struct {
	mu       sync.Mutex
	fail     error
	intents  []hfapi.Intent
	settled  []hfapi.Settlement
	onIntent func(hfapi.Intent)
}

func (r *recordingAhead) Intent(_ context.Context, in hfapi.Intent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.onIntent != nil {
		r.onIntent(in)
	}
	if r.fail != nil {
		return r.fail
	}
	r.intents = append(r.intents, in)
	return nil
}

func (r *recordingAhead) Settled(_ context.Context, s hfapi.Settlement) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.settled = append(r.settled, s)
}

// changesSent counts the requests that change something, on every route of the emulator.
func changesSent(emu *emulator.Emulator) int64 {
	var n int64
	for _, r := range emu.Routes() {
		method, route, _ := strings.Cut(r, " ")
		if method != http.MethodGet {
			n += emu.Requests(method, route)
		}
	}
	return n
}

// TestNoChangeIsSentUnrecorded: when the intent cannot be recorded, no change of any kind reaches
// the API: create, catalog deploy, update, pause, resume, scale to zero and a confirmed delete all
// fail with a *NotRecordedError, and the emulator counts no request but reads.
func TestNoChangeIsSentUnrecorded(t *testing.T) {
	g := newGuardEnv(t)
	c := g.client(t)
	_, err := c.Create(t.Context(), "", smallSpec("kept"))
	require.NoError(t, err)
	plan, err := c.PrepareDelete(t.Context(), "", "kept")
	require.NoError(t, err)
	before := changesSent(g.emu)

	ahead := &recordingAhead{fail: errors.New("disk full")}
	ctx := hfapi.WithWriteAhead(t.Context(), ahead)
	changes := map[string]func() error{
		"create": func() error { _, err := c.Create(ctx, "", smallSpec("new")); return err },
		"catalog": func() error {
			_, err := c.CreateFromCatalog(ctx, "", hfapi.CatalogSpec{RepoID: "BAAI/bge-base-en-v1.5", Accelerator: "cpu"})
			return err
		},
		"update":        func() error { _, err := c.Update(ctx, "", "kept", hfapi.UpdateSpec{MaxReplica: ptr(2)}); return err },
		"pause":         func() error { _, err := c.Pause(ctx, "", "kept"); return err },
		"resume":        func() error { _, err := c.Resume(ctx, "", "kept", true); return err },
		"scale-to-zero": func() error { _, err := c.ScaleToZero(ctx, "", "kept"); return err },
		"delete":        func() error { _, err := c.Delete(ctx, "", "kept", plan.Token); return err },
	}
	for name, change := range changes {
		err := change()
		var notRecorded *hfapi.NotRecordedError
		require.ErrorAs(t, err, &notRecorded, name)
		assert.ErrorContains(t, err, "disk full", name)
		assert.ErrorContains(t, err, "nothing was changed", name)
	}
	assert.Equal(t, before, changesSent(g.emu), "no change reached the API")
	_, err = c.Get(t.Context(), "", "kept")
	assert.NoError(t, err, "the endpoint is still there")
}

// TestIntentIsRecordedBeforeTheRequest: the intent of each change is recorded while the API has
// not seen it yet, with the operation and endpoint it names.
func TestIntentIsRecordedBeforeTheRequest(t *testing.T) {
	g := newGuardEnv(t)
	c := g.client(t)
	ahead := &recordingAhead{}
	ahead.onIntent = func(hfapi.Intent) {
		assert.Equal(t, int64(len(ahead.intents)), changesSent(g.emu), "the intent precedes its request")
	}
	ctx := hfapi.WithWriteAhead(t.Context(), ahead)
	_, err := c.Create(ctx, "", smallSpec("seen"))
	require.NoError(t, err)
	_, err = c.Pause(ctx, "", "seen")
	require.NoError(t, err)
	plan, err := c.PrepareDelete(ctx, "", "seen")
	require.NoError(t, err)
	_, err = c.Delete(ctx, "", "seen", plan.Token)
	require.NoError(t, err)
	require.Len(t, ahead.intents, 3)
	assert.Equal(t, hfapi.Intent{Op: "create endpoint emulator-user/seen", Method: "POST", Namespace: "emulator-user", Name: "seen"}, ahead.intents[0])
	assert.Equal(t, "pause endpoint emulator-user/seen", ahead.intents[1].Op)
	assert.Equal(t, hfapi.Intent{Op: "delete endpoint emulator-user/seen", Method: "DELETE", Namespace: "emulator-user", Name: "seen"}, ahead.intents[2])
	assert.Empty(t, ahead.settled)
}

// answerWithheld serves the emulator on loopback, except that the changes matching withhold are
// carried out and their answer is then held back until the client gives up (cancels). done is
// told when such a change has been carried out.
func answerWithheld(t *testing.T, emu http.Handler, withhold func(*http.Request) bool) (base string, done chan struct{}) {
	done = make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !withhold(r) {
			emu.ServeHTTP(w, r)
			return
		}
		emu.ServeHTTP(httptest.NewRecorder(), r)
		done <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, done
}

// TestCancelledChangesAreSettledByWhatHappened: a delete (and a pause) carried out by the API whose
// answer never came, because the caller cancelled while waiting, is settled by reading the endpoint
// again: the endpoint is gone, so the delete succeeded, and the WriteAhead hears so; not "cancelled".
// A named catalog deploy is settled the same way.
// A delete that never reached the API settles as not done.
func TestCancelledChangesAreSettledByWhatHappened(t *testing.T) {
	g := newGuardEnv(t)
	isChange := func(r *http.Request) bool {
		return r.Method == http.MethodDelete || strings.HasSuffix(r.URL.Path, "/pause") || strings.HasSuffix(r.URL.Path, "/deploy")
	}
	base, done := answerWithheld(t, g.emu, isChange)
	c := g.client(t, func(cfg *hfapi.Config) {
		cfg.APIBase, cfg.HubBase, cfg.CatalogBase, cfg.HTTPClient = base+"/v2", base, base+"/api/catalog", nil
	})
	for _, name := range []string{"doomed", "paused"} {
		_, err := c.Create(t.Context(), "", smallSpec(name))
		require.NoError(t, err)
	}
	plan, err := c.PrepareDelete(t.Context(), "", "doomed")
	require.NoError(t, err)

	cancelOnceDone := func() (context.Context, *recordingAhead) {
		ahead := &recordingAhead{}
		ctx, cancel := context.WithCancel(hfapi.WithWriteAhead(t.Context(), ahead))
		t.Cleanup(cancel)
		go func() {
			select {
			case <-done:
				cancel()
			case <-ctx.Done():
			}
		}()
		return ctx, ahead
	}

	ctx, ahead := cancelOnceDone()
	ep, err := c.Delete(ctx, "", "doomed", plan.Token)
	require.NoError(t, err, "the endpoint is gone: the delete happened")
	assert.Equal(t, "doomed", ep.Name)
	require.Len(t, ahead.settled, 1)
	s := ahead.settled[0]
	assert.True(t, s.Done)
	assert.Contains(t, s.Lost, "context canceled")
	assert.Equal(t, "the endpoint no longer exists: it was deleted", s.Found)
	_, err = c.Get(t.Context(), "", "doomed")
	assert.True(t, hfapi.IsNotFound(err))

	ctx, ahead = cancelOnceDone()
	ep, err = c.Pause(ctx, "", "paused")
	require.NoError(t, err)
	assert.Equal(t, hfapi.StatePaused, ep.Status.State)
	require.Len(t, ahead.settled, 1)
	assert.True(t, ahead.settled[0].Done)
	assert.Contains(t, ahead.settled[0].Found, "paused")

	ctx, ahead = cancelOnceDone()
	ep, err = c.CreateFromCatalog(ctx, "", hfapi.CatalogSpec{RepoID: "BAAI/bge-base-en-v1.5", EndpointName: "named", Accelerator: "cpu"})
	require.NoError(t, err, "the named deploy happened")
	assert.Equal(t, "named", ep.Name)
	require.Len(t, ahead.settled, 1)
	assert.Equal(t, "the endpoint exists with this model: it was created", ahead.settled[0].Found)
}

// TestLostDeleteThatDidNotHappen: the DELETE is cut off before the API carried it out; the re-read
// finds the endpoint, so the delete is reported as not done, with what was found.
func TestLostDeleteThatDidNotHappen(t *testing.T) {
	g := newGuardEnv(t)
	base, _ := answerWithheld(t, g.emu, func(*http.Request) bool { return false })
	c := g.client(t, func(cfg *hfapi.Config) {
		cfg.APIBase, cfg.HubBase, cfg.CatalogBase, cfg.HTTPClient = base+"/v2", base, base+"/api/catalog", nil
	})
	_, err := c.Create(t.Context(), "", smallSpec("survivor"))
	require.NoError(t, err)
	plan, err := c.PrepareDelete(t.Context(), "", "survivor")
	require.NoError(t, err)
	require.NoError(t, g.emu.InjectFault(emulator.Fault{Method: http.MethodDelete, Route: routeEndpoint, Drop: true, Count: 1}))

	ahead := &recordingAhead{}
	_, err = c.Delete(hfapi.WithWriteAhead(t.Context(), ahead), "", "survivor", plan.Token)
	require.Error(t, err)
	assert.ErrorContains(t, err, "the endpoint still exists")
	require.Len(t, ahead.settled, 1)
	assert.False(t, ahead.settled[0].Done)
	_, err = c.Get(t.Context(), "", "survivor")
	assert.NoError(t, err)
}
