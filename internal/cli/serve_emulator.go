package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
	dir := b.state.dir
	if dir != "" {
		if url, ok := liveEmulator(filepath.Join(dir, emulatorURLFile)); ok {
			b.logger.Info("emulator attached: another server serves the state directory's endpoints", "url", url)
			b.emuURL = url
			return url, nil
		}
	}
	opts := emulator.Options{Timings: embeddedEmulatorTimings, Logger: b.logger.With("component", "emulator")}
	if dir != "" {
		opts.StateFile = filepath.Join(dir, emulatorStateFile)
	}
	emu, err := emulator.Start("127.0.0.1:0", opts)
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

// emulatorConfig addresses the emulator at url (as emulator.Server's APIBase, HubBase and CatalogBase do).
func emulatorConfig(url string) hfapi.Config {
	return hfapi.Config{APIBase: url + "/v2", HubBase: url, CatalogBase: url + "/api/catalog"}
}

// liveEmulator reads the URL in path and reports whether an emulator answers there.
func liveEmulator(path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	url := strings.TrimSpace(string(b))
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
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
		return "", false
	}
	resp.Body.Close()
	return url, resp.StatusCode == http.StatusOK
}

// forgetEmulatorURL removes the URL file if it still names this process's emulator.
func (b *backend) forgetEmulatorURL() {
	if b.emu == nil || b.state.dir == "" {
		return
	}
	path := filepath.Join(b.state.dir, emulatorURLFile)
	if got, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(got)) == b.emu.URL {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			b.logger.Debug("removing the emulator URL file", "err", err)
		}
	}
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
