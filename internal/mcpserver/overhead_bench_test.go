package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/rawmcp"
)

const (
	benchInitialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`
	benchInitalized = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	benchGet        = `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_endpoint","arguments":{"endpoint_name":"load"}}}`
)

// overheadClient is an API client for an emulator holding one running endpoint ("load").
func overheadClient(b *testing.B) *hfapi.Client {
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: emulator.Timings{Deploy: time.Millisecond, IdleMinute: time.Hour}})
	require.NoError(b, err)
	b.Cleanup(func() { _ = emu.Close() })
	cfg := emuConfig(emu, emu.Token())
	cfg.HTTPClient = &http.Client{Transport: pooledTransport(b)}
	client, err := hfapi.New(cfg)
	require.NoError(b, err)
	createEndpoint(b, client, "load")
	_, err = client.Wait(context.Background(), "", "load", hfapi.WaitOptions{Timeout: 10 * time.Second, Poll: time.Millisecond})
	require.NoError(b, err)
	return client
}

// BenchmarkGetEndpointOverhead times get_endpoint through the server in this process with a raw
// JSON-RPC client, over stdio and over streamable HTTP in both eras, beside the direct call it
// wraps; "handle" is the server's own work without a transport (mcp-go's HandleMessage and the
// response's encoding). Profile the server's share with -cpuprofile:
//
//	go test -run '^$' -bench GetEndpointOverhead -count 6 -cpuprofile cpu.out ./internal/mcpserver/
func BenchmarkGetEndpointOverhead(b *testing.B) {
	client := overheadClient(b)
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			_, err := client.Get(context.Background(), "", "load")
			require.NoError(b, err)
		}
	})
	b.Run("handle", func(b *testing.B) { // the server's own work, no transport: HandleMessage and the response's encoding
		s, err := New(Options{Client: client})
		require.NoError(b, err)
		ctx := context.Background()
		require.NotNil(b, s.MCP().HandleMessage(ctx, []byte(benchInitialize)))
		for b.Loop() {
			raw, err := json.Marshal(s.MCP().HandleMessage(ctx, []byte(benchGet)))
			require.NoError(b, err)
			if !strings.Contains(string(raw), `"state"`) {
				b.Fatalf("unexpected answer %s", raw)
			}
		}
	})
	b.Run("stdio", func(b *testing.B) {
		s, err := New(Options{Client: client})
		require.NoError(b, err)
		clientIn, serverOut := io.Pipe()
		serverIn, clientOut := io.Pipe()
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- s.ServeStdio(ctx, serverIn, serverOut) }()
		defer func() {
			_ = clientOut.Close()
			cancel()
			<-served
		}()
		out := bufio.NewReader(clientIn)
		send := func(line string, answer bool) string {
			_, err := io.WriteString(clientOut, line+"\n")
			require.NoError(b, err)
			if !answer {
				return ""
			}
			res, err := out.ReadString('\n')
			require.NoError(b, err)
			return res
		}
		send(benchInitialize, true)
		send(benchInitalized, false)
		for b.Loop() {
			if res := send(benchGet, true); !strings.Contains(res, `"state"`) {
				b.Fatalf("unexpected answer %s", res)
			}
		}
	})
	// http-2026-07-28-mcpgo is the 2026-07-28 call through mcp-go's transport (mcpgo_modern_post.go off).
	for _, row := range []struct{ name, version string }{
		{"http-2025-11-25", "2025-11-25"}, {"http-2026-07-28", "2026-07-28"}, {"http-2026-07-28-mcpgo", "2026-07-28"},
	} {
		version := row.version
		b.Run(row.name, func(b *testing.B) {
			s, err := New(Options{Client: client})
			require.NoError(b, err)
			s.modernPostsOff = strings.HasSuffix(row.name, "-mcpgo")
			c, err := rawmcp.Open(context.Background(), &http.Client{Transport: pooledTransport(b)}, serve(b, s)+PathStreamable, version)
			require.NoError(b, err)
			for b.Loop() {
				getLoad(b, c)
			}
		})
	}
}

