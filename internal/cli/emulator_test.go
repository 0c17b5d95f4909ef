package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmulatorCommandServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"emulator", "--addr", "127.0.0.1:0", "--user", "alice", "--orgs", "acme, labs", "--deploy-time", "10ms"}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var banner strings.Builder
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	out := banner.String()
	base := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(out)
	require.Len(t, base, 2, out)
	assert.Contains(t, out, "export HF_ENDPOINTS_API_URL="+base[1]+"/v2")
	assert.Contains(t, out, "export HF_ENDPOINT="+base[1])
	assert.Contains(t, out, "export HF_TOKEN=hf_emulator")
	assert.Contains(t, out, `INFERENCE_ENDPOINTS_ENDPOINT = "`+base[1]+`/v2"`)
	assert.Contains(t, out, `INFERENCE_CATALOG_ENDPOINT = "`+base[1]+`/api/catalog"`)
	assert.Contains(t, out, "curl -s -H \"Authorization: Bearer hf_emulator\" "+base[1]+"/v2/endpoint/alice")

	req, _ := http.NewRequest("GET", base[1]+"/api/whoami-v2", nil)
	req.Header.Set("Authorization", "Bearer hf_emulator")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var who struct {
		Name string
		Orgs []struct{ Name string }
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&who))
	resp.Body.Close()
	assert.Equal(t, "alice", who.Name)
	require.Len(t, who.Orgs, 2)
	assert.Equal(t, "labs", who.Orgs[1].Name)

	cancel()
	require.NoError(t, <-done)
}

func TestEmulatorCommandDoesNotEchoGivenTokens(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"emulator", "--addr", "127.0.0.1:0", "--token", "hf_secret1", "--token", "hf_secret2"}, pw, io.Discard)
		pw.Close()
	}()
	var out bytes.Buffer
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	assert.NotContains(t, out.String(), "hf_secret")
	assert.Contains(t, out.String(), "HF_TOKEN=<the --token you passed>")
	cancel()
	require.NoError(t, <-done)
}

func TestEmulatorCommandFlagErrors(t *testing.T) {
	var stdout bytes.Buffer
	err := Run(context.Background(), []string{"emulator", "-h"}, &stdout, io.Discard)
	assert.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, stdout.String(), "  --deploy-time duration\n")

	err = Run(context.Background(), []string{"emulator", "--deploy-time", "soon"}, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "deploy-time")
	err = Run(context.Background(), []string{"emulator", "extra"}, io.Discard, io.Discard)
	assert.ErrorContains(t, err, `unexpected argument "extra"`)
	err = Run(context.Background(), []string{"emulator", "--addr", "256.0.0.1:99999"}, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "listen")
}
