package httpsec

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/secretfile"
)

// LocalTokenFile is the file, in the state directory, that keeps the bearer token a loopback HTTP
// server generates when no other authentication is configured.
const LocalTokenFile = "http-token"

// localTokenBytes is the generated token's entropy: 256 bits, written as 64 hex digits.
const localTokenBytes = secretfile.Size

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
	tok, created, err := secretfile.LoadOrCreate(dir, LocalTokenFile, "the HTTP token", func(path string) ([]byte, error) {
		tok, err := readLocalToken(path)
		return []byte(tok), err
	})
	return string(tok), created, err
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
