package httpsec

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// LocalTokenFile is the file, in the state directory, that keeps the bearer token a loopback HTTP
// server generates when no other authentication is configured.
const LocalTokenFile = "http-token"

// localTokenBytes is the generated token's entropy: 256 bits, written as 64 hex digits.
const localTokenBytes = 32

// LoadOrCreateLocalToken returns the bearer token kept in dir/LocalTokenFile, and whether this call
// created it. On first use the directory (0700) and the file (0600) are created; the same token is
// then reused across restarts, so clients configure it once. A file that is a symbolic link, not a
// regular file, readable or writable by other users, or too short to be a generated token is
// refused: a token others could have read or chosen protects nothing. Two servers starting at once
// get the same token.
func LoadOrCreateLocalToken(dir string) (token string, created bool, err error) {
	if dir == "" {
		return "", false, errors.New("no state directory for the generated HTTP token: set XDG_STATE_HOME or HOME, or pass --auth-token")
	}
	path := filepath.Join(dir, LocalTokenFile)
	tok, err := readLocalToken(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("creating the state directory for the HTTP token: %w", err)
	}
	raw := make([]byte, localTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", false, fmt.Errorf("generating the HTTP token: %w", err)
	}
	tok = hex.EncodeToString(raw)
	// Written whole to a private temporary file, then linked into place, which fails if another
	// process got there first: the file never exists half-written, and nobody's token is replaced.
	tmp, err := os.CreateTemp(dir, LocalTokenFile+".*")
	if err != nil {
		return "", false, fmt.Errorf("writing the HTTP token: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(tok + "\n"); err != nil {
		_ = tmp.Close()
		return "", false, fmt.Errorf("writing the HTTP token: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return "", false, fmt.Errorf("writing the HTTP token: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", false, fmt.Errorf("writing the HTTP token: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			tok, err = readLocalToken(path)
			return tok, false, err
		}
		return "", false, fmt.Errorf("writing the HTTP token to %s: %w", path, err)
	}
	return tok, true, nil
}

// readLocalToken reads a token file, refusing one that is not private to this user.
func readLocalToken(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return "", fmt.Errorf("the HTTP token file %s is a symbolic link; delete it and start again to get a new token", path)
		}
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	switch {
	case !info.Mode().IsRegular():
		return "", fmt.Errorf("the HTTP token file %s is not a regular file; delete it and start again to get a new token", path)
	case info.Mode().Perm()&0o077 != 0:
		return "", fmt.Errorf("the HTTP token file %s is open to other users (mode %04o): it may have been read; "+
			"delete it and start again to get a new token", path, info.Mode().Perm())
	}
	buf := make([]byte, 256)
	n, _ := f.Read(buf)
	tok := strings.TrimSpace(string(buf[:n]))
	if len(tok) < 2*localTokenBytes {
		return "", fmt.Errorf("the HTTP token file %s does not hold a generated token; delete it and start again to get a new one", path)
	}
	return tok, nil
}
