package httpsec_test

import (
	"context"
	"log"
	"net"
	"net/http"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/httpsec"
)

// Wiring the MCP listener: check the address, wrap the mux, serve with the hardened server.
func Example() {
	mux := http.NewServeMux() // /mcp, /sse, /message, /healthz
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	h, err := httpsec.Config{
		Addr: ln.Addr().String(), // the resolved address, so the Host allowlist has the real port
		Auth: httpsec.AuthOptions{
			Token:       "", // --auth-token / MCP_AUTH_TOKEN; required when not on loopback
			PublicPaths: []string{"/healthz"},
		},
	}.Handler(mux)
	if err != nil {
		log.Fatal(err) // e.g. a non-loopback address without auth
	}
	srv := httpsec.NewServer(h, ln.Addr().String())
	go func() { _ = srv.Serve(ln) }()
	_ = srv.Shutdown(context.Background())
}
