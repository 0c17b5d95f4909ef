# hf-endpoints-mcp: a static binary on distroless, as a non-root user, with no shell.
#   docker build -t hf-endpoints-mcp .
#   docker run --rm -p 8080:8080 -e HF_MCP_TOKEN_PASSTHROUGH=1 hf-endpoints-mcp   # each caller sends their own HF token
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.1.0-dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/cli.Version=${VERSION}" \
      -o /out/hf-endpoints-mcp .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hf-endpoints-mcp /usr/local/bin/hf-endpoints-mcp
# The signing key, the ledger of used confirmations and the audit log live here unless set otherwise;
# mount a volume (or set HF_MCP_STATE_DIR) to keep them.
ENV HF_MCP_STATE_DIR=/home/nonroot/state
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/hf-endpoints-mcp"]
CMD ["serve", "--transport", "http", "--addr", "0.0.0.0:8080"]
