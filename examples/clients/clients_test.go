// Package clients holds client configuration snippets for hf-endpoints-mcp;
// its test runs every command they contain against the real server binary.
package clients

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/srcdeps"
)

const (
	binaryName = "hf-endpoints-mcp"
	modulePath = "github.com/hf-endpoints-mcp/hf-endpoints-mcp"
)

// bin is the server, built once.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clients-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, binaryName)
	if out, err := exec.Command("go", "build", "-o", bin, modulePath).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the server: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one configured MCP server: a command to spawn (stdio) or a URL.
type server struct {
	Type    string            `json:"type"`
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env"`
	URL     string            `json:"url"`
}

// placeholders stand for what clients substitute at start-up.
var placeholders = regexp.MustCompile(`\$\{(input|env):[^}]+\}|\$HF_TOKEN|hf_your_token_here`)

// checkStdio runs the configured command, as the client would, with an
// empty stdin: the server must accept every flag, start, and exit 0 at EOF.
func checkStdio(t *testing.T, s server) {
	t.Helper()
	require.Equal(t, binaryName, filepath.Base(s.Command), "the command is the server binary")
	require.NotEmpty(t, s.Args)
	require.Equal(t, "serve", s.Args[0], "the serve command is named, so the intent is explicit")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, s.Args...)
	home := t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "HF_HOME=" + home}
	for k, v := range s.Env {
		cmd.Env = append(cmd.Env, k+"="+placeholders.ReplaceAllString(v, "hf_placeholder"))
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s rejected its configuration:\n%s", binaryName, strings.Join(s.Args, " "), out)
	assert.NotContains(t, string(out), "level=ERROR")
}

// checkHTTP checks a streamable HTTP URL against the server's default
// address and path.
func checkHTTP(t *testing.T, raw string) {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	assert.Equal(t, "http", u.Scheme)
	assert.Equal(t, defaultAddr(t), u.Host, "the URL names serve's default --addr")
	assert.Equal(t, "/mcp", u.Path, "streamable HTTP is served at /mcp")
}

var addrDefault = regexp.MustCompile(`(?m)^\s+-addr string\n.*\(default "([^"]+)"\)`)

// defaultAddr reads serve's default listen address from its help.
func defaultAddr(t *testing.T) string {
	t.Helper()
	out, _ := exec.Command(bin, "serve", "-h").CombinedOutput()
	m := addrDefault.FindStringSubmatch(string(out))
	require.NotNil(t, m, "serve -h lists -addr with a default:\n%s", out)
	return m[1]
}

func TestJSONConfigs(t *testing.T) {
	for _, tc := range []struct {
		file, key string
		http      func(server) (string, bool)
	}{
		{"claude_desktop_config.json", "mcpServers", nil},
		{"vscode/mcp.json", "servers", func(s server) (string, bool) { return s.URL, s.Type == "http" }},
		{"cursor/mcp.json", "mcpServers", func(s server) (string, bool) { return s.URL, s.URL != "" }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(tc.file)
			require.NoError(t, err)
			var doc map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(raw, &doc), "valid JSON")
			var servers map[string]server
			require.NoError(t, json.Unmarshal(doc[tc.key], &servers), "servers under %q", tc.key)
			require.Contains(t, servers, "hf-endpoints")
			require.Contains(t, servers, "hf-endpoints-emulator")
			assert.Equal(t, []string{"serve", "--emulator"}, servers["hf-endpoints-emulator"].Args)
			assert.Contains(t, servers["hf-endpoints"].Env, "HF_TOKEN", "the account entry passes the token via env")
			for name, s := range servers {
				t.Run(name, func(t *testing.T) {
					if tc.http != nil {
						if u, ok := tc.http(s); ok {
							checkHTTP(t, u)
							return
						}
					}
					checkStdio(t, s)
				})
			}
		})
	}
}

