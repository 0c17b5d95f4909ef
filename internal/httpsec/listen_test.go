package httpsec

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckListenAddr(t *testing.T) {
	loopback := []string{
		"127.0.0.1:8080", "127.0.0.2:8080", "localhost:8080", "LocalHost:0", "[::1]:8080",
		"[::ffff:127.0.0.1]:8080", "127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.1:", "localhost:http",
	}
	for _, addr := range loopback {
		t.Run("loopback "+addr, func(t *testing.T) {
			assert.NoError(t, CheckListenAddr(addr, false))
			assert.NoError(t, CheckListenAddr(addr, true))
		})
	}
	exposed := []string{
		"", ":8080", "0.0.0.0:8080", "0.0.0.0", "[::]:8080", "[::]", "::", "[::ffff:0.0.0.0]:80",
		"192.168.1.10:8080", "10.0.0.1:80", "[fe80::1%eth0]:8080", "[2001:db8::1]:8080",
		"example.com:8080", "localhost.example.com:8080", "myhost:8080",
	}
	for _, addr := range exposed {
		t.Run("exposed "+addr, func(t *testing.T) {
			err := CheckListenAddr(addr, false)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "--auth-token")
			assert.Contains(t, err.Error(), "MCP_AUTH_TOKEN")
			assert.Contains(t, err.Error(), "127.0.0.1")
			assert.Contains(t, err.Error(), "--hf-token-passthrough")
			assert.NoError(t, CheckListenAddr(addr, true), "auth configured")
		})
	}
	malformed := []string{"127.0.0.1:99999", "127.0.0.1:80:80x", "127.0.0.1:8o8o0", "http://127.0.0.1:8080"}
	for _, addr := range malformed {
		t.Run("malformed "+addr, func(t *testing.T) {
			err := CheckListenAddr(addr, true)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "invalid listen address")
		})
	}
}

func TestNewServer(t *testing.T) {
	h := http.NotFoundHandler()
	s := NewServer(h, "127.0.0.1:8080")
	assert.Equal(t, "127.0.0.1:8080", s.Addr)
	assert.Positive(t, s.ReadHeaderTimeout)
	assert.Positive(t, s.IdleTimeout)
	assert.Positive(t, s.MaxHeaderBytes)
	assert.Zero(t, s.WriteTimeout, "streams are long-lived")
	assert.Zero(t, s.ReadTimeout, "a read deadline would also cut long-lived streams")
}
