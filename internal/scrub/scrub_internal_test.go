package scrub

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRecentSecretsAreBounded(t *testing.T) {
	r := New("server-secret-value")
	r.maxRecent = 3
	for _, s := range []string{"caller-one", "caller-two", "caller-three"} {
		r.AddRecent(s)
	}
	r.AddRecent("caller-one") // refreshed: now the newest
	r.AddRecent("caller-four")
	assert.Equal(t, []string{"caller-three", "caller-one", "caller-four"}, r.recent, "the oldest is forgotten first")
	assert.Equal(t, "caller-two", r.String("caller-two"))
	assert.Equal(t, "[REDACTED] [REDACTED] [REDACTED]", r.String("caller-three caller-one caller-four"))
	r.AddRecent("server-secret-value")
	assert.Len(t, r.recent, 3, "a permanent secret is not also recent")
	for i := range 10 {
		r.AddRecent(fmt.Sprintf("another-caller-%d", i))
	}
	assert.Len(t, r.recent, 3)
	assert.Equal(t, "[REDACTED]", r.String("server-secret-value"), "permanent secrets are never forgotten")
}
