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
	start := time.Now()
	p, err := e.start(ctx)
	if err != nil {
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
	_, err = io.WriteString(p.stdin, initializedMsg)
	return p, took, err
}

// start starts the stdio server.
func (e *env) start(ctx context.Context) (*stdioProbe, error) {
	return e.startProbe(ctx, e.bin, "serve", "--log-level", "warn")
}

// startProbe starts bin with args in the server's environment, to be driven over stdio.
func (e *env) startProbe(ctx context.Context, bin string, args ...string) (*stdioProbe, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = e.serverEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &stdioProbe{cmd: cmd, stdin: stdin, out: bufio.NewReaderSize(stdout, 1<<20)}, nil
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
// of tools/list, and the resident memory once idle after a first call, for a
// client of each protocol era.
func measureStartup(ctx context.Context, e *env, o options, r *report) error {
	var times []time.Duration
	var rss, rssModern []float64
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
			rss, err = appendIdleRSS(rss, p, getLine)
			if err == nil {
				rssModern, err = e.appendModernIdleRSS(ctx, rssModern)
			}
			if err != nil {
				p.close()
				return err
			}
		}
		p.close()
	}
	m := median(times)
	r.line(fmt.Sprintf("stdio start-up, spawn → initialize answered (n=%d)", len(times)),
		fmt.Sprintf("median %s, p90 %s", ms(m), ms(percentile(times, 0.9))), "≤ 15 ms", check(m <= 15*time.Millisecond))
	for _, row := range []struct {
		name string
		mbs  []float64
	}{
		{"idle RSS of the server after initialize, list, 1 call", rss},
		{"idle RSS of the server, 2026-07-28 client: list, 1 call", rssModern},
	} {
		if len(row.mbs) == 0 {
			r.line(row.name, "n/a (no /proc)", "≤ 20 MB", nil)
			continue
		}
		mb := medianFloat(row.mbs)
		r.line(row.name, fmt.Sprintf("%.1f MB", mb), "≤ 20 MB", check(mb <= 20))
	}
	r.line("tools/list response size (JSON-RPC line)", fmt.Sprintf("%.2f kB (%d bytes)", float64(listSize)/1000, listSize), "≤ 28 kB", check(listSize <= 28_000))
	return nil
}

// appendIdleRSS sends the request lines, checks that the last one read the
// bench endpoint, and appends the server's resident memory once it has been
// idle for a moment (work the server does after answering is over).
func appendIdleRSS(rss []float64, p *stdioProbe, lines ...string) ([]float64, error) {
	var res string
	for _, line := range lines {
		var err error
		if res, err = p.send(line); err != nil {
			return rss, fmt.Errorf("%s: %w", strings.TrimSpace(line), err)
		}
	}
	if !strings.Contains(res, `"state"`) {
		return rss, fmt.Errorf("get_endpoint over stdio answered %q", res)
	}
	time.Sleep(100 * time.Millisecond)
	mb, err := residentMB(p.cmd.Process.Pid)
	if errors.Is(err, errNoProc) {
		return rss, nil
	}
	return append(rss, mb), err
}

// appendModernIdleRSS is appendIdleRSS for a server of its own whose client
// is of the 2026-07-28 era: it sends no initialize, and each request carries
// its own _meta.
func (e *env) appendModernIdleRSS(ctx context.Context, rss []float64) ([]float64, error) {
	p, err := e.start(ctx)
	if err != nil {
		return rss, err
	}
	defer p.close()
	return appendIdleRSS(rss, p, modernLine(toolsListLine), modernLine(getLine))
}

// modernLine is a request line of a 2026-07-28 client: its params carry the
// protocol version and the client's identity in _meta.
func modernLine(line string) string {
	const meta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",` +
		`"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`
	if strings.Contains(line, `"params":{`) {
		return strings.Replace(line, `"params":{`, `"params":{`+meta+`,`, 1)
	}
	return strings.Replace(line, `}`+"\n", `,"params":{`+meta+`}}`+"\n", 1)
}

func medianFloat(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
