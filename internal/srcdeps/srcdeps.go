// Package srcdeps makes a module's Go sources inputs of a test, so that go test's cache
// drops a result when the sources of a binary the test builds in a subprocess change.
package srcdeps

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Read reads go.mod and every non-test Go file of the module around the working directory
// (skipping hidden folders and testdata). A binary built by a subprocess reads them where go
// test cannot see; reading them here makes them inputs of the calling test.
func Read(tb testing.TB) {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (d.Name() == "go.mod" || strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go")) {
			_, err = os.ReadFile(path)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// moduleRoot is the nearest directory at or above the working directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
