// Command httpattack measures the server's resident memory under two HTTP attacks: many sessions
// (initialize requests that each open one), and many slow ~1 MiB request bodies. It starts the
// server binary on loopback, runs each attack as an authenticated client would, and prints the RSS
// before, at its peak during, and after each attack, with the answers the server gave.
//
//	go run ./bench/httpattack                     # builds the server from this module
//	go run ./bench/httpattack -bin ./old-binary -server-args ""   # another build, e.g. to compare
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const token = "httpattack-token-0123456789abcdef"

func main() {
	bin := flag.String("bin", "", "server binary (default: build this module's)")
	serverArgs := flag.String("server-args", "--rate-limit off", "extra serve flags (the rate limit is off by default, so that the other bounds are what is measured: an attacker may have many addresses)")
	sessions := flag.Int("sessions", 22000, "initialize requests of the session attack")
	bodies := flag.Int("bodies", 400, "concurrent slow bodies")
	bodySize := flag.Int("body-size", 1<<20-1024, "bytes of each slow body")
	chunks := flag.Int("chunks", 16, "pieces each slow body is sent in")
	pause := flag.Duration("pause", 250*time.Millisecond, "pause between the pieces of a slow body")
	flag.Parse()
	if err := run(*bin, strings.Fields(*serverArgs), *sessions, *bodies, *bodySize, *chunks, *pause); err != nil {
		fmt.Fprintln(os.Stderr, "httpattack:", err)
		os.Exit(1)
	}
}

func run(bin string, extra []string, sessions, bodies, bodySize, chunks int, pause time.Duration) error {
	dir, err := os.MkdirTemp("", "httpattack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if bin == "" {
		bin = filepath.Join(dir, "hf-endpoints-mcp")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/hf-endpoints-mcp/hf-endpoints-mcp").CombinedOutput(); err != nil {
			return fmt.Errorf("building the server: %v\n%s", err, out)
		}
	}
	for _, attack := range []struct {
		name string
		run  func(base string) string
	}{
		{fmt.Sprintf("%d sessions (initialize)", sessions), func(base string) string { return sessionAttack(base, sessions) }},
		{fmt.Sprintf("%d slow bodies of %d KiB", bodies, bodySize>>10), func(base string) string {
			return bodyAttack(base, bodies, bodySize, chunks, pause)
		}},
	} {
		srv, err := start(bin, dir, extra)
		if err != nil {
			return err
		}
		before, _ := rss(srv.pid())
		peak := sample(srv.pid())
		outcome := attack.run(srv.base)
		during := peak()
		time.Sleep(2 * time.Second) // what the server keeps once the attack is over
		after, _ := rss(srv.pid())
		fmt.Printf("%-40s RSS before %6.1f MB, peak %6.1f MB, 2 s after %6.1f MB; answers: %s\n", attack.name, before, during, after, outcome)
		srv.stop()
	}
	return nil
}

type server struct {
	cmd  *exec.Cmd
	base string
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) stop() { _ = s.cmd.Process.Kill(); _ = s.cmd.Wait() }

// start runs the server on a free loopback port with a bearer token and waits until it listens.
func start(bin, dir string, extra []string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	args := append([]string{"serve", "--transport", "http", "--addr", addr, "--log-level", "error", "--audit-log", "off"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "HF_HOME=" + dir, "XDG_STATE_HOME=" + dir,
		"HF_TOKEN=hf_unused", "MCP_AUTH_TOKEN=" + token}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, base: "http://" + addr}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			return s, nil
		}
	}
	s.stop()
	return nil, fmt.Errorf("the server did not answer /healthz on %s", addr)
}

// sample records the peak RSS of pid until the returned function is called.
func sample(pid int) func() float64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if mb, err := rss(pid); err == nil && uint64(mb*1000) > peak.Load() {
				peak.Store(uint64(mb * 1000))
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		<-stopped
		return float64(peak.Load()) / 1000
	}
}

// rss returns the resident set size of pid in MB.
func rss(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1000, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

// statuses counts answers by HTTP status (0: no answer).
type statuses struct {
	mu sync.Mutex
	n  map[int]int
}

func (s *statuses) add(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[int]int{}
	}
	s.n[code]++
}

func (s *statuses) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	codes := make([]int, 0, len(s.n))
	for c := range s.n {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		name := strconv.Itoa(c)
		if c == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", name, s.n[c]))
	}
	return strings.Join(parts, ", ")
}

const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"attack","version":"1"}}}`

// sessionAttack sends n initialize requests (each opens a session unless refused), 32 at a time.
func sessionAttack(base string, n int) string {
	var st statuses
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	work := make(chan struct{})
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range work {
				req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(initialize))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json, text/event-stream")
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					st.add(0)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				st.add(resp.StatusCode)
			}
		})
	}
	for range n {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	return st.String()
}

// bodyAttack opens n connections that each post a body of size bytes in pieces, pausing between
// them, all at once, and reads the answers.
func bodyAttack(base string, n, size, pieces int, pause time.Duration) string {
	var st statuses
	addr := strings.TrimPrefix(base, "http://")
	prefix := []byte(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"`)
	suffix := []byte(`"}}`)
	body := append(append(append([]byte{}, prefix...), bytes.Repeat([]byte("a"), size-len(prefix)-len(suffix))...), suffix...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				st.add(0)
				return
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"+
				"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", addr, token, len(body))
			step := (len(body) + pieces - 1) / pieces
			for off := 0; off < len(body); off += step {
				if _, err := conn.Write(body[off:min(off+step, len(body))]); err != nil {
					break // the server answered early (e.g. 503) and closed
				}
				time.Sleep(pause)
			}
			_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				st.add(0)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			st.add(resp.StatusCode)
		})
	}
	wg.Wait()
	return st.String()
}
