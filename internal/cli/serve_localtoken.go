package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/httpsec"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/mcpserver"
)

// authOff is the --auth-token value that serves loopback HTTP without a bearer token.
const authOff = "off"

// needsLocalToken reports whether serve must protect its HTTP listener with a generated token:
// an HTTP transport on a loopback address with no other authentication (--auth-token,
// pass-through, OAuth), no --emulator (which holds nothing of the user's) and no explicit
// --auth-token off. Without it any local account could act with the owner's Hugging Face token
// through the loopback port. A non-loopback address without auth is refused, as before.
func (h httpConfig) needsLocalToken(transport, addr string, emulator bool) bool {
	return transport != "stdio" && h.authToken == "" && !h.authOff && !h.passThrough && !h.oauth && !emulator &&
		httpsec.CheckListenAddr(addr, false) == nil
}

// useLocalToken loads (or, on first start, generates) the bearer token kept in the state directory,
// requires it, and arranges for the URL and the header to configure to be printed on stderr once
// the server listens.
func (h *httpConfig) useLocalToken(state stateConfig, stderr io.Writer) error {
	dir, err := state.stateDir()
	if err != nil {
		return fmt.Errorf("serving HTTP without --auth-token needs a state directory to keep a generated token: %w", err)
	}
	tok, created, err := httpsec.LoadOrCreateLocalToken(dir)
	if err != nil {
		return fmt.Errorf("serving HTTP without --auth-token: %w", err)
	}
	h.authToken = tok
	h.onListen = func(base string) {
		printLocalToken(stderr, base, tok, filepath.Join(dir, httpsec.LocalTokenFile), created)
	}
	return nil
}

// printLocalToken tells the user where the server listens and which header their clients must send.
func printLocalToken(w io.Writer, base, tok, path string, created bool) {
	kept := "It is kept in " + path + " (mode 0600) and stays the same across restarts."
	if created {
		kept = "It was generated now and is kept in " + path + " (mode 0600); it stays the same across restarts."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nHTTP clients of this server must send the header\n\n")
	fmt.Fprintf(&b, "    Authorization: Bearer %s\n\n", tok)
	fmt.Fprintf(&b, "to %s%s (streamable HTTP) or %s%s (legacy SSE).\n", base, mcpserver.PathStreamable, base, mcpserver.PathSSE)
	fmt.Fprintf(&b, "%s\n", kept)
	fmt.Fprintf(&b, "Set --auth-token (or %s) to choose the token, or --auth-token off to serve loopback without one.\n\n", envAuthToken)
	_, _ = io.WriteString(w, b.String())
}
