package confirm

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// MinKeySize is the shortest signing key accepted, in bytes.
const MinKeySize = 32

// KeyFileName is the name of the signing key KeyInDir keeps.
const KeyFileName = "signing.key"

// LoadKey reads the signing key in path: its content less surrounding white
// space, at least MinKeySize bytes (for example `openssl rand -hex 32`). The
// file must be readable by its owner only (mode 0600 or 0400); a file owned by
// root may also be readable by its group (0640, 0440), as a Kubernetes secret
// mounted with fsGroup is.
func LoadKey(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading the signing key: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("the signing key %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o007 != 0 || (perm&0o070 != 0 && !(perm&0o030 == 0 && ownedByRoot(info))) {
		return nil, fmt.Errorf("the signing key %s has mode %04o, so others can read it: make it readable by its owner only (chmod 600 %s)", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the signing key: %w", err)
	}
	key := bytes.TrimSpace(b)
	if len(key) < MinKeySize {
		return nil, fmt.Errorf("the signing key %s has %d bytes; it needs at least %d (for example: openssl rand -hex 32 > %s)", path, len(key), MinKeySize, path)
	}
	return key, nil
}

// KeyInDir returns the signing key kept in dir/signing.key, creating it (mode
// 0600, 32 random bytes hex-encoded) on first use, so that tokens survive a
// restart. Of two processes creating it at once, both end up with the same key.
func KeyInDir(dir string) ([]byte, error) {
	path := filepath.Join(dir, KeyFileName)
	if key, err := LoadKey(path); !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the state directory for the signing key: %w", err)
	}
	raw := make([]byte, MinKeySize)
	_, _ = rand.Read(raw) // crypto/rand never fails on supported platforms
	// Written aside and linked into place, so no process reads a half-written key.
	tmp, err := os.CreateTemp(dir, ".signing-*")
	if err != nil {
		return nil, fmt.Errorf("creating the signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(raw) + "\n")
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Link(tmp.Name(), path)
	}
	if werr != nil && !errors.Is(werr, fs.ErrExist) {
		return nil, fmt.Errorf("creating the signing key: %w", werr)
	}
	return LoadKey(path)
}
