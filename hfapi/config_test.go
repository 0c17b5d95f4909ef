package hfapi

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeToken(t *testing.T, path, tok string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte(tok), 0o600))
}

func TestDiscoverTokenOrder(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	hfHome := filepath.Join(dir, "hfhome")
	tokenPath := filepath.Join(dir, "custom", "tok")
	t.Setenv("HOME", home)
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HOME", hfHome)
	t.Setenv("HF_TOKEN_PATH", tokenPath)

	_, err := DiscoverToken()
	require.ErrorIs(t, err, ErrNoToken)
	for _, place := range []string{"HF_TOKEN", "HF_TOKEN_PATH", "$HF_HOME/token", "~/.cache/huggingface/token"} {
		assert.Contains(t, err.Error(), place)
	}

	steps := []struct {
		name  string
		setup func()
		want  string
	}{
		{"default cache file", func() { writeToken(t, filepath.Join(home, ".cache", "huggingface", "token"), "tok-default\n") }, "tok-default"},
		{"HF_HOME/token wins over the default", func() { writeToken(t, filepath.Join(hfHome, "token"), "  tok-hfhome ") }, "tok-hfhome"},
		{"HF_TOKEN_PATH wins over HF_HOME", func() { writeToken(t, tokenPath, "tok-path") }, "tok-path"},
		{"HF_TOKEN wins over every file", func() { t.Setenv("HF_TOKEN", " tok-env ") }, "tok-env"},
	}
	for _, s := range steps {
		s.setup()
		got, err := DiscoverToken()
		require.NoError(t, err, s.name)
		assert.Equal(t, s.want, got, s.name)
	}
}

func TestDiscoverTokenSkipsEmptyFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HF_TOKEN_PATH", filepath.Join(dir, "empty"))
	t.Setenv("HF_HOME", filepath.Join(dir, "hf"))
	writeToken(t, filepath.Join(dir, "empty"), "\n")
	writeToken(t, filepath.Join(dir, "hf", "token"), "tok")
	got, err := DiscoverToken()
	require.NoError(t, err)
	assert.Equal(t, "tok", got)
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("HF_ENDPOINTS_API_URL", "")
	t.Setenv("HF_ENDPOINT", "")
	t.Setenv("HF_ENDPOINTS_CATALOG_URL", "")
	t.Setenv("HF_NAMESPACE", "team")
	cfg := ConfigFromEnv()
	assert.Equal(t, DefaultAPIBase, cfg.APIBase)
	assert.Equal(t, DefaultHubBase, cfg.HubBase)
	assert.Equal(t, DefaultCatalogBase, cfg.CatalogBase)
	assert.Equal(t, "team", cfg.Namespace)
	assert.Empty(t, cfg.Token)

	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:8765/")
	t.Setenv("HF_ENDPOINTS_API_URL", "http://127.0.0.1:8765/v2")
	cfg = ConfigFromEnv()
	assert.Equal(t, "http://127.0.0.1:8765", cfg.HubBase)
	assert.Equal(t, "http://127.0.0.1:8765/api/catalog", cfg.CatalogBase)
	assert.Equal(t, "http://127.0.0.1:8765/v2", cfg.APIBase)

	t.Setenv("HF_ENDPOINTS_CATALOG_URL", "http://127.0.0.1:1/cat")
	assert.Equal(t, "http://127.0.0.1:1/cat", ConfigFromEnv().CatalogBase)
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := New(Config{})
	require.ErrorIs(t, err, ErrNoToken)
	assert.Contains(t, err.Error(), "HF_TOKEN_PATH")

	_, err = New(Config{Token: testToken, APIBase: "ftp://x"})
	require.ErrorContains(t, err, "APIBase")
	_, err = New(Config{Token: testToken, HubBase: "not a url"})
	require.ErrorContains(t, err, "HubBase")
	_, err = New(Config{Token: testToken, CatalogBase: "http://u:p@host/"})
	require.ErrorContains(t, err, "credentials")

	c, err := New(Config{Token: testToken})
	require.NoError(t, err)
	assert.Equal(t, DefaultAPIBase, c.api.String())
	assert.Equal(t, DefaultCatalogBase, c.catalog.String())
}

func TestTokenNeverPrinted(t *testing.T) {
	cfg := Config{Token: testToken, APIBase: "http://127.0.0.1:1/v2", Namespace: "acme"}
	c, err := New(cfg)
	require.NoError(t, err)
	type wrapper struct {
		C   *Client
		Cfg Config
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outs = append(outs, fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, c), fmt.Sprintf(verb, &cfg))
	}
	outs = append(outs, fmt.Sprintf("%+v", wrapper{c, cfg}), fmt.Sprintf("%#v", wrapper{c, cfg}), cfg.String(), c.String())
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("client", "cfg", cfg, "client", c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("client", "cfg", cfg, "client", c)
	outs = append(outs, buf.String())
	for _, out := range outs {
		assert.NotContains(t, out, testToken)
		assert.NotContains(t, out, "TOPSECRET")
	}
	assert.Contains(t, fmt.Sprint(cfg), redacted)
}

func TestErrorsNeverContainToken(t *testing.T) {
	// Every failure path that formats an error: HTTP errors echoing the Authorization header back,
	// transport errors, validation and not-ready errors.
	srv := echoAuthServer(t)
	c, _ := newTestClient(t, srv)
	var errs []error
	_, err := c.Get(t.Context(), "acme", "x")
	errs = append(errs, err)
	_, err = c.Create(t.Context(), "acme", CreateSpec{Name: "bad name"})
	errs = append(errs, err)
	_, err = c.TextGeneration(t.Context(), &Endpoint{Name: "e", Status: Status{State: StatePaused}}, TextGenerationRequest{Inputs: "x"}, CallOptions{})
	errs = append(errs, err)
	dead, _ := newTestClient(t, srv, func(cfg *Config) { cfg.APIBase = "http://127.0.0.1:1/v2" })
	_, err = dead.Get(t.Context(), "acme", "x")
	errs = append(errs, err)
	for _, err := range errs {
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "TOPSECRET")
		assert.NotContains(t, fmt.Sprintf("%+v", err), "TOPSECRET")
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			assert.NotContains(t, apiErr.Message, "TOPSECRET")
		}
	}
}

func TestAPIErrorMessageScrubsToken(t *testing.T) {
	srv := echoAuthServer(t)
	c, _ := newTestClient(t, srv)
	_, err := c.Get(t.Context(), "acme", "x")
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "[REDACTED]"), "the echoed token is replaced: %v", err)
}

func TestDiscoverTokenHonoursXDGCacheHome(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_TOKEN_PATH", "")
	t.Setenv("HF_HOME", "")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "xdg"))
	writeToken(t, filepath.Join(dir, "xdg", "huggingface", "token"), "tok-xdg")
	got, err := DiscoverToken()
	require.NoError(t, err)
	assert.Equal(t, "tok-xdg", got)
}
