package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/url"
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
	err = Run(context.Background(), []string{"emulator", "--oauth-consent", "maybe"}, io.Discard, io.Discard)
	assert.ErrorContains(t, err, `--oauth-consent "maybe": use approve or deny`)
	err = Run(context.Background(), []string{"emulator", "--oauth-token-ttl", "0s"}, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "--oauth-token-ttl 0s: use a positive duration")
}

// TestEmulatorCommandRefusesSignInWhenAskedTo: with --oauth-consent deny, the
// authorization page sends the client back with error=access_denied.
func TestEmulatorCommandRefusesSignInWhenAskedTo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"emulator", "--addr", "127.0.0.1:0", "--oauth-consent", "deny"}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	require.True(t, sc.Scan())
	go io.Copy(io.Discard, pr)
	base := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(sc.Text())
	require.Len(t, base, 2, sc.Text())

	const redirect = "http://127.0.0.1:1/callback"
	resp, err := http.Post(base[1]+"/oauth/register", "application/json",
		strings.NewReader(`{"redirect_uris":["`+redirect+`"],"token_endpoint_auth_method":"none"}`))
	require.NoError(t, err)
	var client struct {
		ClientID string `json:"client_id"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&client))
	resp.Body.Close()
	q := url.Values{"response_type": {"code"}, "client_id": {client.ClientID}, "redirect_uri": {redirect}, "state": {"s1"},
		"code_challenge": {strings.Repeat("c", 43)}, "code_challenge_method": {"S256"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Get(base[1] + "/oauth/authorize?" + q.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "access_denied", loc.Query().Get("error"))
	assert.Equal(t, "s1", loc.Query().Get("state"))
	assert.Empty(t, loc.Query().Get("code"))

	cancel()
	require.NoError(t, <-done)
}
