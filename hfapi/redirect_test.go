package hfapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// elsewhere is a second server on another port of the same host, recording what reaches it.
func elsewhere(t *testing.T) *dataPlane {
	return newDataPlane(t, answer("application/json", []byte(`{"generated_text":"from elsewhere"}`)))
}

func TestManagementRedirectsAreNotFollowed(t *testing.T) {
	other := elsewhere(t)
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.srv.URL+r.URL.Path+"?sig=abc", code)
			}))
			t.Cleanup(api.Close)
			c, _ := newTestClient(t, api)
			before := len(other.all())

			_, err := c.Get(t.Context(), "acme", "ep")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "redirect to "+other.srv.URL+"/v2/endpoint/acme/ep")
			assert.Contains(t, err.Error(), "not followed")
			assert.NotContains(t, err.Error(), testToken)
			assert.NotContains(t, err.Error(), "sig=abc")
			assert.Len(t, other.all(), before, "nothing, and no token, reaches the redirect's target")

			_, err = c.Pause(t.Context(), "acme", "ep")
			require.Error(t, err, "mutations are not redirected either")
			assert.Len(t, other.all(), before)
		})
	}
}

func TestEndpointRedirectsDropTheTokenOffOrigin(t *testing.T) {
	other := elsewhere(t)
	ep := newDataPlane(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Path != "/moved" { // moved on the same origin: the token goes along
			http.Redirect(w, r, "/moved", http.StatusTemporaryRedirect)
			return
		} // then to another port of the same host: it must not
		http.Redirect(w, r, other.srv.URL+"/generate", http.StatusTemporaryRedirect)
	})
	c, _ := newTestClient(t, ep.srv)

	out, err := c.TextGeneration(t.Context(), ep.endpoint(StateRunning), TextGenerationRequest{Inputs: "hi"}, CallOptions{})
	require.NoError(t, err, "endpoint redirects are followed")
	assert.Equal(t, "from elsewhere", out.GeneratedText)

	home := ep.all()
	require.Len(t, home, 2)
	for _, r := range home {
		assert.Equal(t, "Bearer "+testToken, r.header.Get("Authorization"), "same origin %s", r.path)
	}
	away := other.all()
	require.Len(t, away, 1)
	assert.Empty(t, away[0].header.Get("Authorization"), "another port of the same host gets no token")
	var body map[string]any
	require.NoError(t, json.Unmarshal(away[0].body, &body), "a 307 keeps the body")
	assert.Equal(t, "hi", body["inputs"])
}

func TestOrigin(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"https://x.example/a", "https://x.example:443/b", true},
		{"http://X.example/a", "http://x.example:80/b?q", true},
		{"https://x.example/a", "http://x.example/a", false},
		{"http://127.0.0.1:8000/a", "http://127.0.0.1:8001/a", false},
		{"https://x.example/a", "https://api.x.example/a", false},
	} {
		a, b := mustURL(t, tc.a), mustURL(t, tc.b)
		assert.Equal(t, tc.same, origin(a) == origin(b), "%s vs %s", tc.a, tc.b)
	}
	assert.False(t, strings.Contains(origin(mustURL(t, "https://u:p@x.example/")), "p@"))
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
