package cli

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHTTPFlags(t *testing.T) {
	const secret = "0123456789abcdef0123"
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want httpConfig
		err  string
	}{
		{name: "defaults", want: httpConfig{sessionIdle: 30 * time.Minute}},
		{name: "flags", args: []string{"--transport", "http", "--auth-token", secret, "--allowed-hosts", "a.example, b.example:443",
			"--allowed-origins", "https://app.example", "--session-idle-timeout", "5m"},
			want: httpConfig{authToken: secret, allowedHosts: []string{"a.example", "b.example:443"},
				allowedOrigins: []string{"https://app.example"}, sessionIdle: 5 * time.Minute}},
		{name: "environment", env: map[string]string{envAuthToken: secret, envAllowedHosts: "a.example", envSessionIdle: "1h"},
			want: httpConfig{authToken: secret, allowedHosts: []string{"a.example"}, sessionIdle: time.Hour}},
		{name: "pass-through", args: []string{"--transport", "sse", "--hf-token-passthrough"},
			want: httpConfig{passThrough: true, sessionIdle: 30 * time.Minute}},
		{name: "pass-through from the environment", env: map[string]string{envPassThrough: "1"}, args: []string{"--transport", "http"},
			want: httpConfig{passThrough: true, sessionIdle: 30 * time.Minute}},
		{name: "oauth", args: []string{"--transport", "http", "--oauth"},
			want: httpConfig{oauth: true, passThrough: true, oauthScopes: []string{"openid", "profile", "inference-api"}, sessionIdle: 30 * time.Minute}},
		{name: "oauth from the environment", env: map[string]string{envOAuth: "true", envOAuthScopes: "openid inference-api"}, args: []string{"--transport", "sse"},
			want: httpConfig{oauth: true, passThrough: true, oauthScopes: []string{"openid", "inference-api"}, sessionIdle: 30 * time.Minute}},
		{name: "auth off", args: []string{"--transport", "http", "--auth-token", "off"},
			want: httpConfig{authOff: true, sessionIdle: 30 * time.Minute}},
		{name: "auth off from the environment", env: map[string]string{envAuthToken: "OFF"}, args: []string{"--transport", "sse"},
			want: httpConfig{authOff: true, sessionIdle: 30 * time.Minute}},
		{name: "oauth on stdio", args: []string{"--oauth"}, err: "--oauth needs --transport http or sse"},
		{name: "oauth and token", args: []string{"--transport", "http", "--oauth", "--auth-token", secret}, err: "cannot be combined"},
		{name: "oauth without scopes", args: []string{"--transport", "http", "--oauth", "--oauth-scopes", " "}, err: "--oauth-scopes (HF_MCP_OAUTH_SCOPES) is empty"},
		{name: "short token", args: []string{"--auth-token", "short"}, err: "too short: use at least 16 characters"},
		{name: "token and pass-through", args: []string{"--transport", "http", "--auth-token", secret, "--hf-token-passthrough"},
			err: "cannot be combined"},
		{name: "pass-through on stdio", args: []string{"--hf-token-passthrough"}, err: "needs --transport http or sse"},
		{name: "bad idle timeout", args: []string{"--session-idle-timeout", "soon"}, err: `--session-idle-timeout (HF_MCP_SESSION_IDLE_TIMEOUT) "soon"`},
		{name: "zero idle timeout", env: map[string]string{envSessionIdle: "0s"}, err: "want a positive duration"},
		{name: "bad host", args: []string{"--allowed-hosts", "http://a.example/"}, err: "invalid host"},
		{name: "bad origin", args: []string{"--allowed-origins", "app.example"}, err: "invalid origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{envAuthToken, envPassThrough, envAllowedHosts, envAllowedOrigins, envSessionIdle, envTransport, envOAuth, envOAuthScopes} {
				t.Setenv(k, tc.env[k])
			}
			got, _, err := parseServeFlags(tc.args, io.Discard)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				assert.NotContains(t, err.Error(), secret, "the token is never in an error")
				return
			}
			require.NoError(t, err)
			got.http.hostsRaw, got.http.originsRaw, got.http.idleRaw, got.http.scopesRaw = "", "", "", ""
			assert.Equal(t, tc.want, got.http)
		})
	}
}
