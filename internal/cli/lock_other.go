//go:build !unix

package cli

// lockFile does not lock where flock is missing: two servers started at the same
// instant may each start an emulator on the same state file.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }
