// Package secretfile keeps the secrets the server makes for itself (the confirmation signing key, the
// loopback HTTP bearer token) in private files: created once with random content, then reused.
package secretfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Size is the entropy of a created secret in bytes; it is written as twice as many hex digits.
const Size = 32

// LoadOrCreate returns the secret in dir/name as load reads it (load checks the file: its mode, its
// content), and whether this call created it. On first use the directory (0700) and the file (0600,
// Size random bytes in hex and a newline) are created. The file is written aside and linked into
// place, so no process reads it half-written and nobody's secret is replaced: of two processes
// creating it at once, both end up with the same one. what names the secret in errors.
func LoadOrCreate(dir, name, what string, load func(path string) ([]byte, error)) (secret []byte, created bool, err error) {
	path := filepath.Join(dir, name)
	if secret, err := load(path); !errors.Is(err, fs.ErrNotExist) {
		return secret, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("creating the state directory for %s: %w", what, err)
	}
	raw := make([]byte, Size)
	_, _ = rand.Read(raw) // crypto/rand never fails on supported platforms
	tmp, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return nil, false, fmt.Errorf("creating %s: %w", what, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(raw) + "\n")
	if serr := tmp.Sync(); werr == nil {
		werr = serr
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Link(tmp.Name(), path)
		created = werr == nil
	}
	if werr != nil && !errors.Is(werr, fs.ErrExist) {
		return nil, false, fmt.Errorf("creating %s: %w", what, werr)
	}
	secret, err = load(path)
	return secret, created && err == nil, err
}
