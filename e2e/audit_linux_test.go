package e2e

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// limitFileSize sets the file size limit (RLIMIT_FSIZE) of process pid: a write that would grow a
// file past it fails with EFBIG, as on a full disk (Go ignores the SIGXFSZ that comes with it).
func limitFileSize(t *testing.T, pid int, bytes uint64) {
	t.Helper()
	lim := syscall.Rlimit{Cur: bytes, Max: bytes}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_FSIZE,
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	require.Zero(t, errno, "prlimit")
}

// TestE2EUnwritableAuditLogStopsEveryChange: the server's audit log stops
// taking writes (the process may not grow it, as on a full disk). Every
// mutating tool then fails with a clear error and the emulator receives no
// change at all; reads still work.
func TestE2EUnwritableAuditLogStopsEveryChange(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	s, cmd := stdioSession(t, backendEnv(t, emu), "--audit-log", auditPath)
	ok(t, s, emu, "create_endpoint", cpuSpec("kept", "openai-community/gpt2", "text-generation"))
	tok := ok(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "kept"})["confirmation_token"]
	require.NotEmpty(t, tok)
	fi, err := os.Stat(auditPath)
	require.NoError(t, err)
	limitFileSize(t, cmd.Process.Pid, uint64(fi.Size()))
	before := changes(emu)

	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"create_endpoint", cpuSpec("new", "openai-community/gpt2", "text-generation")},
		{"create_endpoint_from_catalog", map[string]any{"repository": "BAAI/bge-base-en-v1.5", "accelerator": "cpu"}},
		{"update_endpoint", map[string]any{"endpoint_name": "kept", "max_replica": 2}},
		{"pause_endpoint", map[string]any{"endpoint_name": "kept"}},
		{"resume_endpoint", map[string]any{"endpoint_name": "kept"}},
		{"scale_endpoint_to_zero", map[string]any{"endpoint_name": "kept"}},
		{"delete_endpoint", map[string]any{"endpoint_name": "kept", "confirmation_token": tok}},
	} {
		msg := failing(t, s, emu, c.tool, c.args)
		assert.Contains(t, msg, "not sent", c.tool)
		assert.Contains(t, msg, "the audit log cannot be written", c.tool)
		assert.Contains(t, msg, "nothing was changed", c.tool)
	}
	assert.Equal(t, before, changes(emu), "no change reached the API")
	assert.Equal(t, "kept", endpointOf(ok(t, s, emu, "get_endpoint", map[string]any{"endpoint_name": "kept"}))["name"])
	after, err := os.Stat(auditPath)
	require.NoError(t, err)
	assert.Equal(t, fi.Size(), after.Size(), "nothing could be written")
}
