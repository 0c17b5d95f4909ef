package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// modulePath is the server's package, built once per run.
const modulePath = "github.com/hf-endpoints-mcp/hf-endpoints-mcp"

// benchEndpoint is the running endpoint every get_endpoint call reads.
const benchEndpoint = "bench"

// env is what every measurement shares: the built server, the emulator
// running as its own process on loopback with one running endpoint, and a
// direct API client for it.
//
// The emulator runs out of process as the real service does: the direct call
// and the server's call to the API then both cross a process boundary, so the
// ratios compare like with like.
type env struct {
	dir    string
	bin    string
	emu    *emulatorProc
	client *hfapi.Client
}

// emulatorProc is the emulator binary serving on loopback.
type emulatorProc struct {
	*proc
	token string
}

func (p *emulatorProc) APIBase() string     { return p.base + "/v2" }
func (p *emulatorProc) HubBase() string     { return p.base }
func (p *emulatorProc) CatalogBase() string { return p.base + "/api/catalog" }
func (p *emulatorProc) Token() string       { return p.token }

func newEnv(ctx context.Context) (*env, error) {
	dir, err := os.MkdirTemp("", "hf-endpoints-mcp-bench-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir, bin: filepath.Join(dir, "hf-endpoints-mcp")}
	build := exec.CommandContext(ctx, "go", "build", "-o", e.bin, modulePath)
	if out, err := build.CombinedOutput(); err != nil {
		e.close()
		return nil, fmt.Errorf("go build %s (run from inside the repository): %w\n%s", modulePath, err, out)
	}
	emu, err := e.spawnHTTP(ctx, "the emulator", "/api/whoami-v2", e.baseEnv(),
		"emulator", "--seed", "1", "--orgs", bigNamespace, "--deploy-time", "10ms", "--update-time", "10ms", "--scale-up-time", "10ms", "--idle-minute", "1h")
	if err != nil {
		e.close()
		return nil, err
	}
	e.emu = &emulatorProc{proc: emu, token: emulator.DefaultToken}
	e.client, err = hfapi.New(hfapi.Config{Token: e.emu.Token(), APIBase: e.emu.APIBase(), HubBase: e.emu.HubBase(),
		CatalogBase: e.emu.CatalogBase(), MaxHourlyCost: hfapi.NoCostCeiling})
	if err != nil {
		e.close()
		return nil, err
	}
	if err := e.createRunning(ctx, benchEndpoint); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// createRunning creates a small CPU endpoint and waits until it serves.
func (e *env) createRunning(ctx context.Context, name string) error {
	_, err := e.client.Create(ctx, "", hfapi.CreateSpec{Name: name, Repository: "openai-community/gpt2", Framework: "pytorch",
		Task: "text-generation", Accelerator: "cpu", Vendor: "aws", Region: "us-east-1", InstanceType: "intel-spr", InstanceSize: "x2"})
	if err != nil {
		return fmt.Errorf("create endpoint %s: %w", name, err)
	}
	_, err = e.client.Wait(ctx, "", name, hfapi.WaitOptions{Timeout: 30 * time.Second, Poll: 5 * time.Millisecond})
	return err
}

func (e *env) close() {
	if e.emu != nil {
		e.emu.stop()
	}
	_ = os.RemoveAll(e.dir)
}

// serverEnv points a spawned server at the emulator, and nothing of the
// calling environment (tokens, settings) leaks in.
func (e *env) serverEnv() []string {
	return append(e.baseEnv(), "HF_TOKEN="+e.emu.Token(), "HF_ENDPOINTS_API_URL="+e.emu.APIBase(), "HF_ENDPOINT="+e.emu.HubBase(),
		"HF_ENDPOINTS_CATALOG_URL="+e.emu.CatalogBase())
}

// baseEnv is the environment of every spawned process: a PATH, and a home of its own.
func (e *env) baseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir, "HF_HOME=" + e.dir}
}

// proc is a spawned binary serving HTTP on loopback.
type proc struct {
	cmd  *exec.Cmd
	base string
	log  *strings.Builder
}

// startHTTP spawns the server with --transport http on a free loopback port
// and waits until /healthz answers. Throughput is measured with up to 200
// sessions calling in a loop: the call cap and the rate limit are lifted so
// that what is measured is the server's speed, not its refusals; the loopback
// listener serves without a bearer token (--auth-token off).
func (e *env) startHTTP(ctx context.Context) (*proc, error) {
	return e.spawnHTTP(ctx, "the HTTP server", "/healthz", e.serverEnv(), "serve", "--transport", "http", "--log-level", "warn",
		"--max-concurrent-calls", "256", "--rate-limit", "off", "--auth-token", "off")
}

// spawnHTTP runs the binary with args and --addr on a free loopback port, in
// env, and waits until ready (a path) answers 200 to a GET with the
// emulator's token.
func (e *env) spawnHTTP(ctx context.Context, what, ready string, env []string, args ...string) (*proc, error) {
	return e.spawnBinary(ctx, e.bin, what, ready, env, args...)
}

// spawnBinary is spawnHTTP with another binary than the server's.
func (e *env) spawnBinary(ctx context.Context, bin, what, ready string, env []string, args ...string) (*proc, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &proc{base: "http://" + addr, log: &strings.Builder{}}
	p.cmd = exec.Command(bin, append(args, "--addr", addr)...)
	p.cmd.Env = env
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go collect(stderr, p.log)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if getOnce(ctx, http.DefaultClient, p.base+ready, emulator.DefaultToken) == nil {
			return p, nil
		}
		select {
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.stop()
	return nil, fmt.Errorf("%s did not answer %s within 10s; its log:\n%s", what, ready, p.log)
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func collect(r io.Reader, into *strings.Builder) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if into.Len() < 64<<10 {
			into.WriteString(sc.Text() + "\n")
		}
	}
}

// freePort returns a loopback address nothing listens on right now.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

var errNoProc = errors.New("no /proc on this system")

// residentMB reads a process's resident set size from /proc (Linux).
func residentMB(pid int) (float64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, errNoProc
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb float64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%f kB", &kb); err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, errNoProc
}
