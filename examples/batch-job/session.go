package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// modulePath is the server's Go package, built when no -server is given.
const modulePath = "github.com/hf-endpoints-mcp/hf-endpoints-mcp"

// buildServer compiles the server into dir and returns the binary's path.
func buildServer(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "hf-endpoints-mcp")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, modulePath)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (run this from inside the repository): %w\n%s", modulePath, err, out)
	}
	return bin, nil
}

// session is an MCP client session with the server, plus what the flow
// needs: the progress bars of calls in flight and the server's stderr.
type session struct {
	cs     *sdk.ClientSession
	out    *printer
	stderr *syncBuffer
	tools  map[string]bool

	mu         sync.Mutex
	bars       map[string]*bar // by progress token
	confirming string          // namespace/name whose deletion the user confirms
}

// connect spawns the server and opens an MCP session with it over stdio.
func connect(ctx context.Context, bin string, args []string, out *printer) (*session, error) {
	out.step("start the MCP server: %s %s", filepath.Base(bin), strings.Join(args, " "))
	s := &session{out: out, stderr: &syncBuffer{}, bars: map[string]*bar{}}
	client := sdk.NewClient(&sdk.Implementation{Name: "batch-job", Version: "1"}, &sdk.ClientOptions{
		ProgressNotificationHandler: s.onProgress,
		ElicitationHandler:          s.onElicit,
	})
	cmd := exec.Command(bin, append(args, "--transport", "stdio", "--log-level", "warn")...)
	cmd.Env = append(os.Environ(), "HF_MCP_WAIT_POLL=250ms")
	cmd.Stderr = s.stderr
	cs, err := client.Connect(ctx, &sdk.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	if err != nil {
		return nil, s.withLog(fmt.Errorf("connect to the server: %w", err))
	}
	s.cs = cs
	init := cs.InitializeResult()
	list, err := cs.ListTools(ctx, nil)
	if err != nil {
		s.close()
		return nil, s.withLog(fmt.Errorf("tools/list: %w", err))
	}
	s.tools = map[string]bool{}
	for _, t := range list.Tools {
		s.tools[t.Name] = true
	}
	out.detail("%s %s, protocol %s, %d tools", init.ServerInfo.Name, init.ServerInfo.Version, init.ProtocolVersion, len(list.Tools))
	return s, nil
}

func (s *session) close() {
	if s.cs != nil {
		_ = s.cs.Close()
	}
}

// withLog appends the server's recent log lines to err, which helps when the
// server itself refused something.
func (s *session) withLog(err error) error {
	if log := strings.TrimSpace(s.stderr.String()); log != "" {
		return fmt.Errorf("%w\nserver log:\n%s", err, tailLines(log, 20))
	}
	return err
}

// toolError is a tool call that came back with isError: the server's text
// says what went wrong and what to do.
type toolError struct{ tool, text string }

func (e *toolError) Error() string { return e.tool + ": " + e.text }

// call runs a tool and decodes its structured content into out (when non-nil).
// A progress bar is drawn when label is not empty.
func (s *session) call(ctx context.Context, tool string, args map[string]any, out any, label string) error {
	params := &sdk.CallToolParams{Name: tool, Arguments: args}
	if label != "" {
		token := fmt.Sprintf("%s-%d", tool, time.Now().UnixNano())
		params.SetProgressToken(token)
		b := newBar(s.out, label)
		s.mu.Lock()
		s.bars[token] = b
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			delete(s.bars, token)
			s.mu.Unlock()
			b.finish()
		}()
	}
	res, err := s.cs.CallTool(ctx, params)
	if err != nil {
		return s.withLog(fmt.Errorf("%s: %w", tool, err))
	}
	if res.IsError {
		return &toolError{tool: tool, text: textOf(res)}
	}
	if out == nil {
		return nil
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return fmt.Errorf("%s: structured content: %w", tool, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: structured content %s: %w", tool, raw, err)
	}
	return nil
}

// onProgress feeds a progress notification to the bar of its call.
func (s *session) onProgress(_ context.Context, req *sdk.ProgressNotificationClientRequest) {
	s.mu.Lock()
	b := s.bars[fmt.Sprint(req.Params.ProgressToken)]
	s.mu.Unlock()
	if b != nil {
		b.update(req.Params.Message)
	}
}

func textOf(res *sdk.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := c.(*sdk.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// syncBuffer collects the server's stderr, written from the exec goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
