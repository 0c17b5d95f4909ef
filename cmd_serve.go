package main

import (
	"context"
	"errors"
	"io"
)

// runServe runs the MCP server. It is wired by the MCP core.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("serve is not available yet")
}
