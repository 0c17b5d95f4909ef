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
	"strings"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/nearest"
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

// Run dispatches to a command. Output meant for the user goes to stdout only
// where the command is not speaking a protocol on it (serve over stdio).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			cmd, args = "help", args[1:]
		case "-version", "--version":
			cmd, args = "version", args[1:]
		default:
			if !strings.HasPrefix(args[0], "-") {
				cmd, args = args[0], args[1:]
			}
		}
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
		var cfg serveConfig
		var level string
		serveFlags(&cfg, &level).printUsage(stdout)
		return nil
	}
	msg := fmt.Sprintf("unknown command %q", cmd)
	if near := nearest.Name(cmd, commands); near != "" {
		msg += "; did you mean " + near + "?"
	}
	return fmt.Errorf("%s (the commands are %s; run 'hf-endpoints-mcp --help')", msg, strings.Join(commands, ", "))
}

// commands are the names Run accepts.
var commands = []string{"serve", "emulator", "version", "help"}
