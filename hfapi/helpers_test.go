package hfapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testToken is distinctive so that any leak into an error or printout is easy to detect.
const testToken = "hf_TOPSECRET_zq9XkV7mP2wL4nR8"

// fakeClock advances instantly and records every requested sleep.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	f.now = f.now.Add(d)
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// newTestClient returns a client whose API, Hub and catalog all point at srv, with a fake clock.
// These servers replay wire formats without a hardware catalog, so the cost ceiling is off
// (guard_test.go tests it against the emulator).
func newTestClient(t *testing.T, srv *httptest.Server, mutate ...func(*Config)) (*Client, *fakeClock) {
	t.Helper()
	cfg := Config{Token: testToken, APIBase: srv.URL + "/v2", HubBase: srv.URL, CatalogBase: srv.URL + "/api/catalog",
		Namespace: "acme", HTTPClient: srv.Client(), MaxHourlyCost: NoCostCeiling}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	fc := newFakeClock()
	c.clock = fc
	return c, fc
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// serveFixture answers with a testdata file as JSON.
func serveFixture(t *testing.T, w http.ResponseWriter, name string) {
	t.Helper()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(fixture(t, name))
}

// echoAuthServer is a hostile server that echoes the Authorization header in its error body.
func echoAuthServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Error-Message", "bad auth "+r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"token ` + r.Header.Get("Authorization") + ` rejected"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func fixtureBytes(name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return b
}
