package emulator

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStartServesWhoami(t *testing.T) {
	s, err := Start("127.0.0.1:0", Options{})
	require.NoError(t, err)
	defer s.Close()
	req, _ := http.NewRequest("GET", s.HubBase()+"/api/whoami-v2", nil)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.EqualValues(t, 1, s.Requests("GET", "/api/whoami-v2"))
}
