package hfapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorMessageSources(t *testing.T) {
	cases := []struct {
		name   string
		header http.Header
		body   string
		want   string
	}{
		{"error string", nil, `{"error":"Endpoint not found"}`, "Endpoint not found"},
		{"error list", nil, `{"error":["a","b"]}`, "a\nb"},
		{"error_description", nil, `{"error_description":"bad grant"}`, "bad grant"},
		{"errors[].message", nil, `{"errors":[{"message":"m1"},{"message":"m2"}]}`, "m1\nm2"},
		{"header first, no duplicate", http.Header{"X-Error-Message": {"Invalid username or password."}},
			string(fixtureBytes("hub-error-401-invalid-credentials.json")), "Invalid username or password."},
		{"header and different body", http.Header{"X-Error-Message": {"h"}}, `{"error":"b"}`, "h\nb"},
		{"raw text", nil, "Failed to deserialize the JSON body", "Failed to deserialize the JSON body"},
		{"html ignored", http.Header{"Content-Type": {"text/html"}}, "<html><body>502</body></html>", ""},
		{"doctype ignored", nil, "<!DOCTYPE html><p>x</p>", ""},
		{"tgi error", nil, string(fixtureBytes("tgi-error-422-validation.json")), "Input validation error: `inputs` tokens"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = http.Header{}
			}
			got := errorMessage(h, []byte(tc.body))
			if tc.want == "" {
				assert.Empty(t, got)
			} else {
				assert.Contains(t, got, tc.want)
			}
		})
	}
}

func TestAPIErrorFromServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req-42")
		switch r.URL.Path {
		case "/v2/endpoint/acme/missing":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"Endpoint not found"}`))
		case "/v2/endpoint/acme":
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"error":"Endpoint name already exists"}`))
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv)

	_, err := c.Get(t.Context(), "acme", "missing")
	require.Error(t, err)
	var apiErr *APIError
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "get endpoint acme/missing", apiErr.Op)
	assert.Equal(t, 404, apiErr.Status)
	assert.Equal(t, "Endpoint not found", apiErr.Message)
	assert.Equal(t, "req-42", apiErr.RequestID)
	for _, want := range []string{"get endpoint acme/missing", "404", "Endpoint not found", "req-42", "check the endpoint name and namespace"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.True(t, IsNotFound(fmt.Errorf("tool: %w", err)), "helpers see through wrapping")
	assert.False(t, IsConflict(err))

	_, err = c.Create(t.Context(), "acme", CreateSpec{Name: "dup", Repository: "r", Framework: "f", Accelerator: "cpu",
		InstanceType: "t", InstanceSize: "s", Vendor: "v", Region: "r"})
	assert.True(t, IsConflict(err))
	assert.Contains(t, err.Error(), "already exists")

	_, err = c.Pause(t.Context(), "acme", "e")
	assert.True(t, IsForbidden(err))
}

func TestStatusHelpers(t *testing.T) {
	for code, is := range map[int]func(error) bool{401: IsUnauthorized, 403: IsForbidden, 404: IsNotFound,
		409: IsConflict, 400: IsBadRequest, 429: IsRateLimited} {
		err := fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", &APIError{Status: code}))
		assert.True(t, is(err), code)
		assert.False(t, is(&APIError{Status: 500}), code)
		assert.False(t, is(errors.New("plain")), code)
		assert.False(t, is(nil), code)
	}
	assert.Contains(t, (&APIError{Status: 401}).Error(), "check the Hugging Face token")
}

func TestResumeAlreadyRunning(t *testing.T) {
	var gets int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"Endpoint is already running"}`))
			return
		}
		gets++
		serveFixture(t, w, "ie-endpoint-running.json")
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv)
	ep, err := c.Resume(t.Context(), "acme", "my-endpoint-name", true)
	require.NoError(t, err)
	assert.Equal(t, StateRunning, ep.Status.State)
	assert.Equal(t, 1, gets)

	_, err = c.Resume(t.Context(), "acme", "my-endpoint-name", false)
	assert.True(t, IsBadRequest(err))
}
