package confirm_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/confirm"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/confirm/ledgertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFileLedger(t *testing.T) {
	dir := t.TempDir()
	ledgertest.Run(t, func(t *testing.T) confirm.Ledger {
		l, err := confirm.NewFileLedger(dir)
		require.NoError(t, err)
		return l
	})
}

func TestFileLedgerUnavailableRefusesTokens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ledger")
	l, err := confirm.NewFileLedger(dir)
	require.NoError(t, err)
	i, err := confirm.New(confirm.Options{Ledger: l})
	require.NoError(t, err)
	tok, _ := i.Issue(confirm.Claims{Action: "delete", Namespace: "alice", Name: "ep"})
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.WriteFile(dir, nil, 0o600)) // a file where the directory was
	err = i.Redeem(t.Context(), tok, confirm.Claims{Action: "delete", Namespace: "alice", Name: "ep"})
	require.ErrorIs(t, err, confirm.ErrLedger)
	assert.Contains(t, err.Error(), "unavailable")
}
