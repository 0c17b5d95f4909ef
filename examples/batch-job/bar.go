package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// printer writes the steps of the flow, one call at a time.
type printer struct {
	w io.Writer

	mu    sync.Mutex
	steps int
	open  bool // a TTY bar is drawn on the current line
}

func (p *printer) step(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.steps++
	p.line(fmt.Sprintf("==> %d. %s", p.steps, fmt.Sprintf(format, args...)))
}

func (p *printer) detail(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line("    " + fmt.Sprintf(format, args...))
}

func (p *printer) done(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line("==> " + fmt.Sprintf(format, args...))
}

// line prints a whole line, ending a bar being redrawn first.
func (p *printer) line(s string) {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
	fmt.Fprintln(p.w, s)
}

// redraw replaces the current line (TTY only).
func (p *printer) redraw(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\033[K%s", s)
	p.open = true
}

// isTTY reports whether w is a terminal, where a bar can redraw in place.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// bar is a text progress bar fed by progress notifications. Their messages
// name the endpoint's state ("initializing — 0/1 replicas ready"); the bar's
// fill is derived from it and never goes back. On a terminal it redraws in
// place; elsewhere (CI logs, pipes) it prints a line per new message.
type bar struct {
	out   *printer
	label string
	tty   bool
	start time.Time

	mu   sync.Mutex
	frac float64
	last string
}

func newBar(out *printer, label string) *bar {
	return &bar{out: out, label: label, tty: isTTY(out.w), start: time.Now()}
}

var replicas = regexp.MustCompile(`(\d+)/(\d+) replicas`)

// fraction estimates how far a deployment is from the state in msg.
func fraction(msg string) float64 {
	ready, target := 0.0, 1.0
	if m := replicas.FindStringSubmatch(msg); m != nil {
		ready, _ = strconv.ParseFloat(m[1], 64)
		target, _ = strconv.ParseFloat(m[2], 64)
		target = max(target, 1)
	}
	switch {
	case strings.HasPrefix(msg, "running"):
		return 0.9 + 0.1*ready/target
	case strings.HasPrefix(msg, "initializing"):
		return 0.4 + 0.4*ready/target
	case strings.HasPrefix(msg, "pending"):
		return 0.15
	}
	return 0.02
}

func (b *bar) update(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.frac = max(b.frac, fraction(msg))
	if !b.tty && msg == b.last {
		return // a heartbeat repeating the same state: nothing new for a log
	}
	b.last = msg
	b.draw()
}

// finish completes the bar when the call returned. Progress notifications
// may trail the result, so the bar is drawn full here, unless it already is.
func (b *bar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.frac < 1 || b.tty {
		b.frac = 1
		if !b.tty {
			b.last = "done"
		}
		b.draw()
	}
	b.out.mu.Lock()
	defer b.out.mu.Unlock()
	if b.out.open {
		fmt.Fprintln(b.out.w)
		b.out.open = false
	}
}

func (b *bar) draw() {
	const width = 24
	filled := int(b.frac * width)
	s := fmt.Sprintf("    %s [%s%s] %3d%% %5.1fs  %s", b.label, strings.Repeat("#", filled),
		strings.Repeat(".", width-filled), int(b.frac*100), time.Since(b.start).Seconds(), b.last)
	if b.tty {
		b.out.redraw(s)
		return
	}
	b.out.mu.Lock()
	defer b.out.mu.Unlock()
	b.out.line(s)
}
