package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// The embedded emulator's files in the state directory: its endpoints, and the
// URL of the process serving them, so that a server started per call (a
// one-shot stdio client) finds the endpoints the previous one created.
const (
	emulatorStateFile = "emulator.json"
	emulatorURLFile   = "emulator.url"
)

// emulatorURL returns the URL of the embedded emulator: the one another live
// process serves from the state directory, else one this process starts (on
// the state directory's endpoints when there is one). b.mu is held.
func (b *backend) emulatorURL() (string, error) {
	if b.emu != nil {
		return b.emu.URL, nil
	}
	if b.emuURL != "" {
		return b.emuURL, nil
	}
	return b.attachOrStartEmulator("127.0.0.1:0")
}

// attachOrStartEmulator attaches to the live emulator of the state directory,
// or starts one, on the address of the last one when it is free, so that the
// URLs clients hold stay valid (else on addr). Processes take turns (a lock
// file), so two starting at once end up on one emulator. b.mu is held.
func (b *backend) attachOrStartEmulator(addr string) (string, error) {
	dir := b.state.dir
	opts := emulator.Options{Timings: embeddedEmulatorTimings, Logger: b.logger.With("component", "emulator")}
	if dir != "" {
		unlock, err := lockFile(filepath.Join(dir, "emulator.lock"))
		if err != nil {
			return "", fmt.Errorf("start the emulator: %w", err)
		}
		defer unlock()
		url, live := liveEmulator(filepath.Join(dir, emulatorURLFile))
		if live {
			b.logger.Info("emulator attached: another server serves the state directory's endpoints", "url", url)
			b.emuURL = url
			return url, nil
		}
		if url != "" {
			addr = strings.TrimPrefix(url, "http://")
		}
		opts.StateFile = filepath.Join(dir, emulatorStateFile)
	}
	emu, err := emulator.Start(addr, opts)
	if err != nil && addr != "127.0.0.1:0" {
		emu, err = emulator.Start("127.0.0.1:0", opts) // the last one's port is taken
	}
	if err != nil {
		return "", fmt.Errorf("start the emulator: %w", err)
	}
	b.emu = emu
	b.logger.Info("emulator started", "url", emu.URL, "state_file", opts.StateFile)
	if dir != "" {
		if err := writeFileAtomic(filepath.Join(dir, emulatorURLFile), emu.URL+"\n"); err != nil {
			b.logger.Warn("other servers will not find this emulator", "err", err)
		}
	}
	return emu.URL, nil
}

// takeOverEmulator is called when the emulator at host refused a connection:
// if it is the one this server attached to, its server has stopped, and this
// one serves the endpoints from now on. It reports whether a request can be
// repeated at the same URL.
func (b *backend) takeOverEmulator(host string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.emu != nil || b.emuURL == "" || "http://"+host != b.emuURL {
		return false
	}
	old := b.emuURL
	b.emuURL = ""
	url, err := b.attachOrStartEmulator(host)
	if err != nil {
		b.logger.Warn("the emulator this server used has stopped, and taking over failed", "err", err)
		return false
	}
	if url != old {
		b.logger.Warn("the emulator this server used has stopped and now runs elsewhere: restart this server", "was", old, "now", url)
		return false
	}
	return true
}

// emulatorTransport repeats, once, a request the attached emulator refused
// because its server stopped, after this server took the emulator over. A
// refused connection never reached the emulator, so repeating is safe.
type emulatorTransport struct {
	b    *backend
	next http.RoundTripper
}

func (t emulatorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err == nil || !errors.Is(err, syscall.ECONNREFUSED) || !t.b.takeOverEmulator(req.URL.Host) {
		return resp, err
	}
	again := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return resp, err
		}
		body, gerr := req.GetBody()
		if gerr != nil {
			return resp, err
		}
		again.Body = body
	}
	return t.next.RoundTrip(again)
}

// emulatorConfig addresses the emulator at url (as emulator.Server's APIBase, HubBase and CatalogBase do).
func emulatorConfig(url string) hfapi.Config {
	return hfapi.Config{APIBase: url + "/v2", HubBase: url, CatalogBase: url + "/api/catalog"}
}

// liveEmulator reads the URL in path and reports whether an emulator answers there.
// The URL is returned either way when the file holds one.
func liveEmulator(path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	url := strings.TrimSpace(string(b))
	port, found := strings.CutPrefix(url, "http://127.0.0.1:")
	if n, err := strconv.Atoi(port); !found || err != nil || n <= 0 || n > 65535 {
		return "", false // only ever a loopback emulator this command started
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/whoami-v2", nil)
	if err != nil {
		return "", false
	}
	req.Header.Set("Authorization", "Bearer "+emulator.DefaultToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return url, false
	}
	resp.Body.Close()
	return url, resp.StatusCode == http.StatusOK
}

// writeFileAtomic writes data to path through a temporary file and a rename.
func writeFileAtomic(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	_, werr := tmp.WriteString(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
	}
	return werr
}
