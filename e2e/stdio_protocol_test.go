package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stdioPeer talks raw JSON-RPC lines to the binary's stdio.
type stdioPeer struct {
	t     *testing.T
	stdin io.WriteCloser
	lines chan string
	pid   int
}

func startStdioPeer(t *testing.T) *stdioPeer {
	t.Helper()
	emu := startEmulator(t, fastTimings)
	stderr := &lockedBuffer{}
	cmd := serverCommand(t, stderr, []string{"serve", "--audit-log", "off"}, backendEnv(t, emu)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		assert.NoError(t, cmd.Wait(), "the server exits cleanly when its input ends; stderr:\n%s", stderr)
	})
	p := &stdioPeer{t: t, stdin: stdin, lines: make(chan string, 64), pid: cmd.Process.Pid}
	go func() {
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				close(p.lines)
				return
			}
			p.lines <- line
		}
	}()
	return p
}

func (p *stdioPeer) send(line string) {
	p.t.Helper()
	_, err := io.WriteString(p.stdin, line+"\n")
	require.NoError(p.t, err)
}

// answer returns the raw line answering id (its JSON text).
func (p *stdioPeer) answer(id string) string {
	p.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			require.True(p.t, ok, "the server closed its output")
			var msg map[string]json.RawMessage
			require.NoError(p.t, json.Unmarshal([]byte(line), &msg), line)
			if string(msg["id"]) == id {
				return line
			}
		case <-deadline:
			p.t.Fatalf("no answer to id %s", id)
		}
	}
}

// peakRSS is the process's peak resident memory (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestE2EStdioHoldsTheProtocol: the binary's stdio refuses a tools/call
// before initialize, echoes request ids byte for byte, and answers a 400 MiB
// line with an error without holding it in memory, then goes on serving.
func TestE2EStdioHoldsTheProtocol(t *testing.T) {
	p := startStdioPeer(t)

	p.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`)
	refused := p.answer(`1`)
	assert.Contains(t, refused, `"code":-32600`)
	assert.Contains(t, refused, "send initialize first")
	assert.NotContains(t, refused, `"result"`)

	p.send(`{"jsonrpc":"2.0","id":18446744073709551617,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`)
	assert.Contains(t, p.answer(`18446744073709551617`), `"id":18446744073709551617,"result"`)
	p.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	p.send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`)
	assert.Contains(t, p.answer(`3`), `"result"`, "served once initialized")

	const size = 400 << 20
	head := `{"jsonrpc":"2.0","id":4,"method":"ping","params":{"pad":"`
	tail := "\"}}\n"
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(p.stdin, io.MultiReader(strings.NewReader(head),
			io.LimitReader(repeatByte('a'), size-int64(len(head)+len(tail))), strings.NewReader(tail)))
		sent <- err
	}()
	tooLong := p.answer(`null`)
	require.NoError(t, <-sent)
	assert.Contains(t, tooLong, `"code":-32600`)
	assert.Contains(t, tooLong, "larger than 4 MiB")
	peak := peakRSS(t, p.pid)
	t.Logf("peak RSS of the server after a %d MiB stdio line: %.1f MiB", size>>20, float64(peak)/(1<<20))
	assert.Less(t, peak, int64(150<<20), "the line was not held in memory")

	p.send(`{"jsonrpc":"2.0","id":5,"method":"ping"}`)
	assert.Contains(t, p.answer(`5`), `"result"`, "and the server goes on")
}

type repeatByte byte

func (r repeatByte) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(r)
	}
	return len(b), nil
}
