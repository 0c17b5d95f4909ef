package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// The floor of the streamable HTTP rows is the least any HTTP server in front of the API can do for
// get_endpoint: read the JSON-RPC request, make the same API call with the same client, and answer
// with the endpoint's name, state and URL as a tool result, served by net/http as the server is. No MCP server can do a
// call over HTTP faster on the same machine; a row's ratio above the floor's is the server's share.

// floorCommand makes the bench binary serve the floor as a process of its own, for the row that
// compares it with the server's binary: bench floor-proxy -addr host:port, with the API's
// address and token in the environment variables the server reads.
const floorCommand = "floor-proxy"

// serveFloor runs floorCommand until interrupted.
func serveFloor(args []string) error {
	fs := flag.NewFlagSet(floorCommand, flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := hfapi.New(hfapi.Config{Token: os.Getenv("HF_TOKEN"), APIBase: os.Getenv("HF_ENDPOINTS_API_URL"),
		HubBase: os.Getenv("HF_ENDPOINT"), CatalogBase: os.Getenv("HF_ENDPOINTS_CATALOG_URL"), MaxHourlyCost: hfapi.NoCostCeiling})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: floorHandler(c)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// floorHandler answers a tools/call of get_endpoint posted to /mcp, and /healthz.
func floorHandler(c *hfapi.Client) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("POST /mcp", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Params struct {
				Arguments struct {
					Name string `json:"endpoint_name"`
				} `json:"arguments"`
			} `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "not a JSON-RPC request: "+err.Error(), http.StatusBadRequest)
			return
		}
		ep, err := c.Get(r.Context(), "", req.Params.Arguments.Name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		type view struct {
			Name  string `json:"name"`
			State string `json:"state"`
			URL   string `json:"url,omitempty"`
		}
		v := view{Name: ep.Name, State: string(ep.Status.State), URL: ep.Status.URL}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": map[string]any{
			"content":           []any{map[string]any{"type": "text", "text": v.Name + " is " + v.State}},
			"structuredContent": map[string]any{"endpoint": v},
		}})
	})
	return mux
}

// startFloor spawns this program as the floor's binary.
func (e *env) startFloor(ctx context.Context) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("the bench's own binary, to serve the floor: %w", err)
	}
	return e.spawnBinary(ctx, self, "the floor proxy", "/healthz", e.serverEnv(), floorCommand)
}
