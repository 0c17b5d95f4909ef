package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"time"
)

const (
	initializeLine = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}` + "\n"
	initializedMsg = `{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n"
	toolsListLine  = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}` + "\n"
	getLine        = `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_endpoint","arguments":{"endpoint_name":"` + benchEndpoint + `"}}}` + "\n"
)

// stdioProbe is one spawned stdio server, driven with raw JSON-RPC lines.
type stdioProbe struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// spawn starts the server and returns the time until initialize is answered.
func (e *env) spawn(ctx context.Context) (*stdioProbe, time.Duration, error) {
	cmd := exec.CommandContext(ctx, e.bin, "serve", "--log-level", "warn")
	cmd.Env = e.serverEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	p := &stdioProbe{cmd: cmd, stdin: stdin, out: bufio.NewReaderSize(stdout, 1<<20)}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	line, err := p.send(initializeLine)
	took := time.Since(start)
	if err != nil {
		p.close()
		return nil, 0, fmt.Errorf("initialize: %w", err)
	}
	if !strings.Contains(line, `"protocolVersion"`) {
		p.close()
		return nil, 0, fmt.Errorf("initialize answered %q", line)
	}
	_, err = io.WriteString(stdin, initializedMsg)
	return p, took, err
}

// send writes one request line and returns the answer line.
func (p *stdioProbe) send(line string) (string, error) {
	if _, err := io.WriteString(p.stdin, line); err != nil {
		return "", err
	}
	return p.out.ReadString('\n')
}

func (p *stdioProbe) close() {
	_ = p.stdin.Close()
	_ = p.cmd.Wait()
}

// measureStartup spawns the stdio server repeatedly: start-up time, the size
// of tools/list, and the resident memory once idle after a first call.
func measureStartup(ctx context.Context, e *env, o options, r *report) error {
	var times []time.Duration
	var rss []float64
	var listSize int
	for i := range max(1, o.startups) {
		p, took, err := e.spawn(ctx)
		if err != nil {
			return err
		}
		times = append(times, took)
		if i < 5 { // a few samples of size and memory are enough
			list, err := p.send(toolsListLine)
			if err != nil {
				p.close()
				return fmt.Errorf("tools/list: %w", err)
			}
			listSize = len(strings.TrimSpace(list))
			if res, err := p.send(getLine); err != nil || !strings.Contains(res, `"state"`) {
				p.close()
				return fmt.Errorf("get_endpoint over stdio: %v %q", err, res)
			}
			mb, err := residentMB(p.cmd.Process.Pid)
			if err == nil {
				rss = append(rss, mb)
			} else if !errors.Is(err, errNoProc) {
				p.close()
				return err
			}
		}
		p.close()
	}
	m := median(times)
	r.line(fmt.Sprintf("stdio start-up, spawn → initialize answered (n=%d)", len(times)),
		fmt.Sprintf("median %s, p90 %s", ms(m), ms(percentile(times, 0.9))), "≤ 15 ms", check(m <= 15*time.Millisecond))
	if len(rss) > 0 {
		mb := medianFloat(rss)
		r.line("idle RSS of the server after initialize, list, 1 call", fmt.Sprintf("%.1f MB", mb), "≤ 20 MB", check(mb <= 20))
	} else {
		r.line("idle RSS of the server", "n/a (no /proc)", "≤ 20 MB", nil)
	}
	r.line("tools/list response size (JSON-RPC line)", fmt.Sprintf("%.2f kB (%d bytes)", float64(listSize)/1000, listSize), "≤ 28 kB", check(listSize <= 28_000))
	return nil
}

func medianFloat(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
