// Package e2e tests the built hf-endpoints-mcp binary the way assistants use it:
// the official Go MCP SDK client over stdio, streamable HTTP and legacy SSE, in
// both protocol eras, against an emulator on loopback.
package e2e
