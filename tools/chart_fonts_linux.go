package tools

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"codeberg.org/go-fonts/liberation/liberationmonobold"
	"codeberg.org/go-fonts/liberation/liberationmonobolditalic"
	"codeberg.org/go-fonts/liberation/liberationmonoitalic"
	"codeberg.org/go-fonts/liberation/liberationmonoregular"
	"codeberg.org/go-fonts/liberation/liberationsansbold"
	"codeberg.org/go-fonts/liberation/liberationsansbolditalic"
	"codeberg.org/go-fonts/liberation/liberationsansitalic"
	"codeberg.org/go-fonts/liberation/liberationsansregular"
	"codeberg.org/go-fonts/liberation/liberationserifbold"
	"codeberg.org/go-fonts/liberation/liberationserifbolditalic"
	"codeberg.org/go-fonts/liberation/liberationserifitalic"
	"codeberg.org/go-fonts/liberation/liberationserifregular"
)

// gonum.org/v1/plot (v0.17.0, plot.go) parses all 12 Liberation fonts in its
// package init, to fill font.DefaultCache. The fonts are 4.3 MB embedded in
// the binary's data segment, and parsing them reads their table directories:
// the kernel maps those pages in 64 kB windows, about 1.8 MB of resident
// memory that nothing reads again until a chart is drawn. Importing plot
// cannot skip its init, so ReleaseChartFontPages hands the pages back
// afterwards: the parsed fonts keep pointing at the same bytes, and the first
// chart reads them again from the executable.
//
// This can go when plot loads its fonts on first use; check that
// `GODEBUG=inittrace=1 hf-endpoints-mcp version` no longer shows
// gonum.org/v1/plot allocating ~180 kB at init.

// ReleaseChartFontPages hands back the resident pages of the fonts that
// gonum.org/v1/plot parsed at init; the first chart drawn maps them again.
// It takes some 0.3 ms (reading /proc/self/maps, unmapping 1.8 MB), so call
// it once start-up is over: the serve command does when a client has been
// initialized. Calls after the first do nothing.
func ReleaseChartFontPages() { releaseOnce.Do(releaseFontPages) }

var releaseOnce sync.Once

// liberationFonts are the bytes plot's init parses (plot/font/liberation).
func liberationFonts() [][]byte {
	return [][]byte{
		liberationserifregular.TTF, liberationserifitalic.TTF, liberationserifbold.TTF, liberationserifbolditalic.TTF,
		liberationmonoregular.TTF, liberationmonoitalic.TTF, liberationmonobold.TTF, liberationmonobolditalic.TTF,
		liberationsansregular.TTF, liberationsansitalic.TTF, liberationsansbold.TTF, liberationsansbolditalic.TTF,
	}
}

// releaseFontPages drops the resident pages that lie wholly inside the font
// data, but only where that data is a private mapping of a file (the
// executable): there MADV_DONTNEED only unmaps, and the next read maps the
// same bytes back from the file. Anywhere else (say the fonts were ever
// loaded onto the heap) it would zero memory, so it does nothing.
func releaseFontPages() {
	maps := fileMappings()
	page := uintptr(os.Getpagesize())
	for _, ttf := range liberationFonts() {
		if len(ttf) == 0 {
			continue
		}
		start := uintptr(unsafe.Pointer(unsafe.SliceData(ttf)))
		lo, hi := (start+page-1)&^(page-1), (start+uintptr(len(ttf)))&^(page-1)
		if hi <= lo || !maps.cover(lo, hi) {
			continue
		}
		// Best effort: a refusal leaves the pages resident, nothing more.
		_ = syscall.Madvise(ttf[lo-start:hi-start], syscall.MADV_DONTNEED)
	}
}

// mappingRanges are address ranges [lo, hi) of private file mappings.
type mappingRanges [][2]uintptr

func (m mappingRanges) cover(lo, hi uintptr) bool {
	for _, r := range m {
		if r[0] <= lo && hi <= r[1] {
			return true
		}
	}
	return false
}

// fileMappings reads the private mappings of files (inode ≠ 0) from
// /proc/self/maps; lines look like
// "01208000-01752000 rw-p 00e08000 08:01 1234 /path/to/exe".
func fileMappings() mappingRanges {
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil
	}
	var out mappingRanges
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 6 || len(f[1]) != 4 || f[1][3] != 'p' || string(f[4]) == "0" {
			continue
		}
		addr := bytes.SplitN(f[0], []byte("-"), 2)
		if len(addr) != 2 {
			continue
		}
		lo, err1 := strconv.ParseUint(string(addr[0]), 16, 64)
		hi, err2 := strconv.ParseUint(string(addr[1]), 16, 64)
		if err1 == nil && err2 == nil {
			out = append(out, [2]uintptr{uintptr(lo), uintptr(hi)})
		}
	}
	return out
}
