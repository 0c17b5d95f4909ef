package nearest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"emulater", "emulator", 1},
		{"kitten", "sitting", 3}, {"nvidia-h100", "nvidia-a100", 1}, {"same", "same", 0},
	} {
		assert.Equal(t, tc.want, Distance(tc.a, tc.b), "%q → %q", tc.a, tc.b)
		assert.Equal(t, tc.want, Distance(tc.b, tc.a), "%q → %q", tc.b, tc.a)
	}
}

func TestNameIsTheClosestWithinReach(t *testing.T) {
	flags := []string{"emulator", "addr", "audit-log", "auth-token", "max-hourly-cost"}
	assert.Equal(t, "emulator", Name("emulater", flags))
	assert.Equal(t, "max-hourly-cost", Name("max-hourly-cots", flags))
	assert.Equal(t, "addr", Name("add", flags))
	assert.Empty(t, Name("zzzzzz", flags), "nothing is close")
	assert.Empty(t, Name("x", nil))
	assert.Equal(t, "ab", Name("aa", []string{"ba", "ab"}), "ties go to the first in order")
}
