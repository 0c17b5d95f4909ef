package confirm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Ledger remembers, for every process that shares it, which tokens were
// redeemed and which endpoints were retired. Implementations: FileLedger (the
// processes of one machine) and the Redis ledger of internal/replicas.
type Ledger interface {
	// Spend records the token nonce as used until expiry. It returns ErrUsed
	// when nonce was spent before, and another error when the ledger cannot
	// answer (the token is then refused).
	Spend(ctx context.Context, nonce string, expiry time.Time) error
	// Retire records that the tokens naming key issued up to at are void; the
	// record may be forgotten after until.
	Retire(ctx context.Context, key string, at, until time.Time) error
	// Retired returns the latest retirement of key still recorded, or the zero time.
	Retired(ctx context.Context, key string) (time.Time, error)
}

// FileLedger is a Ledger in a directory, safe for the processes of one
// machine: a spent nonce is a file linked into place, which only one of two
// processes spending one token can do. Create it with NewFileLedger.
type FileLedger struct {
	dir string

	mu        sync.Mutex
	lastSweep time.Time
}

// sweepEvery is how often a FileLedger removes the records of expired tokens.
const sweepEvery = time.Minute

// NewFileLedger returns the ledger kept in dir, creating dir (mode 0700) if needed.
func NewFileLedger(dir string) (*FileLedger, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the confirmation ledger directory: %w", err)
	}
	return &FileLedger{dir: dir}, nil
}

// Spend links the nonce's file into place, already dated with the token's expiry: link(2) fails
// when the name exists, so of two processes spending one token, one succeeds. The record is
// written aside and dated first because another process's sweep removes any record whose date
// has passed: a record created in place would carry its creation time until dated, and a sweep
// in between would remove it and let the token be spent again.
func (l *FileLedger) Spend(_ context.Context, nonce string, expiry time.Time) error {
	l.sweep()
	tmp, err := os.CreateTemp(l.dir, ".used-*")
	if err != nil {
		return fmt.Errorf("recording a redeemed confirmation: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Close()
	if err == nil {
		err = os.Chtimes(tmp.Name(), expiry, expiry)
	}
	if err == nil {
		err = os.Link(tmp.Name(), filepath.Join(l.dir, "used-"+digest(nonce)))
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		return ErrUsed
	case err != nil:
		return fmt.Errorf("recording a redeemed confirmation: %w", err)
	}
	return nil
}

// Retire writes at into the key's file unless a later retirement is there
// already. Two processes retiring one endpoint at once both void the tokens
// issued before either retirement, give or take their clocks' difference.
func (l *FileLedger) Retire(ctx context.Context, key string, at, until time.Time) error {
	prev, err := l.Retired(ctx, key)
	if err != nil {
		return err
	}
	if prev.After(at) {
		return nil
	}
	path := filepath.Join(l.dir, "retired-"+digest(key))
	tmp, err := os.CreateTemp(l.dir, ".retired-*")
	if err != nil {
		return fmt.Errorf("recording a retired endpoint: %w", err)
	}
	_, werr := tmp.WriteString(strconv.FormatInt(at.UnixNano(), 10))
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		_ = os.Chtimes(tmp.Name(), until, until)
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("recording a retired endpoint: %w", werr)
	}
	return nil
}

// Retired reads the key's file.
func (l *FileLedger) Retired(_ context.Context, key string) (time.Time, error) {
	b, err := os.ReadFile(filepath.Join(l.dir, "retired-"+digest(key)))
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("reading a retired endpoint: %w", err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading a retired endpoint: the record %s is damaged (%q)", l.dir, b)
	}
	return time.Unix(0, ns), nil
}

// sweep removes, at most once per sweepEvery, the records whose time has passed.
func (l *FileLedger) sweep() {
	now := time.Now()
	l.mu.Lock()
	due := now.Sub(l.lastSweep) >= sweepEvery
	if due {
		l.lastSweep = now
	}
	l.mu.Unlock()
	if !due {
		return
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return // the next Spend reports a directory that went missing
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || !info.ModTime().Before(now) {
			continue
		}
		if strings.HasPrefix(e.Name(), "used-") || strings.HasPrefix(e.Name(), "retired-") {
			_ = os.Remove(filepath.Join(l.dir, e.Name())) // another process may have swept it first
		}
	}
}

// digest names a record's file: fixed length, safe in any file system.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}
