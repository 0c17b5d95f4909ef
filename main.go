// Command hf-endpoints-mcp is an MCP server for Hugging Face Inference Endpoints,
// with an offline emulator of the service.
//
// Usage:
//
//	hf-endpoints-mcp [serve] [flags]   run the MCP server (default)
//	hf-endpoints-mcp emulator [flags]  run the offline Inference Endpoints emulator
//	hf-endpoints-mcp version           print the version
//
// The commands live in internal/cli; this file only hands them the process.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
