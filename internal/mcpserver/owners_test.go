package mcpserver

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestALegacySSESessionBelongsToTheBearerThatOpenedIt: with pass-through, a
// caller who learns another's SSE session id cannot post into it, even
// before its owner posted anything.
func TestALegacySSESessionBelongsToTheBearerThatOpenedIt(t *testing.T) {
	emu := twoUsers(t)
	s := newServer(t, passThroughOptions(t, emu))
	base := serve(t, s)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+PathSSE, nil)
	require.NoError(t, err)
	resp, err := bearerClient(aliceToken).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	var endpoint string
	for endpoint == "" && sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			endpoint = strings.TrimSpace(d)
		}
	}
	require.Contains(t, endpoint, "sessionId=")

	code, _ := rawRequest(t, http.MethodPost, base+endpoint, bobToken, "", initializeBody)
	assert.Equal(t, http.StatusNotFound, code, "another bearer cannot post first into the session")
	code, _ = rawRequest(t, http.MethodPost, base+endpoint, bobToken, "", `{"jsonrpc":"2.0","id":2,"method":"ping"}`)
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = rawRequest(t, http.MethodPost, base+endpoint, aliceToken, "", initializeBody)
	assert.Equal(t, http.StatusAccepted, code, "the bearer that opened it can")
}
