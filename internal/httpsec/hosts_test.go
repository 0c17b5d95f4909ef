package httpsec

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAllowlistRules(t *testing.T) {
	a, err := NewAllowlist("127.0.0.1:8080", []string{"mcp.example.com", "proxy.internal:8443", "fd00::1"},
		[]string{"https://app.example.com"})
	require.NoError(t, err)
	hosts := map[string]bool{
		"localhost:8080": true, "LOCALHOST:8080": true, "localhost": true, "127.0.0.1:8080": true,
		"127.0.0.1": true, "[::1]:8080": true, "[::1]": true, "mcp.example.com": true,
		"mcp.example.com:443": true, "proxy.internal:8443": true, "[fd00::1]:9": true,
		"localhost:9999": false, "evil.example.com": false, "evil.example.com:8080": false,
		"": false, "proxy.internal": false, "proxy.internal:80": false, "localhost.:8080": false,
		"127.0.0.1.evil.com": false, "::1": false, "127.0.0.2:8080": false,
	}
	for h, want := range hosts {
		assert.Equal(t, want, a.AllowHost(h), "host %q", h)
	}
	origins := map[string]bool{
		"": true, "http://localhost:8080": true, "http://127.0.0.1:8080": true, "https://[::1]:8080": true,
		"https://app.example.com": true, "HTTPS://APP.EXAMPLE.COM": true, "https://app.example.com:443": true,
		"http://localhost": false, "http://127.0.0.1": false, "https://localhost": false, // ports 80 and 443, not 8080
		"https://mcp.example.com": true,
		"null":                    false, "http://evil.example.com": false, "http://localhost:9999": false,
		"file://localhost:8080": false, "http://user@localhost:8080": false,
		"http://localhost:8080/path": false, "http://app.example.com": false, "localhost:8080": false,
		"http://localhost:8080.evil.com": false,
	}
	for o, want := range origins {
		assert.Equal(t, want, a.AllowOrigin(o), "origin %q", o)
	}
}

// TestOriginMustMatchTheListeningPort: a page on http://localhost (port 80,
// another program) is not this server's origin, over a real connection.
func TestOriginMustMatchTheListeningPort(t *testing.T) {
	h := &reached{}
	var a *Allowlist
	base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.Guard()(h).ServeHTTP(w, r) }))
	u, err := url.Parse(base)
	require.NoError(t, err)
	a, err = NewAllowlist(u.Host, nil, nil)
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(u.Host)
	require.NotEqual(t, "80", port)
	for origin, want := range map[string]int{
		"http://localhost": 403, "http://127.0.0.1": 403, "http://[::1]": 403, "http://localhost:1" + port: 403,
		"http://localhost:" + port: 200, "http://127.0.0.1:" + port: 200,
	} {
		code, _, body := do(t, http.MethodPost, base+"/mcp", nil, map[string]string{"Origin": origin})
		assert.Equal(t, want, code, "Origin %s: %s", origin, body)
	}
	b, err := NewAllowlist("127.0.0.1:80", nil, nil)
	require.NoError(t, err)
	assert.True(t, b.AllowOrigin("http://localhost"), "on port 80, http://localhost is the server's own origin")
	assert.False(t, b.AllowOrigin("https://localhost"), "https://localhost is port 443")
}

func TestNewAllowlistErrors(t *testing.T) {
	for _, tc := range []struct {
		addr           string
		hosts, origins []string
		want           string
	}{
		{addr: "127.0.0.1", want: "invalid listen address"},
		{addr: "127.0.0.1:1", hosts: []string{"http://x"}, want: "invalid host"},
		{addr: "127.0.0.1:1", origins: []string{"app.example.com"}, want: "invalid origin"},
		{addr: "127.0.0.1:1", origins: []string{"ftp://app.example.com"}, want: "invalid origin"},
	} {
		_, err := NewAllowlist(tc.addr, tc.hosts, tc.origins)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestAllowlistIncludesSpecificListenHost(t *testing.T) {
	a, err := NewAllowlist("192.168.1.5:9000", nil, nil)
	require.NoError(t, err)
	assert.True(t, a.AllowHost("192.168.1.5:9000"))
	assert.True(t, a.AllowHost("localhost:9000"))
	b, err := NewAllowlist("0.0.0.0:9000", nil, nil)
	require.NoError(t, err)
	assert.False(t, b.AllowHost("0.0.0.0:9000"), "the unspecified address is not a name clients use")
}

func TestGuardOverHTTP(t *testing.T) {
	h := &reached{}
	mux := http.NewServeMux()
	var a *Allowlist
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.Guard()(h).ServeHTTP(w, r) }))
	base := serve(t, mux)
	u, err := url.Parse(base)
	require.NoError(t, err)
	a, err = NewAllowlist(u.Host, nil, nil)
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(u.Host)

	tests := []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"plain loopback", nil, 200},
		{"localhost host", map[string]string{"Host": "localhost:" + port}, 200},
		{"same-origin browser", map[string]string{"Origin": "http://localhost:" + port}, 200},
		{"rebinding host", map[string]string{"Host": "evil.example.com"}, 403},
		{"rebinding host with port", map[string]string{"Host": "evil.example.com:" + port}, 403},
		{"foreign origin", map[string]string{"Origin": "https://evil.example.com"}, 403},
		{"null origin", map[string]string{"Origin": "null"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.n.Load()
			code, _, body := do(t, http.MethodPost, base+"/mcp", strings.NewReader("{}"), tt.hdr)
			require.Equal(t, tt.want, code, body)
			if tt.want == 403 {
				jsonError(t, body)
				assert.Equal(t, before, h.n.Load(), "handler must not run")
			}
		})
	}
}

// FuzzAllowlist checks that arbitrary Host and Origin values never panic, and that with no extra hosts
// only loopback names can ever be allowed.
func FuzzAllowlist(f *testing.F) {
	for _, s := range [][2]string{
		{"localhost:8080", "http://localhost:8080"}, {"evil.example.com", "https://evil.example.com"},
		{"[::1]:8080", "http://[::1]:8080"}, {"", "null"}, {"[::1", "http://[::1"}, {"%", "http://%41"},
	} {
		f.Add(s[0], s[1])
	}
	a, err := NewAllowlist("127.0.0.1:8080", nil, nil)
	require.NoError(f, err)
	loopback := map[string]bool{"localhost": true, "127.0.0.1": true, "[::1]": true}
	f.Fuzz(func(t *testing.T, host, origin string) {
		if a.AllowHost(host) {
			name := strings.ToLower(host)
			if h, p, err := net.SplitHostPort(name); err == nil {
				require.Equal(t, "8080", p, "host %q", host)
				name = bracket(h)
			}
			require.True(t, loopback[name], "host %q allowed", host)
		}
		if a.AllowOrigin(origin) && origin != "" {
			u, err := url.Parse(origin)
			require.NoError(t, err)
			require.True(t, loopback[bracket(strings.ToLower(u.Hostname()))], "origin %q allowed", origin)
		}
	})
}
