//go:build unix

package confirm

import (
	"io/fs"
	"syscall"
)

func ownedByRoot(info fs.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && st.Uid == 0
}
