package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/mcpserver"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/rawmcp"
)

// throughputRounds is how many turns each session count takes: the counts run in turn, round
// after round, so that all see the same states of the machine (its load drifts over seconds, and
// the counts are compared with each other).
const throughputRounds = 3

// measureThroughput opens, for each count in o.sessions, that many Go SDK sessions over streamable
// HTTP against the server binary, then has each group in turn call get_endpoint in a loop on all
// its sessions, for o.throughput in all, in throughputRounds turns.
func measureThroughput(ctx context.Context, e *env, o options, r *report) error {
	s, err := e.startHTTP(ctx)
	if err != nil {
		return err
	}
	defer s.stop()
	groups := make([][]*sdk.ClientSession, len(o.sessions))
	defer func() {
		for _, g := range groups {
			for _, cs := range g {
				_ = cs.Close()
			}
		}
	}()
	for i, n := range o.sessions {
		if groups[i], err = openSessions(ctx, s.base+mcpserver.PathStreamable, n); err != nil {
			return fmt.Errorf("throughput with %d sessions: %w", n, err)
		}
	}
	lat := make([][]time.Duration, len(groups))
	took := make([]time.Duration, len(groups))
	for range throughputRounds {
		for i, g := range groups {
			l, d, err := throughputRun(ctx, g, o.throughput/throughputRounds)
			if err != nil {
				return fmt.Errorf("throughput with %d sessions: %w", len(g), err)
			}
			lat[i], took[i] = append(lat[i], l...), took[i]+d
		}
	}
	at8 := 0.0 // the rate with 8 sessions: more sessions must not lower it
	for i, n := range o.sessions {
		rate := float64(len(lat[i])) / took[i].Seconds()
		target, ok := "", (*bool)(nil)
		if n == 8 {
			at8 = rate
		} else if n > 8 && at8 > 0 {
			target, ok = fmt.Sprintf("≥ %.0f (8's)", at8), check(rate >= at8)
		}
		r.line(fmt.Sprintf("throughput of the binary, %s, %s", plural(n, "streamable HTTP session"), o.throughput),
			fmt.Sprintf("%.0f calls/s, p50 %s, p99 %s", rate, ms(median(lat[i])), ms(percentile(lat[i], 0.99))), target, ok)
	}
	return nil
}

// openSessions opens n Go SDK sessions on url.
func openSessions(ctx context.Context, url string, n int) ([]*sdk.ClientSession, error) {
	sessions := make([]*sdk.ClientSession, 0, n)
	for i := range n {
		cs, err := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx,
			&sdk.StreamableClientTransport{Endpoint: url, MaxRetries: -1}, nil)
		if err != nil {
			for _, cs := range sessions {
				_ = cs.Close()
			}
			return nil, fmt.Errorf("session %d: %w", i, err)
		}
		sessions = append(sessions, cs)
	}
	return sessions, nil
}

// throughputRun has each of sessions call get_endpoint in a loop for d, and returns the
// latencies of the calls and the time they took.
func throughputRun(ctx context.Context, sessions []*sdk.ClientSession, d time.Duration) ([]time.Duration, time.Duration, error) {
	var (
		mu    sync.Mutex
		lat   []time.Duration
		first error
		wg    sync.WaitGroup
	)
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	for _, cs := range sessions {
		wg.Go(func() {
			call := viaSDK(cs)
			var mine []time.Duration
			for runCtx.Err() == nil {
				t := time.Now()
				if err := call(ctx); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return nil, 0, first
	}
	return lat, elapsed, nil
}

// measureIdleSessions starts a fresh server binary, opens one session (so
// one-time costs are in the baseline), then o.idle more 2025-11-25 sessions
// with raw requests, each holding its GET stream open as clients do for
// notifications, and reports the growth of the server's RSS per session.
func measureIdleSessions(ctx context.Context, e *env, o options, r *report) error {
	name := fmt.Sprintf("memory per idle streamable HTTP session of the binary (n=%d)", o.idle)
	s, err := e.startHTTP(ctx)
	if err != nil {
		return err
	}
	defer s.stop()
	url := s.base + mcpserver.PathStreamable
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer hc.CloseIdleConnections()
	var streams []io.Closer
	defer func() {
		for _, c := range streams {
			_ = c.Close()
		}
	}()
	open := func() error {
		body, err := openIdle(ctx, hc, url)
		if err == nil {
			streams = append(streams, body)
		}
		return err
	}
	if err := open(); err != nil {
		return err
	}
	pid := s.cmd.Process.Pid
	before, err := residentMB(pid)
	if errors.Is(err, errNoProc) {
		r.line(name, "n/a (no /proc)", "", nil)
		return nil
	} else if err != nil {
		return err
	}
	for range o.idle {
		if err := open(); err != nil {
			return fmt.Errorf("idle session %d: %w", len(streams), err)
		}
	}
	after, err := residentMB(pid)
	if err != nil {
		return err
	}
	perSession := (after - before) * 1024 / float64(o.idle)
	r.line(name, fmt.Sprintf("%.1f KiB (RSS %.1f → %.1f MB)", perSession, before, after), "≤ 32 KiB", check(perSession <= 32))
	return nil
}

// openIdle initializes a 2025-11-25 session on url and opens its GET
// stream, whose body it returns: closing it ends the stream.
func openIdle(ctx context.Context, hc *http.Client, url string) (io.ReadCloser, error) {
	c, err := rawmcp.Open(ctx, hc, url, rawmcp.Legacy)
	if err != nil {
		return nil, err
	}
	stream, err := c.Listen(ctx)
	if err != nil {
		return nil, fmt.Errorf("GET stream: %w", err)
	}
	return stream, nil
}
