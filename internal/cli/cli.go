// Package cli is the hf-endpoints-mcp command: it turns arguments and the
// environment into a configuration and runs serve, emulator or version.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
)

// Version is set at build time with
// -ldflags "-X github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/cli.Version=…".
var Version = "0.1.0-dev"

// Main runs the command named by args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if err := Run(ctx, args, stdout, stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, "hf-endpoints-mcp:", err)
		return 1
	}
	return 0
}

// Run dispatches to a subcommand. Output meant for the user goes to stdout only
// where the subcommand is not speaking a protocol on it (serve over stdio).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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
		fmt.Fprintf(stdout, "hf-endpoints-mcp %s (%s %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
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
