package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/tools"
)

func TestGuardFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want guardConfig
		err  string
	}{
		{name: "defaults", want: guardConfig{confirmWith: tools.ConfirmAuto, maxHourlyCost: 10}},
		{name: "flags", args: []string{"--confirm-with", "token", "--max-hourly-cost", "25.5", "--disable-destructive", "--audit-log", "/tmp/a.jsonl"},
			want: guardConfig{confirmWith: tools.ConfirmToken, maxHourlyCost: 25.5, disableDestructive: true, auditLog: "/tmp/a.jsonl"}},
		{name: "environment", env: map[string]string{envConfirmWith: "elicitation", envMaxHourlyCost: "off", envDisableDestructive: "yes", envAuditLog: "off"},
			want: guardConfig{confirmWith: tools.ConfirmElicitation, maxHourlyCost: hfapi.NoCostCeiling, disableDestructive: true, auditLog: "off"}},
		{name: "a tiny ceiling asks for almost everything", args: []string{"--max-hourly-cost", "0.01"},
			want: guardConfig{confirmWith: tools.ConfirmAuto, maxHourlyCost: 0.01}},
		{name: "zero is ambiguous", args: []string{"--max-hourly-cost", "0"}, err: "or off to never ask"},
		{name: "negative", args: []string{"--max-hourly-cost", "-5"}, err: "use a positive number of USD per hour"},
		{name: "not a number", args: []string{"--max-hourly-cost", "ten"}, err: `--max-hourly-cost "ten"`},
		{name: "infinite", args: []string{"--max-hourly-cost", "Inf"}, err: "or off to never ask"},
		{name: "unknown mode", args: []string{"--confirm-with", "prompt"}, err: `unknown confirmation mode "prompt"; use auto, elicitation or token`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{envConfirmWith, envMaxHourlyCost, envDisableDestructive, envAuditLog} {
				t.Setenv(k, tc.env[k])
			}
			got, _, err := parseServeFlags(tc.args, io.Discard)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			got.guard.confirmRaw, got.guard.costRaw = "", ""
			assert.Equal(t, tc.want, got.guard)
		})
	}
}

func TestServeRefusesToStartWithoutItsAuditLog(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "a-directory"), 0o700))
	err := runServe(context.Background(), []string{"--audit-log", filepath.Join(dir, "a-directory")}, io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--audit-log off")
}

func TestServeRefusesASymlinkedAuditLog(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere.txt")
	require.NoError(t, os.WriteFile(target, []byte("not an audit log\n"), 0o644))
	require.NoError(t, os.Chmod(target, 0o644))
	link := filepath.Join(dir, "audit.jsonl")
	require.NoError(t, os.Symlink(target, link))
	err := runServe(context.Background(), []string{"--audit-log", link}, io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is a symbolic link")
	fi, err := os.Stat(target)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), "the target is left alone")
}
