package httpsec

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Allowlist decides which Host headers and Origins may reach the server. It defends against DNS
// rebinding: a browser page on evil.example whose name resolves to 127.0.0.1 still sends
// "Host: evil.example", and a cross-site fetch carries its own Origin.
type Allowlist struct {
	hosts   map[string]bool // lower-case "host" and "host:port" forms
	anyPort map[string]bool // configured hosts given without a port: any port is fine
	origins map[string]bool // lower-case "scheme://host[:port]"
}

// NewAllowlist builds an allowlist for a server listening on listenAddr (use the listener's resolved
// address, so that ":0" has its real port). Allowed by default: localhost, 127.0.0.1 and [::1], each bare
// and with the listening port, plus the listen host itself when it is a specific address. extraHosts are
// "host:port" entries, or "host" to allow that host on any port (a reverse proxy may rewrite the port);
// extraOrigins are full origins such as "https://app.example.com".
func NewAllowlist(listenAddr string, extraHosts, extraOrigins []string) (*Allowlist, error) {
	a := &Allowlist{hosts: make(map[string]bool), anyPort: make(map[string]bool), origins: make(map[string]bool)}
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return nil, fmt.Errorf("allowlist: invalid listen address %q: want host:port, e.g. 127.0.0.1:8080", listenAddr)
	}
	defaults := []string{"localhost", "127.0.0.1", "[::1]"}
	if h := bracket(host); host != "" && !isUnspecified(host) {
		defaults = append(defaults, h)
	}
	for _, h := range defaults {
		a.hosts[strings.ToLower(h)] = true
		a.hosts[strings.ToLower(h)+":"+port] = true
	}
	for _, h := range extraHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || strings.ContainsAny(h, "/ @") {
			return nil, fmt.Errorf("allowlist: invalid host %q: want host or host:port, e.g. mcp.example.com:443", h)
		}
		if _, err := netip.ParseAddr(h); err == nil {
			h = bracket(h) // a bare IPv6 literal; Host headers carry it in brackets
		}
		a.hosts[h] = true
		if _, _, err := net.SplitHostPort(h); err != nil {
			a.anyPort[h] = true
		}
	}
	for _, o := range extraOrigins {
		norm, ok := normalizeOrigin(strings.TrimSpace(o))
		if !ok {
			return nil, fmt.Errorf("allowlist: invalid origin %q: want scheme://host[:port], e.g. https://app.example.com", o)
		}
		a.origins[norm] = true
	}
	return a, nil
}

// AllowHost reports whether a Host header value (host or host:port) is allowed.
func (a *Allowlist) AllowHost(host string) bool {
	host = strings.ToLower(host)
	if host == "" || a.hosts[host] {
		return host != ""
	}
	name, _, err := net.SplitHostPort(host)
	return err == nil && a.anyPort[bracket(name)]
}

// AllowOrigin reports whether an Origin header value is allowed: "" (no Origin, a non-browser client)
// is allowed; otherwise it must be a configured origin, or an http(s) origin whose host and port are
// allowed. An origin's port is its scheme's default when it names none, so http://localhost is
// localhost:80: a page served by another program on that port is not this server's (the bare host
// names allowed for Host headers do not count here).
func (a *Allowlist) AllowOrigin(origin string) bool {
	if origin == "" {
		return true
	}
	norm, ok := normalizeOrigin(origin)
	if !ok {
		return false
	}
	if a.origins[norm] {
		return true
	}
	_, hostport, _ := strings.Cut(norm, "://")
	name, _, err := net.SplitHostPort(hostport)
	return err == nil && (a.hosts[hostport] || a.anyPort[bracket(name)])
}

// Guard returns middleware answering 403 before the wrapped handler runs when the Host or Origin header
// is not allowed.
func (a *Allowlist) Guard() Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !a.AllowHost(r.Host) {
				writeError(w, http.StatusForbidden, "host not allowed: this server only answers to its "+
					"loopback names; add the name with --allowed-hosts if it is legitimate")
				return
			}
			if origins := r.Header.Values("Origin"); len(origins) > 1 || !a.AllowOrigin(r.Header.Get("Origin")) {
				writeError(w, http.StatusForbidden, "origin not allowed: cross-site browser requests are "+
					"refused; add the origin with --allowed-origins if it is legitimate")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// normalizeOrigin returns "scheme://host:port" in lower case, the port made explicit, or false unless o is a serialized http or
// https origin (no path, query, fragment or user info).
func normalizeOrigin(o string) (string, bool) {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port), true
}

// bracket wraps an IPv6 literal in brackets, as it appears in Host headers.
func bracket(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

func isUnspecified(host string) bool {
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsUnspecified()
}
