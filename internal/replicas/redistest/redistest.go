// Package redistest starts a real redis-server for tests: on a free loopback
// port, in a temporary directory, without persistence, stopped at cleanup.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvBinary names the redis-server binary tests run; else redis-server on
// PATH, else the copy .ci/redis-server unpacks into the user's cache.
const EnvBinary = "REDIS_SERVER"

// Server is a running redis-server.
type Server struct {
	// URL is the redis:// URL of the server.
	URL  string
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{} // closed once the process has exited
}

// Binary returns the path of redis-server, or an error saying how to install it.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	if home, err := os.UserCacheDir(); err == nil {
		p := filepath.Join(home, "hf-endpoints-mcp-ci", "redis", "redis-server")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("these tests need a real redis-server and none was found: install it (apt-get install redis-server, " +
		"or run .ci/redis-server, which unpacks the Debian package into your cache without root), " +
		"or set " + EnvBinary + " to its path")
}

// Start starts redis-server and stops it when the test ends. A missing binary
// fails the test, saying how to install it.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for range 3 { // another process may take the free port before the server binds it
		s, err := start(t, bin)
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		last = err
	}
	t.Fatalf("starting redis-server: %v", last)
	return nil
}

func start(t testing.TB, bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("running %s: %w", bin, err)
	}
	s := &Server{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), cmd: cmd, out: out, done: make(chan struct{})}
	var werr error
	go func() { werr = cmd.Wait(); close(s.done) }()
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return s, nil
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(out.Name())
			out.Close()
			return nil, fmt.Errorf("redis-server exited (%v): %s", werr, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-s.done
			out.Close()
			return nil, fmt.Errorf("redis-server did not answer PING within 10s: %w", err)
		}
	}
}

// Stop stops the server; the port refuses connections once it returns.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
	s.out.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
