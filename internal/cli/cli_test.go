package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersionPrintsVersionAndGoVersion(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, Run(context.Background(), []string{"version"}, &out, &bytes.Buffer{}))
	assert.Contains(t, out.String(), "hf-endpoints-mcp "+Version)
	assert.Contains(t, out.String(), runtime.Version())
}

func TestUnknownCommandNamesTheValidOnes(t *testing.T) {
	err := Run(context.Background(), []string{"deploy"}, &bytes.Buffer{}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"deploy"`)
	assert.Contains(t, err.Error(), "serve, emulator, version")
}

// runMain runs the command as the binary does: its exit code, stdout and stderr.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestHelpListsTheCommandsAndServeFlagsInGroups(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"serve", "--help"}, {"serve", "-h"}} {
		code, stdout, stderr := runMain(t, args...)
		require.Equal(t, 0, code, "%v exits 0", args)
		assert.Empty(t, stderr, "%v", args)
		for _, want := range []string{
			"hf-endpoints-mcp [serve] [flags]", "hf-endpoints-mcp emulator [flags]", "hf-endpoints-mcp version",
			"\nServer:\n", "\nGuardrails:\n", "\nHTTP transports (--transport sse or http):\n",
			"  --transport string\n", "(env HF_MCP_TRANSPORT) (default stdio)", "  --read-only\n",
		} {
			assert.Contains(t, stdout, want, "%v", args)
		}
		assert.NotRegexp(t, `(?m)^\s+-[a-z]`, stdout, "%v: flags are shown with two dashes", args)
	}
	code, stdout, _ := runMain(t, "emulator", "--help")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "Usage: hf-endpoints-mcp emulator [flags]")
	assert.Contains(t, stdout, "\nTimings:\n  --deploy-time duration\n      time from pending to running (default 3s)\n")
}

func TestVersionFlagWorksLikeVersion(t *testing.T) {
	_, want, _ := runMain(t, "version")
	for _, args := range [][]string{{"--version"}, {"-version"}} {
		code, stdout, stderr := runMain(t, args...)
		assert.Equal(t, 0, code)
		assert.Equal(t, want, stdout)
		assert.Empty(t, stderr)
	}
}

func TestMisspeltFlagsAndCommandsAreOneLineNamingTheNearest(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--emulater"}, "hf-endpoints-mcp: unknown flag --emulater; did you mean --emulator? (run 'hf-endpoints-mcp serve --help' for the flags)\n"},
		{[]string{"serve", "--max-hourly-cots", "5"}, "hf-endpoints-mcp: unknown flag --max-hourly-cots; did you mean --max-hourly-cost? (run 'hf-endpoints-mcp serve --help' for the flags)\n"},
		{[]string{"emulator", "--deploy-tme", "1s"}, "hf-endpoints-mcp: unknown flag --deploy-tme; did you mean --deploy-time? (run 'hf-endpoints-mcp emulator --help' for the flags)\n"},
		{[]string{"--zzzzzz"}, "hf-endpoints-mcp: unknown flag --zzzzzz (run 'hf-endpoints-mcp serve --help' for the flags)\n"},
		{[]string{"--addr"}, "hf-endpoints-mcp: flag needs an argument: --addr (run 'hf-endpoints-mcp serve --help' for the flags)\n"},
		{[]string{"emulater"}, "hf-endpoints-mcp: unknown command \"emulater\"; did you mean emulator? (the commands are serve, emulator, version, help; run 'hf-endpoints-mcp --help')\n"},
	} {
		code, stdout, stderr := runMain(t, tc.args...)
		assert.Equal(t, 1, code, "%v", tc.args)
		assert.Empty(t, stdout, "%v", tc.args)
		assert.Equal(t, tc.want, stderr, "%v", tc.args)
	}
}

func TestUsageNeverPrintsASecret(t *testing.T) {
	const authToken = "auth-token-from-the-environment-0123456789"
	const hfLike = "hf_" + "abcdefghijklmnopqrstuvwxyz0123"
	t.Setenv(envAuthToken, authToken)
	const redisPassword = "redis-password-0123456789"
	t.Setenv(envAllowedHosts, hfLike)
	t.Setenv("HF_MCP_REDIS_URL", "redis://:"+redisPassword+"@redis:6379/0")
	for _, args := range [][]string{{"--help"}, {"--bogus"}, {"--auth-token"}, {"--transport", "carrier-pigeon"}} {
		_, stdout, stderr := runMain(t, args...)
		for _, secret := range []string{authToken, hfLike, redisPassword} {
			assert.NotContains(t, stdout+stderr, secret, "%v", args)
		}
	}
	_, stdout, _ := runMain(t, "--help")
	assert.Contains(t, stdout, "(env MCP_AUTH_TOKEN) (set)")
	assert.Contains(t, stdout, "(env HF_MCP_REDIS_URL) (default redis://:xxxxx@redis:6379/0)")
}

func TestStdioWarnsOfIgnoredHTTPFlagsAndSaysWhatItServes(t *testing.T) {
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	saved := serveStdin
	serveStdin = strings.NewReader("") // the client hangs up at once
	t.Cleanup(func() { serveStdin = saved })
	var stderr bytes.Buffer
	err := Run(context.Background(), []string{"--emulator", "--addr", "127.0.0.1:9", "--session-idle-timeout", "1h",
		"--audit-log", auditPath}, io.Discard, &stderr)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	require.Len(t, lines, 2, stderr.String())
	assert.Contains(t, lines[0], `level=WARN msg="flags for the HTTP transports have no effect with --transport stdio" ignored="--addr, --session-idle-timeout"`)
	assert.Contains(t, lines[1], `level=INFO msg="serving MCP over stdio" tools=`)
	assert.Contains(t, lines[1], `api="in-process emulator (started on the first call)" audit_log=`+auditPath)
}

func TestStartLineNamesTheAPIAndWarnsOfEveryInterface(t *testing.T) {
	t.Setenv("HF_ENDPOINTS_API_URL", "")
	cfg := serveConfig{transport: "http", addr: "0.0.0.0:8080"}
	attrs := fmt.Sprint(startAttrs(cfg, nil))
	assert.Contains(t, attrs, "api https://api.endpoints.huggingface.cloud/v2 audit_log off")
	assert.Contains(t, attrs, "--allowed-hosts")
	for _, addr := range []string{"[::]:8080", ":8080"} {
		cfg.addr = addr
		assert.Contains(t, fmt.Sprint(startAttrs(cfg, nil)), "--allowed-hosts", addr)
	}
	cfg.http.allowedHosts = []string{"mcp.example.com"}
	assert.NotContains(t, fmt.Sprint(startAttrs(cfg, nil)), "--allowed-hosts")
	cfg = serveConfig{transport: "http", addr: "127.0.0.1:8080"}
	assert.NotContains(t, fmt.Sprint(startAttrs(cfg, nil)), "--allowed-hosts")
}
