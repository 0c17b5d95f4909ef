package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readEntries parses every line of the log at path, failing on any malformed line.
func readEntries(t *testing.T, path string) []Entry {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var e Entry
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), "line %d: %q", n, sc.Text())
		out = append(out, e)
	}
	require.NoError(t, sc.Err())
	return out
}

func openTemp(t *testing.T) (*Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "hf-endpoints-mcp", "audit.jsonl")
	l, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l, path
}

func TestAppendWritesParsableLines(t *testing.T) {
	l, path := openTemp(t)
	when := time.Date(2026, 11, 27, 9, 0, 0, 123, time.FixedZone("CET", 3600))
	require.NoError(t, l.Append(Entry{
		Time: when, Client: "claude-code/2.1", Transport: "stdio", Tool: "pause_endpoint",
		Namespace: "acme", Endpoint: "llama", Arguments: map[string]any{"endpoint_name": "llama", "n": 3},
		Outcome: OutcomeOK, RequestID: "req-1",
	}))
	require.NoError(t, l.Append(Entry{Tool: "delete_endpoint", Outcome: OutcomeConfirmationRequired}))
	require.NoError(t, l.Append(Entry{Tool: "resume_endpoint", Outcome: OutcomeError, Error: "endpoint is paused"}))

	got := readEntries(t, path)
	require.Len(t, got, 3)
	assert.True(t, when.Equal(got[0].Time))
	assert.Equal(t, "pause_endpoint", got[0].Tool)
	assert.Equal(t, "acme", got[0].Namespace)
	assert.Equal(t, map[string]any{"endpoint_name": "llama", "n": float64(3)}, got[0].Arguments)
	assert.Equal(t, "req-1", got[0].RequestID)
	assert.False(t, got[1].Time.IsZero(), "zero Time means now")
	assert.Equal(t, OutcomeConfirmationRequired, got[1].Outcome)
	assert.Equal(t, "endpoint is paused", got[2].Error)

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"time":"2026-11-27T08:00:00.000000123Z"`, "times are UTC")
}

func TestAppendRejectsIncompleteEntry(t *testing.T) {
	l, _ := openTemp(t)
	err := l.Append(Entry{Outcome: OutcomeOK})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Tool")
	require.Error(t, l.Append(Entry{Tool: "pause_endpoint"}))
}

func TestFilePermissions(t *testing.T) {
	l, path := openTemp(t)
	require.NoError(t, l.Append(Entry{Tool: "t", Outcome: OutcomeOK}))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	loose := filepath.Join(t.TempDir(), "loose.jsonl")
	require.NoError(t, os.WriteFile(loose, []byte(`{"tool":"old","outcome":"ok"}`+"\n"), 0o644))
	require.NoError(t, os.Chmod(loose, 0o644)) // independent of the umask
	l2, err := Open(loose)
	require.NoError(t, err)
	defer l2.Close()
	fi, err = os.Stat(loose)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "looser permissions are tightened")
	require.NoError(t, l2.Append(Entry{Tool: "new", Outcome: OutcomeOK}))
	got := readEntries(t, loose)
	require.Len(t, got, 2, "existing lines are kept")
	assert.Equal(t, "old", got[0].Tool)
}

func TestOpenRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a regular file")

	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	_, err = Open(fifo) // must not block waiting for a reader
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a regular file")
}

func TestOpenRefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "someone-elses.txt")
	require.NoError(t, os.WriteFile(target, []byte("keep me\n"), 0o644))
	require.NoError(t, os.Chmod(target, 0o644)) // whatever the umask
	link := filepath.Join(dir, "audit.jsonl")
	require.NoError(t, os.Symlink(target, link))

	l, err := Open(link)
	require.Error(t, err)
	assert.Nil(t, l)
	assert.Contains(t, err.Error(), link+" is a symbolic link")
	assert.Contains(t, err.Error(), `or "off"`)

	fi, err := os.Stat(target)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), "the link's target is not chmod'ed")
	body, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "keep me\n", string(body), "nor written to")

	// A dangling link is refused too, rather than creating its target.
	dangling := filepath.Join(dir, "dangling.jsonl")
	require.NoError(t, os.Symlink(filepath.Join(dir, "created-through-the-link"), dangling))
	_, err = Open(dangling)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is a symbolic link")
	assert.NoFileExists(t, filepath.Join(dir, "created-through-the-link"))
}

func TestPartialLineFromCrashIsTerminated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(`{"tool":"a","outcome":"ok"}`+"\n"+`{"tool":"b","outc`), 0o600))
	l, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, l.Append(Entry{Tool: "c", Outcome: OutcomeOK}))
	require.NoError(t, l.Close())
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, `{"tool":"b","outc`, lines[1], "the fragment is kept on its own line")
	var e Entry
	require.NoError(t, json.Unmarshal([]byte(lines[2]), &e))
	assert.Equal(t, "c", e.Tool)
}