func TestVSCodePromptsForTheToken(t *testing.T) {
	raw, err := os.ReadFile("vscode/mcp.json")
	require.NoError(t, err)
	var doc struct {
		Inputs []struct {
			Type, ID string
			Password bool
		}
		Servers map[string]server
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Len(t, doc.Inputs, 1)
	in := doc.Inputs[0]
	assert.Equal(t, "promptString", in.Type)
	assert.True(t, in.Password, "the token is typed like a password")
	assert.Equal(t, "${input:"+in.ID+"}", doc.Servers["hf-endpoints"].Env["HF_TOKEN"])
}

// TestClaudeCodeCommands checks every `claude mcp add` line and the server
// command the script tells the user to start.
func TestClaudeCodeCommands(t *testing.T) {
	f, err := os.Open("claude_code.sh")
	require.NoError(t, err)
	defer f.Close()
	var adds, httpServers int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "claude mcp add "):
			adds++
			checkClaudeAdd(t, shellWords(t, strings.TrimPrefix(line, "claude mcp add ")))
		case strings.HasPrefix(line, "#") && strings.Contains(line, binaryName+" serve --transport http"):
			httpServers++
			words := shellWords(t, strings.TrimSpace(strings.TrimLeft(line, "# ")))
			checkServeHTTP(t, words[1:])
		}
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, 3, adds, "account, emulator and HTTP entries")
	assert.Equal(t, 1, httpServers, "the HTTP entry says how to start its server")
}

// checkClaudeAdd checks `claude mcp add [options] name (-- command args | url)`.
func checkClaudeAdd(t *testing.T, words []string) {
	t.Helper()
	s := server{Env: map[string]string{}}
	i := 0
	for ; i < len(words) && strings.HasPrefix(words[i], "--") && words[i] != "--"; i += 2 {
		require.Less(t, i+1, len(words), "option %s has a value", words[i])
		switch words[i] {
		case "--scope":
			assert.Contains(t, []string{"user", "project", "local"}, words[i+1])
		case "--transport":
			s.Type = words[i+1]
		case "--env":
			k, v, ok := strings.Cut(words[i+1], "=")
			require.True(t, ok, "--env takes KEY=value")
			s.Env[k] = v
		default:
			t.Fatalf("unknown claude mcp add option %s", words[i])
		}
	}
	require.Less(t, i, len(words), "a server name follows the options")
	rest := words[i+1:]
	if s.Type == "http" {
		require.Len(t, rest, 1, "an HTTP entry is a URL")
		checkHTTP(t, rest[0])
		return
	}
	require.Equal(t, "--", rest[0], "the command follows --")
	s.Command, s.Args = rest[1], rest[2:]
	checkStdio(t, s)
}

// checkServeHTTP runs the documented HTTP server command on a free port
// until it answers: its flags are real and it listens where the URL says.
func checkServeHTTP(t *testing.T, args []string) {
	t.Helper()
	require.Equal(t, "serve", args[0])
	for i, a := range args {
		if a == "--addr" {
			assert.Equal(t, defaultAddr(t), args[i+1])
			args[i+1] = "127.0.0.1:0"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	home := t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "HF_HOME=" + home, "HF_TOKEN=hf_placeholder"}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(stderr)
	var log strings.Builder
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "/mcp") {
			return // it listens and names its streamable HTTP URL
		}
	}
	t.Fatalf("%s %s did not start serving:\n%s", binaryName, strings.Join(args, " "), log.String())
}

// shellWords splits a simple shell line: words, double quotes, $VARS kept as text.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inQuote, inWord := false, false
	for _, r := range line {
		switch {
		case r == '"':
			inQuote, inWord = !inQuote, true
		case r == ' ' && !inQuote:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	require.False(t, inQuote, "unbalanced quotes in %q", line)
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestCacheFollowsServerSources makes the server's sources inputs of this package's
// tests: the server is built by a subprocess, whose reads go test cannot see.
func TestCacheFollowsServerSources(t *testing.T) { srcdeps.Read(t) }
