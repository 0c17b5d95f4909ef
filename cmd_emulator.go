package main

import (
	"context"
	"errors"
	"io"
)

// runEmulator runs the offline Inference Endpoints emulator.
func runEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("emulator is not available yet")
}
