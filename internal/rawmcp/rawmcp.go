// Package rawmcp is a bare client of MCP's streamable HTTP transport: plain
// HTTP requests carrying JSON-RPC messages as written, with none of an SDK's
// own work (no validation, no decoding of the answers). Benchmarks use it to
// isolate the server's share of a call, and tests to see the wire.
package rawmcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The protocol versions a client speaks: a session opened with initialize, or
// stateless requests carrying their own _meta.
const (
	Legacy = "2025-11-25"
	Modern = "2026-07-28"
)

// Client posts to one streamable HTTP endpoint in one protocol version. It is
// for one goroutine at a time.
type Client struct {
	url, version string
	hc           *http.Client
	session      string // Mcp-Session-Id of a Legacy session
	meta         string // the params._meta member of a Modern request, with its comma
	id           int
}

// Open returns a client of url speaking version. A Legacy client opens its
// session first (initialize, then notifications/initialized); a Modern one
// needs none.
func Open(ctx context.Context, hc *http.Client, url, version string) (*Client, error) {
	c := &Client{url: url, version: version, hc: hc}
	if version >= Modern {
		c.meta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"` + version +
			`","io.modelcontextprotocol/clientInfo":{"name":"rawmcp","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}},`
		return c, nil
	}
	resp, _, err := c.Post(ctx, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"`+version+
		`","capabilities":{},"clientInfo":{"name":"rawmcp","version":"1"}}}`)
	if err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
	}
	if c.session = resp.Header.Get("Mcp-Session-Id"); c.session == "" {
		return nil, errors.New("initialize was answered without an Mcp-Session-Id")
	}
	if _, _, err := c.Post(ctx, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
		return nil, fmt.Errorf("notifications/initialized: %w", err)
	}
	return c, nil
}

// Session is the Mcp-Session-Id of a Legacy client's session; "" for Modern.
func (c *Client) Session() string { return c.session }

// Post sends one message as written, with the headers given as name, value
// pairs besides the transport's own, and returns the response (its body read
// and closed) and the body. An HTTP status of 300 or more is an error that
// quotes the body.
func (c *Client) Post(ctx context.Context, body string, header ...string) (*http.Response, []byte, error) {
	resp, err := c.do(ctx, http.MethodPost, body, header)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp, out, err
}

// CallTool calls the tool name with arguments (a JSON object) and returns the
// answer's body.
func (c *Client) CallTool(ctx context.Context, name, arguments string) ([]byte, error) {
	c.id++
	body := `{"jsonrpc":"2.0","id":` + strconv.Itoa(c.id) + `,"method":"tools/call","params":{` + c.meta +
		`"name":` + strconv.Quote(name) + `,"arguments":` + arguments + `}}`
	_, out, err := c.Post(ctx, body, "Mcp-Method", "tools/call", "Mcp-Name", name)
	return out, err
}

// Listen opens a Legacy session's GET stream and returns its body: the
// server's notifications, until it is closed.
func (c *Client) Listen(ctx context.Context) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodGet, "", nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func (c *Client) do(ctx context.Context, method, body string, header []string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
	} else {
		req.Header.Set("Accept", "text/event-stream")
	}
	req.Header.Set("Mcp-Protocol-Version", c.version)
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		_ = resp.Body.Close()
		return nil, fmt.Errorf("%s: HTTP %d: %s", method, resp.StatusCode, out)
	}
	return resp, nil
}
