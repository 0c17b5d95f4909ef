#!/bin/sh
# Register hf-endpoints-mcp with Claude Code (pick one or more).
# The server name comes first: --env takes every value up to the next option,
# so a name written after it would be read as one more environment variable.
set -e

# Your Hugging Face account over stdio; the token is read from your shell's HF_TOKEN.
claude mcp add hf-endpoints --scope user --env HF_TOKEN="$HF_TOKEN" -- hf-endpoints-mcp serve

# The offline emulator over stdio: no account, no network, nothing billed.
claude mcp add hf-endpoints-emulator --scope user -- hf-endpoints-mcp serve --emulator

# Streamable HTTP: first start the server yourself, in another terminal:
#   hf-endpoints-mcp serve --transport http --addr 127.0.0.1:8080
# On its first start it generates a bearer token, keeps it in its state directory
# (the file below, mode 0600) and prints the header to send; it reuses it afterwards.
HTTP_TOKEN_FILE="${XDG_STATE_HOME:-$HOME/.local/state}/hf-endpoints-mcp/http-token"
claude mcp add hf-endpoints-http --header "Authorization: Bearer $(cat $HTTP_TOKEN_FILE)" --scope user --transport http http://127.0.0.1:8080/mcp
