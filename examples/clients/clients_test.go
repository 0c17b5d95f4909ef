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
	"slices"
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
	Headers map[string]string `json:"headers"`
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

var addrDefault = regexp.MustCompile(`(?m)^  --addr string\n.*\(default ([^()\s]+)\)`)

// defaultAddr reads serve's default listen address from its help.
func defaultAddr(t *testing.T) string {
	t.Helper()
	out, _ := exec.Command(bin, "serve", "-h").CombinedOutput()
	m := addrDefault.FindStringSubmatch(string(out))
	require.NotNil(t, m, "serve -h lists --addr with a default:\n%s", out)
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
							checkBearer(t, s.Headers["Authorization"])
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
	require.Len(t, doc.Inputs, 2, "the HF token, and the HTTP server's bearer token")
	for _, in := range doc.Inputs {
		assert.Equal(t, "promptString", in.Type)
		assert.True(t, in.Password, "a token is typed like a password")
	}
	assert.Equal(t, "${input:"+doc.Inputs[0].ID+"}", doc.Servers["hf-endpoints"].Env["HF_TOKEN"])
	assert.Equal(t, "Bearer ${input:"+doc.Inputs[1].ID+"}", doc.Servers["hf-endpoints-http"].Headers["Authorization"])
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

// claudeAdd is one `claude mcp add` command line as Claude Code parses it.
type claudeAdd struct {
	name, transport, scope string
	env                    map[string]string
	headers                []string
	command                []string // the command and its arguments, or the URL
	dashDash               bool     // the command came after --
}

// claudeAddOptions are the options of `claude mcp add` and whether each takes
// one or more values (variadic) rather than exactly one.
var claudeAddOptions = map[string]struct {
	long     string
	variadic bool
}{
	"-s": {"--scope", false}, "--scope": {"--scope", false},
	"-t": {"--transport", false}, "--transport": {"--transport", false},
	"-e": {"--env", true}, "--env": {"--env", true},
	"-H": {"--header", true}, "--header": {"--header", true},
}

// parseClaudeAdd parses the words after `claude mcp add` the way Claude Code's
// command-line parser (commander) does: `add [options] <name> <commandOrUrl>
// [args...]`, where options may come before or between the positional
// arguments until `--`, and a variadic option (--env, --header) takes every
// following word up to the next one starting with "-". So in
// `--env K=v name -- cmd` the name is taken as a second environment variable,
// which Claude Code rejects ("Invalid environment variable format: name").
func parseClaudeAdd(words []string) (claudeAdd, error) {
	c := claudeAdd{env: map[string]string{}}
	var positional []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if c.dashDash || !strings.HasPrefix(w, "-") {
			positional = append(positional, w)
			continue
		}
		if w == "--" {
			c.dashDash = true
			continue
		}
		opt, ok := claudeAddOptions[w]
		if !ok {
			return c, fmt.Errorf("unknown claude mcp add option %s", w)
		}
		var values []string
		for i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") {
			i++
			values = append(values, words[i])
			if !opt.variadic {
				break
			}
		}
		if len(values) == 0 {
			return c, fmt.Errorf("option %s needs a value", w)
		}
		switch opt.long {
		case "--scope":
			if !slices.Contains([]string{"user", "project", "local"}, values[0]) {
				return c, fmt.Errorf("--scope %s: want user, project or local", values[0])
			}
			c.scope = values[0]
		case "--transport":
			c.transport = values[0]
		case "--header":
			c.headers = append(c.headers, values...)
		case "--env":
			for _, v := range values {
				key, val, ok := strings.Cut(v, "=")
				if !ok || key == "" {
					return c, fmt.Errorf("invalid environment variable format: %s (--env takes KEY=value; put the server name before the options)", v)
				}
				c.env[key] = val
			}
		}
	}
	if len(positional) < 2 {
		return c, fmt.Errorf("want a server name and a command or URL, got %q", positional)
	}
	c.name, c.command = positional[0], positional[1:]
	return c, nil
}

// checkClaudeAdd checks one `claude mcp add` line: it parses as Claude Code
// parses it, and its command starts the real server (or its URL is right).
func checkClaudeAdd(t *testing.T, words []string) {
	t.Helper()
	c, err := parseClaudeAdd(words)
	require.NoError(t, err, "claude mcp add %s", strings.Join(words, " "))
	require.True(t, strings.HasPrefix(c.name, "hf-endpoints"), "server name %q", c.name)
	if c.transport == "http" {
		require.Len(t, c.command, 1, "an HTTP entry is a URL")
		require.False(t, c.dashDash, "an HTTP entry has no command after --")
		checkHTTP(t, c.command[0])
		require.Len(t, c.headers, 1, "an HTTP entry sends one header")
		name, value, _ := strings.Cut(c.headers[0], ":")
		require.Equal(t, "Authorization", name)
		checkBearer(t, strings.TrimSpace(value))
		return
	}
	require.True(t, c.dashDash, "the command follows --, so that its flags are not taken for claude's")
	checkStdio(t, server{Command: c.command[0], Args: c.command[1:], Env: c.env})
}

// TestClaudeAddParsing pins the model of Claude Code's parser that
// checkClaudeAdd relies on, with forms that Claude Code rejects.
func TestClaudeAddParsing(t *testing.T) {
	for _, tc := range []struct {
		line, name, err string
		env             map[string]string
		command         []string
	}{
		{line: `hf-endpoints --scope user --env HF_TOKEN="$HF_TOKEN" -- hf-endpoints-mcp serve`,
			name: "hf-endpoints", env: map[string]string{"HF_TOKEN": "$HF_TOKEN"}, command: []string{"hf-endpoints-mcp", "serve"}},
		{line: `hf-endpoints -e A=1 B=2 -s local -- hf-endpoints-mcp serve --read-only`,
			name: "hf-endpoints", env: map[string]string{"A": "1", "B": "2"}, command: []string{"hf-endpoints-mcp", "serve", "--read-only"}},
		{line: `--scope user --transport http x http://127.0.0.1:8080/mcp`,
			name: "x", env: map[string]string{}, command: []string{"http://127.0.0.1:8080/mcp"}},
		// The form `claude mcp add --help` shows, which Claude Code rejects:
		// --env swallows the server name.
		{line: `--scope user --env HF_TOKEN="$HF_TOKEN" hf-endpoints -- hf-endpoints-mcp serve`,
			err: "invalid environment variable format: hf-endpoints"},
		{line: `-e A=1 x -- cmd`, err: "invalid environment variable format: x"},
		{line: `x --scope -- cmd`, err: "option --scope needs a value"},
		{line: `x --scope global -- cmd`, err: "want user, project or local"},
		{line: `x --timeout 3 -- cmd`, err: "unknown claude mcp add option --timeout"},
		{line: `x --`, err: "want a server name and a command or URL"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			c, err := parseClaudeAdd(shellWords(t, tc.line))
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.name, c.name)
			assert.Equal(t, tc.env, c.env)
			assert.Equal(t, tc.command, c.command)
		})
	}
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

// checkBearer checks an HTTP entry's Authorization header: the server generates a bearer token for
// loopback HTTP, so an entry without one would be refused.
func checkBearer(t *testing.T, value string) {
	t.Helper()
	assert.True(t, strings.HasPrefix(value, "Bearer ") && len(value) > len("Bearer "),
		"an HTTP entry sends the server's bearer token: Authorization %q", value)
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
