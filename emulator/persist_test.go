package emulator

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRestartWithStateFileKeepsEveryEndpoint(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	opts := Options{StateFile: file, Orgs: []string{"acme"}, Timings: fastTimings, Seed: 1}
	s1, err := Start("127.0.0.1:0", opts)
	require.NoError(t, err)
	c := newClient(t, s1, s1.Token())
	c.running("emulator-user", "keep", map[string]any{"tags": []any{"a"}, "model": map[string]any{"env": map[string]any{"K": "v"}}})
	c.running("acme", "org-ep")
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user/keep/pause", nil)
	require.Equal(t, http.StatusOK, code)
	c.running("emulator-user", "zero")
	code, _ = c.obj("POST", "/v2/endpoint/emulator-user/zero/scale-to-zero", nil)
	require.Equal(t, http.StatusOK, code)
	code, _ = c.obj("POST", "/v2/endpoint/emulator-user", createBody("gone"))
	require.Equal(t, http.StatusAccepted, code)
	resp, _ := c.do("DELETE", "/v2/endpoint/emulator-user/gone", nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	before := map[string]map[string]any{
		"keep": c.get("emulator-user", "keep"), "zero": c.get("emulator-user", "zero"), "org-ep": c.get("acme", "org-ep"),
	}
	require.NoError(t, s1.Close())

	entries, err := os.ReadDir(filepath.Dir(file))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temp file left behind")

	s2 := start(t, opts)
	c2 := newClient(t, s2, s2.Token())
	keep := c2.get("emulator-user", "keep")
	assert.Equal(t, StatePaused, stateOf(keep))
	assert.Equal(t, []any{"a"}, keep["tags"])
	assert.Equal(t, dig(before["keep"], "status", "createdAt"), dig(keep, "status", "createdAt"))
	assert.Equal(t, dig(before["keep"], "status", "updatedAt"), dig(keep, "status", "updatedAt"))
	zero := c2.get("emulator-user", "zero")
	assert.Equal(t, StateScaledToZero, stateOf(zero))
	org := c2.get("acme", "org-ep")
	assert.Equal(t, StateRunning, stateOf(org))
	// The endpoint keeps its id; only the port in its URL changed.
	assert.Equal(t, filepath.Base(urlOf(before["org-ep"])), filepath.Base(urlOf(org)))
	resp, _ = c2.do("POST", urlOf(org), map[string]any{"inputs": "still here"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	code, _ = c2.obj("GET", "/v2/endpoint/emulator-user/gone", nil)
	assert.Equal(t, http.StatusNotFound, code)

	// Resuming after the restart works and is persisted too.
	code, _ = c2.obj("POST", "/v2/endpoint/emulator-user/keep/resume", nil)
	require.Equal(t, http.StatusOK, code)
	c2.waitState("emulator-user", "keep", StateRunning)
}

func TestRestartResumesInterruptedDeployment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	slow := Options{StateFile: file, Timings: Timings{Deploy: 1 << 40}}
	s1, err := Start("127.0.0.1:0", slow)
	require.NoError(t, err)
	c := newClient(t, s1, s1.Token())
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user", createBody("mid"))
	require.Equal(t, http.StatusAccepted, code)
	require.NoError(t, s1.Close())

	s2 := start(t, Options{StateFile: file})
	newClient(t, s2, s2.Token()).waitState("emulator-user", "mid", StateRunning)
}

func TestCorruptStateFileIsAClearError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(file, []byte("{not json"), 0o600))
	_, err := New(Options{StateFile: file})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not valid JSON")
	assert.Contains(t, err.Error(), "move it away")
}