// BenchmarkServerShare is the server's own work per get_endpoint call over streamable HTTP, in
// both eras, without sockets or an upstream: the HTTP handler is driven in memory and the API's
// answer (recorded once from the emulator) is replayed from memory, so that what is left is the
// handler chain, mcp-go, the tool, the API client's decoding and the raw client's own few µs;
// "api" is the decoding alone (the API client's call on the same replayed answer). With no
// network and no other goroutine in the way it varies far less than GetEndpointOverhead on a
// busy machine: compare changes to the server's share with it, then confirm them with
// GetEndpointOverhead.
//
//	go test -run '^$' -bench ServerShare -benchmem -count 6 ./internal/mcpserver/
func BenchmarkServerShare(b *testing.B) {
	recorded := recordGet(b)
	client, err := hfapi.New(hfapi.Config{Token: "hf_benchbenchbenchbenchbenchbenchbench", APIBase: "http://api.invalid",
		HubBase: "http://hub.invalid", CatalogBase: "http://catalog.invalid", Namespace: emulator.DefaultUser,
		HTTPClient: &http.Client{Transport: recorded}})
	require.NoError(b, err)
	b.Run("api", func(b *testing.B) {
		for b.Loop() {
			_, err := client.Get(context.Background(), "", "load")
			require.NoError(b, err)
		}
	})
	for _, version := range []string{rawmcp.Legacy, rawmcp.Modern} {
		b.Run("http-"+version, func(b *testing.B) {
			s, err := New(Options{Client: client})
			require.NoError(b, err)
			b.Cleanup(func() { s.HTTPHandler().CloseSessions(context.Background()) })
			c, err := rawmcp.Open(context.Background(), &http.Client{Transport: inMemory{s.Handler()}}, "http://127.0.0.1:1"+PathStreamable, version)
			require.NoError(b, err)
			for b.Loop() {
				getLoad(b, c)
			}
		})
	}
}

// getLoad calls get_endpoint on the endpoint "load" through c.
func getLoad(b *testing.B, c *rawmcp.Client) {
	res, err := c.CallTool(context.Background(), "get_endpoint", `{"endpoint_name":"load"}`)
	require.NoError(b, err)
	if !strings.Contains(string(res), `"state"`) {
		b.Fatalf("unexpected answer %s", res)
	}
}

// inMemory serves a request with a handler in this goroutine, as a client's transport.
type inMemory struct{ h http.Handler }

func (t inMemory) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// cannedAnswer answers every request with one recorded response.
type cannedAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (t *cannedAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: t.status, Header: t.header.Clone(), Body: io.NopCloser(bytes.NewReader(t.body)),
		ContentLength: int64(len(t.body)), Request: r, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

// recordGet records the emulator's answer to the API call get_endpoint makes for a running endpoint "load".
func recordGet(b *testing.B) *cannedAnswer {
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: emulator.Timings{Deploy: time.Millisecond, IdleMinute: time.Hour}})
	require.NoError(b, err)
	defer emu.Close()
	rec := &recording{next: pooledTransport(b)}
	cfg := emuConfig(emu, emu.Token())
	cfg.Namespace = emulator.DefaultUser
	cfg.HTTPClient = &http.Client{Transport: rec}
	client, err := hfapi.New(cfg)
	require.NoError(b, err)
	createEndpoint(b, client, "load")
	_, err = client.Wait(context.Background(), "", "load", hfapi.WaitOptions{Timeout: 10 * time.Second, Poll: time.Millisecond})
	require.NoError(b, err)
	_, err = client.Get(context.Background(), "", "load")
	require.NoError(b, err)
	require.NotNil(b, rec.got)
	require.Contains(b, string(rec.got.body), `"running"`)
	return rec.got
}

type recording struct {
	next http.RoundTripper
	got  *cannedAnswer
}

func (t *recording) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	t.got = &cannedAnswer{status: resp.StatusCode, header: resp.Header.Clone(), body: body}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
