package hfapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// totalRequests counts every request the emulator received, on any route.
func (g *guardEnv) totalRequests() int64 {
	var n int64
	for _, r := range g.emu.Routes() {
		method, route, _ := strings.Cut(r, " ")
		n += g.emu.Requests(method, route)
	}
	return n
}

// callsByName runs every Client method that takes an endpoint name with ns and name.
func callsByName(c *hfapi.Client) map[string]func(ctx context.Context, ns, name string) error {
	return map[string]func(ctx context.Context, ns, name string) error{
		"Get":         func(ctx context.Context, ns, name string) error { _, err := c.Get(ctx, ns, name); return err },
		"Pause":       func(ctx context.Context, ns, name string) error { _, err := c.Pause(ctx, ns, name); return err },
		"ScaleToZero": func(ctx context.Context, ns, name string) error { _, err := c.ScaleToZero(ctx, ns, name); return err },
		"Resume":      func(ctx context.Context, ns, name string) error { _, err := c.Resume(ctx, ns, name, true); return err },
		"Metrics":     func(ctx context.Context, ns, name string) error { _, err := c.Metrics(ctx, ns, name); return err },
		"Wait": func(ctx context.Context, ns, name string) error {
			_, err := c.Wait(ctx, ns, name, hfapi.WaitOptions{})
			return err
		},
		"Update": func(ctx context.Context, ns, name string) error {
			_, err := c.Update(ctx, ns, name, hfapi.UpdateSpec{MaxReplica: ptr(2)})
			return err
		},
		"PrepareDelete": func(ctx context.Context, ns, name string) error { _, err := c.PrepareDelete(ctx, ns, name); return err },
		"Delete": func(ctx context.Context, ns, name string) error {
			_, err := c.Delete(ctx, ns, name, "some-token")
			return err
		},
	}
}

func TestBadNamesAreRefusedBeforeAnyRequest(t *testing.T) {
	g := newGuardEnv(t)
	ctx := t.Context()
	for _, cfgNS := range []string{"", "emulator-user"} {
		// With no configured namespace, an unchecked call would first ask whoami.
		c := g.client(t, func(cfg *hfapi.Config) { cfg.Namespace = cfgNS })
		for call, run := range callsByName(c) {
			for _, tc := range []struct{ ns, name, field, want string }{
				{"", "Bad Name!", "name", "lowercase letters a-z"},
				{"", "", "name", "is empty"},
				{"", "-edge", "name", "starts or ends with '-'"},
				{"", "this-name-is-far-too-long-for-an-endpoint", "name", "characters long"},
				{"bad ns!", "fine", "namespace", "user or organisation name"},
				{"*", "fine", "namespace", "only accepted when listing endpoints"},
				{"a--b", "fine", "namespace", `"--"`},
				{".dot", "fine", "namespace", "starts or ends with"},
			} {
				t.Run(cfgNS+"/"+call+"/"+tc.ns+"/"+tc.name, func(t *testing.T) {
					before := g.totalRequests()
					err := run(ctx, tc.ns, tc.name)
					var invalid *hfapi.ValidationError
					require.ErrorAs(t, err, &invalid)
					assert.Equal(t, tc.field, invalid.Field)
					assert.Contains(t, err.Error(), "invalid "+tc.field)
					assert.Contains(t, err.Error(), tc.want)
					assert.Contains(t, err.Error(), "e.g.", "the message shows a valid example")
					assert.Equal(t, before, g.totalRequests(), "no request was sent")
				})
			}
		}
	}
}

func TestValidNamespacesPass(t *testing.T) {
	for _, ns := range []string{"alice", "Org_Name", "my-org", "a.b", "x", "_x_", "A1"} {
		assert.NoError(t, hfapi.ValidateNamespace(ns), ns)
	}
	g := newGuardEnv(t)
	_, err := g.client(t).List(t.Context(), "*")
	require.NoError(t, err, "listing every namespace still works")
	_, err = g.client(t).List(t.Context(), "no spaces")
	var invalid *hfapi.ValidationError
	require.ErrorAs(t, err, &invalid)
}