func TestOffAndNilAreNoops(t *testing.T) {
	t.Chdir(t.TempDir())
	l, err := Open(Off)
	require.NoError(t, err)
	assert.False(t, l.Enabled())
	l.AddSecrets("x")
	assert.NoError(t, l.Append(Entry{Tool: "t", Outcome: OutcomeOK}))
	assert.NoError(t, l.Close())
	_, err = os.Stat(Off)
	assert.True(t, os.IsNotExist(err), "no file named off is created")

	var nl *Log
	assert.False(t, nl.Enabled())
	nl.AddSecrets("x")
	assert.NoError(t, nl.Append(Entry{Tool: "t", Outcome: OutcomeOK}))
	assert.NoError(t, nl.Close())
	assert.Empty(t, nl.Path())
}

func TestAppendAfterClose(t *testing.T) {
	l, _ := openTemp(t)
	require.NoError(t, l.Close())
	assert.ErrorIs(t, l.Append(Entry{Tool: "t", Outcome: OutcomeOK}), ErrClosed)
	assert.NoError(t, l.Close(), "Close is idempotent")
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/var/lib/xdg")
	p, err := DefaultPath()
	require.NoError(t, err)
	assert.Equal(t, "/var/lib/xdg/hf-endpoints-mcp/audit.jsonl", p)

	t.Setenv("HOME", "/home/ada")
	for _, xdg := range []string{"", "relative/dir"} {
		t.Setenv("XDG_STATE_HOME", xdg)
		p, err = DefaultPath()
		require.NoError(t, err)
		assert.Equal(t, "/home/ada/.local/state/hf-endpoints-mcp/audit.jsonl", p, "XDG_STATE_HOME=%q", xdg)
	}
}

func TestOpenEmptyUsesDefaultPath(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	l, err := Open("")
	require.NoError(t, err)
	defer l.Close()
	assert.Equal(t, filepath.Join(state, "hf-endpoints-mcp", "audit.jsonl"), l.Path())
}

func TestConcurrentAppendsNeverInterleave(t *testing.T) {
	l, path := openTemp(t)
	const goroutines, each = 16, 25
	long := strings.Repeat("x", 3000) // long lines make interleaving visible if writes were split
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				errs <- l.Append(Entry{Tool: "update_endpoint", Outcome: OutcomeOK,
					RequestID: fmt.Sprintf("%d-%d", g, i), Arguments: map[string]any{"pad": long}})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got := readEntries(t, path)
	require.Len(t, got, goroutines*each)
	seen := map[string]bool{}
	for _, e := range got {
		assert.Equal(t, long, e.Arguments["pad"])
		seen[e.RequestID] = true
	}
	assert.Len(t, seen, goroutines*each, "every entry exactly once")
}

func TestUnencodableArgumentsStillRecorded(t *testing.T) {
	l, path := openTemp(t)
	require.NoError(t, l.Append(Entry{Tool: "create_endpoint", Outcome: OutcomeOK,
		Arguments: map[string]any{"bad": make(chan int)}}))
	got := readEntries(t, path)
	require.Len(t, got, 1)
	assert.Contains(t, got[0].Arguments["unrecorded"], "not JSON-encodable")
}
