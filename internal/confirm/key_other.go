//go:build !unix

package confirm

import "io/fs"

// ownedByRoot: only Unix systems have the root-owned, group-readable secret files LoadKey accepts.
func ownedByRoot(fs.FileInfo) bool { return false }
