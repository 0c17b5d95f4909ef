//go:build deps

// Package main's deps.go pins the module's dependencies while the packages that
// use them are written; it is removed once they are imported for real.
package main

import (
	_ "github.com/invopop/jsonschema"
	_ "github.com/mark3labs/mcp-go/server"
	_ "github.com/modelcontextprotocol/go-sdk/mcp"
	_ "github.com/stretchr/testify/require"
)
