package httpsec

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Server timeouts. There is deliberately no WriteTimeout: SSE and streamable HTTP streams are long-lived.
const (
	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 64 << 10
)

// NewServer returns an http.Server for handler on addr with header-read and idle timeouts and a header
// size cap. Body reads are bounded by LimitBody (size and read deadline), not by ReadTimeout, which would
// also cut off long-lived streams.
func NewServer(handler http.Handler, addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// CheckListenAddr returns an error if addr is malformed, or if it is not a loopback address and auth is
// not configured. An empty host (":8080", ""), unspecified addresses (0.0.0.0, [::]) and hostnames other
// than localhost all count as non-loopback: they may be reachable from other machines.
func CheckListenAddr(addr string, authConfigured bool) error {
	host, err := splitListenAddr(addr)
	if err != nil {
		return err
	}
	if isLoopbackHost(host) || authConfigured {
		return nil
	}
	return fmt.Errorf("refusing to listen on %q: it is not a loopback address and no auth is configured; "+
		"set --auth-token or MCP_AUTH_TOKEN to require a bearer token, or --hf-token-passthrough to require "+
		"each caller's own Hugging Face token, or bind 127.0.0.1 (e.g. --addr 127.0.0.1:8080)", addr)
}

// splitListenAddr returns the host part of a listen address, accepting "host:port", "[v6]:port", ":port",
// a bare host and "" (which net/http treats as ":http").
func splitListenAddr(addr string) (string, error) {
	if addr == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		// A bare host or IP without a port ("localhost", "::1", "[::1]").
		host := strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
		if _, ipErr := netip.ParseAddr(host); ipErr != nil && strings.ContainsAny(host, ":/ []") {
			return "", fmt.Errorf("invalid listen address %q: want host:port, e.g. 127.0.0.1:8080", addr)
		}
		return host, nil
	}
	if _, perr := strconv.ParseUint(port, 10, 16); perr != nil && port != "" && !isServiceName(port) {
		return "", fmt.Errorf("invalid listen address %q: port %q is not a number 0-65535", addr, port)
	}
	return host, nil
}

// isServiceName accepts named ports such as "http", which net.Listen resolves.
func isServiceName(p string) bool {
	if p == "" {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
			return false
		}
	}
	return true
}

// isLoopbackHost reports whether host (no port, no brackets) is "localhost" or a loopback IP, including
// IPv4-mapped forms such as ::ffff:127.0.0.1. An IPv6 zone is ignored.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.WithZone("").Unmap().IsLoopback()
}
