#!/bin/sh
# Register hf-endpoints-mcp with Claude Code (pick one or more).
set -e

# Your Hugging Face account over stdio; the token is read from your shell's HF_TOKEN.
claude mcp add --scope user --env HF_TOKEN="$HF_TOKEN" hf-endpoints -- hf-endpoints-mcp serve

# The offline emulator over stdio: no account, no network, nothing billed.
claude mcp add --scope user hf-endpoints-emulator -- hf-endpoints-mcp serve --emulator

# Streamable HTTP: first start the server yourself, in another terminal:
#   hf-endpoints-mcp serve --transport http --addr 127.0.0.1:8080
claude mcp add --scope user --transport http hf-endpoints-http http://127.0.0.1:8080/mcp
