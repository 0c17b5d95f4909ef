package audit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crashHelperEnv names the log file the helper process appends to; set only in the child.
const crashHelperEnv = "HF_ENDPOINTS_MCP_AUDIT_CRASH_HELPER"

// TestCrashHelper is not a test: run as a child by TestCrashSafety, it appends entries until killed and
// prints "done N" after each Append has returned.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashHelperEnv)
	if path == "" {
		t.Skip("helper process for TestCrashSafety")
	}
	l, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Bounded so an orphaned child cannot run forever if the parent dies.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; ctx.Err() == nil; i++ {
		err := l.Append(Entry{Tool: "update_endpoint", Outcome: OutcomeOK, RequestID: strconv.Itoa(i),
			Arguments: map[string]any{"seq": i, "pad": strings.Repeat("p", i%3000)}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Printf("done %d\n", i)
	}
	os.Exit(4)
}

// TestCrashSafety kills a process with SIGKILL while it appends: every line left must parse, and every
// entry whose Append had returned must be there.
func TestCrashSafety(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashHelper$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	completed := map[string]bool{}
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		seq, ok := strings.CutPrefix(sc.Text(), "done ")
		if !ok {
			continue
		}
		completed[seq] = true
		if len(completed) == 200 && !killed {
			require.NoError(t, cmd.Process.Kill()) // SIGKILL: no deferred code, no flushing
			killed = true
		}
	}
	err = cmd.Wait()
	require.True(t, killed, "child exited before being killed: %v", err)
	require.ErrorContains(t, err, "killed")

	present := map[string]bool{}
	for _, e := range readEntries(t, path) { // fails on any malformed line
		present[e.RequestID] = true
	}
	for seq := range completed {
		assert.True(t, present[seq], "entry %s was reported appended but is missing", seq)
	}
	assert.GreaterOrEqual(t, len(present), len(completed))
}
