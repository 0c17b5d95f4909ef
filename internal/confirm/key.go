package confirm

import (
	"bytes"
	"fmt"
	"os"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/secretfile"
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
	key, _, err := secretfile.LoadOrCreate(dir, KeyFileName, "the signing key", LoadKey)
	return key, err
}
