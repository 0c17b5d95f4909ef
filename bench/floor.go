package main

import (
	"bufio"
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

// The floor of the get_endpoint rows is the least any server in front of the API can do for
// get_endpoint: read the JSON-RPC request, make the same API call with the same client, and answer
// with the endpoint's name, state and URL as a tool result, over the same transport: net/http as
// the server serves streamable HTTP, or lines on stdin and stdout. No MCP server can do the call
// faster over that transport on the same machine; a row's figure above its floor's is the server's
// share.

// floorCommand makes the bench binary serve the floor as a process of its own, for the rows that
// compare it with the server's binary: bench floor-proxy -addr host:port (HTTP) or
// bench floor-proxy -stdio, with the API's address and token in the environment variables the
// server reads.
const floorCommand = "floor-proxy"

// serveFloor runs floorCommand until interrupted, or until stdin ends with -stdio.
func serveFloor(args []string) error {
	fs := flag.NewFlagSet(floorCommand, flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	stdio := fs.Bool("stdio", false, "answer request lines on stdin on stdout instead of listening")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := hfapi.New(hfapi.Config{Token: os.Getenv("HF_TOKEN"), APIBase: os.Getenv("HF_ENDPOINTS_API_URL"),
		HubBase: os.Getenv("HF_ENDPOINT"), CatalogBase: os.Getenv("HF_ENDPOINTS_CATALOG_URL"), MaxHourlyCost: hfapi.NoCostCeiling})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *stdio {
		return serveFloorLines(ctx, c, os.Stdin, os.Stdout)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: floorHandler(c)}
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
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		answer, err := floorAnswer(r.Context(), c, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})
	return mux
}

// serveFloorLines answers each request line of in with a line on out, until in ends.
func serveFloorLines(ctx context.Context, c *hfapi.Client, in io.Reader, out io.Writer) error {
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		answer, err := floorAnswer(ctx, c, lines.Bytes())
		if err != nil {
			return err
		}
		if _, err := out.Write(answer); err != nil {
			return err
		}
	}
	return lines.Err()
}

// floorAnswer reads a tools/call of get_endpoint, makes the API call and returns the answer, a
// JSON-RPC response ending in a newline.
func floorAnswer(ctx context.Context, c *hfapi.Client, request []byte) ([]byte, error) {
	var req struct {
		ID     json.RawMessage `json:"id"`
		Params struct {
			Arguments struct {
				Name string `json:"endpoint_name"`
			} `json:"arguments"`
		} `json:"params"`
	}
	if err := json.Unmarshal(request, &req); err != nil {
		return nil, fmt.Errorf("not a JSON-RPC request: %w", err)
	}
	ep, err := c.Get(ctx, "", req.Params.Arguments.Name)
	if err != nil {
		return nil, err
	}
	type view struct {
		Name  string `json:"name"`
		State string `json:"state"`
		URL   string `json:"url,omitempty"`
	}
	v := view{Name: ep.Name, State: string(ep.Status.State), URL: ep.Status.URL}
	answer, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": map[string]any{
		"content":           []any{map[string]any{"type": "text", "text": v.Name + " is " + v.State}},
		"structuredContent": map[string]any{"endpoint": v},
	}})
	return append(answer, '\n'), err
}

// startFloor spawns this program as the floor's binary, serving HTTP.
func (e *env) startFloor(ctx context.Context) (*proc, error) {
	self, err := e.floorBinary()
	if err != nil {
		return nil, err
	}
	return e.spawnBinary(ctx, self, "the floor proxy", "/healthz", e.serverEnv(), floorCommand)
}

// startFloorStdio spawns this program as the floor's binary, answering lines on stdin.
func (e *env) startFloorStdio(ctx context.Context) (*stdioProbe, error) {
	self, err := e.floorBinary()
	if err != nil {
		return nil, err
	}
	return e.startProbe(ctx, self, floorCommand, "-stdio")
}

func (e *env) floorBinary() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("the bench's own binary, to serve the floor: %w", err)
	}
	return self, nil
}
