// Command hf-endpoints-mcp is an MCP server for Hugging Face Inference Endpoints,
// with an offline emulator of the service.
//
// Usage:
//
//	hf-endpoints-mcp [serve] [flags]   run the MCP server (default)
//	hf-endpoints-mcp emulator [flags]  run the offline Inference Endpoints emulator
//	hf-endpoints-mcp version           print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "hf-endpoints-mcp:", err)
		os.Exit(1)
	}
}

// run dispatches to a subcommand. Output meant for the user goes to stdout only
// where the subcommand is not speaking a protocol on it (serve over stdio).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, stdout, stderr)
	case "emulator":
		return runEmulator(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "hf-endpoints-mcp %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q; valid commands are serve, emulator, version, help", cmd)
	}
}

const usage = `hf-endpoints-mcp — an MCP server for Hugging Face Inference Endpoints

Usage:
  hf-endpoints-mcp [serve] [flags]   run the MCP server (default command)
  hf-endpoints-mcp emulator [flags]  run the offline Inference Endpoints emulator
  hf-endpoints-mcp version           print the version

Run "hf-endpoints-mcp serve -h" or "hf-endpoints-mcp emulator -h" for flags.
`
