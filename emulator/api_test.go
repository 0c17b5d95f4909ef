package emulator

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var tsRule = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestCreateFollowsPendingInitializingRunning(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	// The body huggingface_hub's create_inference_endpoint sends (captured on loopback).
	body, err := os.ReadFile("testdata/hfhub-captured-create-request.json")
	require.NoError(t, err)
	resp, data := c.do("POST", "/v2/endpoint/emulator-user", body)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", data)
	assert.NotEmpty(t, resp.Header.Get("X-Request-Id"))
	var ep map[string]any
	require.NoError(t, json.Unmarshal(data, &ep))

	assert.Equal(t, StatePending, stateOf(ep))
	assert.Nil(t, dig(ep, "status", "url"), "no url while pending")
	assert.Contains(t, dig(ep, "status").(map[string]any), "url", "url key present (null)")
	assert.Equal(t, "/health", ep["healthRoute"])
	assert.Equal(t, "authenticated", ep["type"])
	assert.Equal(t, "aws-us-east-1-intel-icl-x2", dig(ep, "compute", "id"))
	assert.Equal(t, map[string]any{"domain": "d.example", "path": "/m"}, ep["route"], "unknown fields echoed")
	assert.Equal(t, []any{"t"}, ep["tags"])
	assert.Equal(t, false, ep["cacheHttpResponses"])
	assert.Equal(t, map[string]any{"A": "1"}, dig(ep, "model", "env"))
	assert.Equal(t, map[string]any{"S": "x"}, dig(ep, "model", "secrets"))
	assert.Nil(t, dig(ep, "model", "revision"))
	assert.Contains(t, dig(ep, "model").(map[string]any), "revision")
	assert.Equal(t, "emulator-user", dig(ep, "status", "createdBy", "name"))
	assert.Len(t, dig(ep, "status", "createdBy", "id"), 24)
	assert.EqualValues(t, 0, dig(ep, "status", "readyReplica"))
	assert.EqualValues(t, 1, dig(ep, "status", "targetReplica"))
	for _, k := range []string{"createdAt", "updatedAt"} {
		assert.Regexp(t, tsRule, dig(ep, "status", k))
	}

	init := c.waitState("emulator-user", "my-ep", StateInitializing)
	assert.Nil(t, dig(init, "status", "url"))
	run := c.waitState("emulator-user", "my-ep", StateRunning)
	assert.Equal(t, "Endpoint is ready", dig(run, "status", "message"))
	assert.Regexp(t, `^`+regexp.QuoteMeta(s.URL)+`/e/[a-z0-9]{16}$`, urlOf(run))
	assert.EqualValues(t, 1, dig(run, "status", "readyReplica"))
	assert.EqualValues(t, 1, s.Requests("POST", "/v2/endpoint/{namespace}"))
	assert.GreaterOrEqual(t, s.Requests("GET", "/v2/endpoint/{namespace}/{name}"), int64(2))
}

func TestListGetDeleteAndNotFound(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	for _, n := range []string{"b-ep", "a-ep"} {
		code, m := c.obj("POST", "/v2/endpoint/emulator-user", createBody(n))
		require.Equal(t, http.StatusAccepted, code, "%v", m)
	}
	code, list := c.obj("GET", "/v2/endpoint/emulator-user", nil)
	require.Equal(t, http.StatusOK, code)
	items := list["items"].([]any)
	require.Len(t, items, 2)
	assert.Equal(t, "b-ep", items[0].(map[string]any)["name"], "creation order")

	resp, _ := c.do("DELETE", "/v2/endpoint/emulator-user/b-ep", nil)
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	code, m := c.obj("GET", "/v2/endpoint/emulator-user/b-ep", nil)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, m["error"], "not found")
	for _, rt := range []struct{ method, path string }{
		{"DELETE", "/v2/endpoint/emulator-user/b-ep"}, {"PUT", "/v2/endpoint/emulator-user/b-ep"},
		{"POST", "/v2/endpoint/emulator-user/b-ep/pause"}, {"POST", "/v2/endpoint/emulator-user/nope/resume"},
		{"POST", "/v2/endpoint/emulator-user/nope/scale-to-zero"}, {"GET", "/v2/endpoint/emulator-user/nope/open-metrics"},
	} {
		code, m := c.obj(rt.method, rt.path, map[string]any{})
		assert.Equal(t, http.StatusNotFound, code, rt.path)
		assert.NotEmpty(t, m["error"])
	}
	code, list = c.obj("GET", "/v2/endpoint/emulator-user", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Len(t, list["items"], 1)

	code, m = c.obj("GET", "/v2/nothing-here", nil)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, m["error"], "no route")
}

func TestCreateValidation(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	cases := []struct {
		name  string
		body  any
		code  int
		wants []string
	}{
		{"not json", "{nope", 400, []string{"not valid JSON"}},
		{"empty", "", 400, []string{"empty"}},
		{"array", "[]", 400, []string{"must be a JSON object"}},
		{"missing everything", map[string]any{}, 400, []string{"name is required", "model.repository is required", "model.framework is required",
			"provider.vendor is required", "provider.region is required", "compute.accelerator is required",
			"compute.instanceType is required", "compute.instanceSize is required"}},
		{"upper case name", createBody("MyEp"), 400, []string{"name \"MyEp\" is invalid"}},
		{"underscore", createBody("my_ep"), 400, []string{"invalid"}},
		{"leading dash", createBody("-ep"), 400, []string{"invalid"}},
		{"trailing dash", createBody("ep-"), 400, []string{"invalid"}},
		{"33 chars", createBody(strings.Repeat("a", 33)), 400, []string{"1 to 32"}},
		{"bad type", createBody("ep", map[string]any{"type": "secret"}), 400, []string{"valid types: public, protected, authenticated, private"}},
		{"unknown vendor", createBody("ep", map[string]any{"provider": map[string]any{"vendor": "ibm"}}), 400, []string{"valid vendors: aws, gcp, azure"}},
		{"unknown region", createBody("ep", map[string]any{"provider": map[string]any{"region": "mars-1"}}), 400, []string{"valid regions: us-east-1"}},
		{"unknown type", createBody("ep", map[string]any{"compute": map[string]any{"instanceType": "nvidia-z9"}}), 400, []string{"valid instance types: intel-icl, intel-spr"}},
		{"unknown size", createBody("ep", map[string]any{"compute": map[string]any{"instanceSize": "x3"}}), 400, []string{"valid sizes: x1, x2, x4, x8"}},
		{"accelerator mismatch", createBody("ep", map[string]any{"compute": map[string]any{"accelerator": "gpu"}}), 400, []string{"does not match instance type intel-icl"}},
		{"min > max", createBody("ep", map[string]any{"compute": map[string]any{"scaling": map[string]any{"minReplica": 3, "maxReplica": 2}}}), 400, []string{"must not exceed maxReplica"}},
		{"negative min", createBody("ep", map[string]any{"compute": map[string]any{"scaling": map[string]any{"minReplica": -1}}}), 400, []string{"minReplica must be >= 0"}},
		{"max 0", createBody("ep", map[string]any{"compute": map[string]any{"scaling": map[string]any{"minReplica": 0, "maxReplica": 0}}}), 400, []string{"maxReplica must be between 1 and 100"}},
		{"max too big", createBody("ep", map[string]any{"compute": map[string]any{"scaling": map[string]any{"maxReplica": 1000}}}), 400, []string{"maxReplica must be between"}},
		{"string replica", createBody("ep", map[string]any{"compute": map[string]any{"scaling": map[string]any{"maxReplica": "2"}}}), 400, []string{"compute.scaling.maxReplica must be an integer"}},
		{"fractional replica", createBody("ep", map[string]any{"compute": map[string]any{"scaling": map[string]any{"maxReplica": 1.5}}}), 400, []string{"maxReplica must be an integer"}},
		{"zero timeout", createBody("ep", map[string]any{"compute": map[string]any{"scaling": map[string]any{"scaleToZeroTimeout": 0}}}), 400, []string{"scaleToZeroTimeout must be a positive"}},
		{"bad measure", createBody("ep", map[string]any{"compute": map[string]any{"scaling": map[string]any{"measure": map[string]any{"gpuHeat": 3}}}}), 400, []string{"valid measures"}},
		{"two images", createBody("ep", map[string]any{"model": map[string]any{"image": map[string]any{"custom": map[string]any{"url": "x"}, "tgi": map[string]any{}}}}), 400, []string{"exactly one key"}},
		{"custom without url", createBody("ep", map[string]any{"model": map[string]any{"image": nil}}, map[string]any{"model": map[string]any{"image": map[string]any{"custom": map[string]any{"port": 80}}}}), 400, []string{"model.image.custom.url is required"}},
		{"unknown image", createBody("ep", map[string]any{"model": map[string]any{"image": nil}}, map[string]any{"model": map[string]any{"image": map[string]any{"docker": map[string]any{}}}}), 400, []string{"model.image.docker is unknown"}},
		{"env not strings", createBody("ep", map[string]any{"model": map[string]any{"env": map[string]any{"A": 1}}}), 400, []string{"model.env"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := c.do("POST", "/v2/endpoint/emulator-user", tc.body)
			require.Equal(t, tc.code, resp.StatusCode, "%s", data)
			var m map[string]string
			require.NoError(t, json.Unmarshal(data, &m), "%s", data)
			for _, want := range tc.wants {
				assert.Contains(t, m["error"], want)
			}
			assert.Equal(t, m["error"], resp.Header.Get("X-Error-Message"))
		})
	}
	code, list := c.obj("GET", "/v2/endpoint/emulator-user", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Empty(t, list["items"], "no invalid request created anything")
}

func TestCreateAcceptsEveryTypeAndDefaultsToAuthenticated(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	for _, typ := range endpointTypes {
		code, m := c.obj("POST", "/v2/endpoint/emulator-user", createBody("ep-"+typ, map[string]any{"type": typ}))
		require.Equal(t, http.StatusAccepted, code, "%v", m)
		assert.Equal(t, typ, m["type"])
	}
	b := createBody("ep-default")
	delete(b, "type")
	code, m := c.obj("POST", "/v2/endpoint/emulator-user", b)
	require.Equal(t, http.StatusAccepted, code, "%v", m)
	assert.Equal(t, "authenticated", m["type"])
}

func TestCreateConflict(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user", createBody("dup"))
	require.Equal(t, http.StatusAccepted, code)
	code, m := c.obj("POST", "/v2/endpoint/emulator-user", createBody("dup"))
	assert.Equal(t, http.StatusConflict, code)
	assert.Contains(t, m["error"], "already exists")
}

func TestUpdateMergesAndGoesThroughUpdating(t *testing.T) {
	s := start(t, Options{Timings: Timings{Deploy: 30 * 1e6, Update: 150 * 1e6, ScaleUp: 30 * 1e6, IdleMinute: 5 * 1e6}})
	c := newClient(t, s, s.Token())
	before := c.running("emulator-user", "upd", map[string]any{
		"model":        map[string]any{"env": map[string]any{"A": "1"}},
		"customRouter": map[string]any{"tag": "router:1", "env": map[string]any{"X": "1"}},
	})
	url := urlOf(before)
	// huggingface_hub's captured update: scaling, custom image, env.
	code, upd := c.obj("PUT", "/v2/endpoint/emulator-user/upd", map[string]any{
		"compute": map[string]any{"scaling": map[string]any{"maxReplica": 2, "minReplica": 1}},
		"model": map[string]any{"image": map[string]any{"custom": map[string]any{"url": "img:1", "port": 8080}},
			"env": map[string]any{"B": "2"}},
		"tags": []any{"x"},
	})
	require.Equal(t, http.StatusOK, code, "%v", upd)
	assert.Equal(t, StateUpdating, stateOf(upd))
	assert.Equal(t, url, urlOf(upd), "url kept while updating")
	assert.Equal(t, map[string]any{"custom": map[string]any{"url": "img:1", "port": float64(8080)}}, dig(upd, "model", "image"), "image replaced, not merged")
	assert.Equal(t, map[string]any{"B": "2"}, dig(upd, "model", "env"), "env replaced")
	assert.Equal(t, "gpt2", dig(upd, "model", "repository"), "untouched fields kept")
	assert.Equal(t, "intel-icl", dig(upd, "compute", "instanceType"))
	assert.EqualValues(t, 2, dig(upd, "compute", "scaling", "maxReplica"))
	assert.Equal(t, "router:1", dig(upd, "customRouter", "tag"), "unknown objects kept")
	assert.Equal(t, []any{"x"}, upd["tags"])

	run := c.waitState("emulator-user", "upd", StateRunning)
	assert.Equal(t, url, urlOf(run))

	code, m := c.obj("PUT", "/v2/endpoint/emulator-user/upd", map[string]any{"compute": map[string]any{"instanceSize": "x3"}})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, m["error"], "valid sizes")
	code, m = c.obj("PUT", "/v2/endpoint/emulator-user/upd", map[string]any{"name": "other"})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, m["error"], "cannot be changed")
	code, m = c.obj("PUT", "/v2/endpoint/emulator-user/upd", "[1]")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, m["error"], "JSON object")
	assert.Equal(t, "x2", dig(c.get("emulator-user", "upd"), "compute", "instanceSize"), "rejected updates change nothing")

	// Moving hardware recomputes compute.id.
	code, m = c.obj("PUT", "/v2/endpoint/emulator-user/upd", map[string]any{"compute": map[string]any{"accelerator": "gpu", "instanceType": "nvidia-h100", "instanceSize": "x8"}})
	require.Equal(t, http.StatusOK, code, "%v", m)
	assert.Equal(t, "aws-us-east-1-nvidia-h100-x8", dig(m, "compute", "id"))
}

func TestPauseResumeScaleToZero(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	run := c.running("emulator-user", "life")
	url := urlOf(run)
	const p = "/v2/endpoint/emulator-user/life"

	code, m := c.obj("POST", p+"/resume", nil)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, m["error"], "already running")

	code, m = c.obj("POST", p+"/scale-to-zero", nil)
	require.Equal(t, http.StatusOK, code, "%v", m)
	assert.Equal(t, StateScaledToZero, stateOf(m))
	assert.Equal(t, url, urlOf(m), "url kept when scaled to zero")
	assert.EqualValues(t, 0, dig(m, "status", "readyReplica"))
	assert.EqualValues(t, 0, dig(m, "status", "targetReplica"))

	code, m = c.obj("POST", p+"/pause", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, StatePaused, stateOf(m))
	assert.Nil(t, dig(m, "status", "url"))
	assert.EqualValues(t, 0, dig(m, "status", "readyReplica"))

	code, m = c.obj("POST", p+"/scale-to-zero", nil)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, m["error"], "resume it")

	// An update of a paused endpoint keeps it paused.
	code, m = c.obj("PUT", p, map[string]any{"tags": []any{"paused-update"}})
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, StatePaused, stateOf(m))

	code, m = c.obj("POST", p+"/resume", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, StatePending, stateOf(m))
	run = c.waitState("emulator-user", "life", StateRunning)
	assert.Equal(t, url, urlOf(run), "an endpoint keeps its URL across pause/resume")

	code, m = c.obj("POST", "/v2/endpoint/emulator-user", createBody("fresh"))
	require.Equal(t, http.StatusAccepted, code)
	code, m = c.obj("POST", "/v2/endpoint/emulator-user/fresh/scale-to-zero", nil)
	assert.Equal(t, http.StatusBadRequest, code, "cannot scale to zero before running")
	assert.Contains(t, m["error"], "wait until it is running")
}

func TestInjectedDeployAndUpdateFailures(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	s.FailNextDeploy("emulator-user", "doomed", "Container crashed: out of memory")
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user", createBody("doomed"))
	require.Equal(t, http.StatusAccepted, code)
	f := c.waitState("emulator-user", "doomed", StateFailed)
	assert.Equal(t, "Container crashed: out of memory", dig(f, "status", "message"))
	assert.Equal(t, "Container crashed: out of memory", dig(f, "status", "errorMessage"))
	assert.Nil(t, dig(f, "status", "url"))

	// The failure is consumed: a resume deploys fine.
	code, _ = c.obj("POST", "/v2/endpoint/emulator-user/doomed/resume", nil)
	require.Equal(t, http.StatusOK, code)
	ok := c.waitState("emulator-user", "doomed", StateRunning)
	assert.Nil(t, dig(ok, "status", "errorMessage"))
	url := urlOf(ok)

	s.FailNextUpdate("emulator-user", "doomed", "")
	code, _ = c.obj("PUT", "/v2/endpoint/emulator-user/doomed", map[string]any{"model": map[string]any{"env": map[string]any{"Z": "1"}}})
	require.Equal(t, http.StatusOK, code)
	uf := c.waitState("emulator-user", "doomed", StateUpdateFailed)
	assert.Equal(t, "Endpoint failed to update", dig(uf, "status", "message"))
	assert.Equal(t, url, urlOf(uf), "the previous version keeps serving")

	code, m := c.obj("POST", "/v2/endpoint/emulator-user/doomed/resume", nil)
	require.Equal(t, http.StatusOK, code, "%v", m)
	c.waitState("emulator-user", "doomed", StateRunning)
}

func TestHeldDeploymentWaitsForRelease(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	release := s.HoldNextDeploy("emulator-user", "held")
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user", createBody("held"))
	require.Equal(t, http.StatusAccepted, code)
	c.waitState("emulator-user", "held", StateInitializing)
	// Ten deployment times later the endpoint still initializes: only release ends it.
	time.Sleep(10 * fastTimings.Deploy)
	assert.Equal(t, StateInitializing, stateOf(c.get("emulator-user", "held")))
	release()
	release()
	c.waitState("emulator-user", "held", StateRunning)

	// A hold is for one deployment and combines with an injected failure.
	release = s.HoldNextDeploy("emulator-user", "doomed")
	s.FailNextDeploy("emulator-user", "doomed", "")
	code, _ = c.obj("POST", "/v2/endpoint/emulator-user", createBody("doomed"))
	require.Equal(t, http.StatusAccepted, code)
	c.waitState("emulator-user", "doomed", StateInitializing)
	release()
	c.waitState("emulator-user", "doomed", StateFailed)
	code, _ = c.obj("POST", "/v2/endpoint/emulator-user/doomed/resume", nil)
	require.Equal(t, http.StatusOK, code)
	c.waitState("emulator-user", "doomed", StateRunning)

	// A held deployment that is paused meanwhile stays paused when released.
	release = s.HoldNextDeploy("emulator-user", "paused")
	code, _ = c.obj("POST", "/v2/endpoint/emulator-user", createBody("paused"))
	require.Equal(t, http.StatusAccepted, code)
	c.waitState("emulator-user", "paused", StateInitializing)
	code, _ = c.obj("POST", "/v2/endpoint/emulator-user/paused/pause", nil)
	require.Equal(t, http.StatusOK, code)
	release()
	time.Sleep(5 * fastTimings.Deploy)
	assert.Equal(t, StatePaused, stateOf(c.get("emulator-user", "paused")))
}

func TestAuthAndNamespaceIsolation(t *testing.T) {
	s := start(t, Options{Orgs: []string{"acme"}, Users: []User{{Name: "bob", Tokens: []string{"hf_bob"}}}})
	alice := newClient(t, s, s.Token())
	bob := newClient(t, s, "hf_bob")
	anon := newClient(t, s, "")
	wrong := newClient(t, s, "hf_wrong")

	for _, cl := range []*client{anon, wrong} {
		for _, path := range []string{"/v2/endpoint/emulator-user", "/api/whoami-v2", "/v2/provider/emulator-user", "/api/catalog/repo-list"} {
			resp, data := cl.do("GET", path, nil)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
			assert.NotEmpty(t, resp.Header.Get("X-Error-Message"))
			assert.Contains(t, string(data), `"error"`)
			assert.NotContains(t, string(data), "hf_wrong", "a token never appears in an answer")
			assert.NotContains(t, resp.Header.Get("X-Error-Message"), "hf_wrong")
		}
	}

	alice.running("acme", "shared")
	code, _ := alice.obj("POST", "/v2/endpoint/emulator-user", createBody("mine"))
	require.Equal(t, http.StatusAccepted, code)

	// bob cannot see, read or touch alice's namespaces: 401 like the real service's listing.
	for _, rt := range []struct{ method, path string }{
		{"GET", "/v2/endpoint/emulator-user"}, {"GET", "/v2/endpoint/acme"}, {"GET", "/v2/endpoint/acme/shared"},
		{"DELETE", "/v2/endpoint/acme/shared"}, {"POST", "/v2/endpoint/acme/shared/pause"},
		{"POST", "/v2/endpoint/acme"}, {"GET", "/v2/provider/acme"},
	} {
		code, m := bob.obj(rt.method, rt.path, createBody("x"))
		assert.Equal(t, http.StatusUnauthorized, code, "%s %s", rt.method, rt.path)
		assert.Contains(t, m["error"], "no access")
	}
	code, list := bob.obj("GET", "/v2/endpoint/bob", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Empty(t, list["items"])

	// Inference: protected endpoint needs a token with access.
	url := urlOf(alice.get("acme", "shared"))
	resp, _ := anon.do("POST", url, map[string]any{"inputs": "hi"})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = bob.do("POST", url, map[string]any{"inputs": "hi"})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = alice.do("POST", url, map[string]any{"inputs": "hi"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// A public endpoint answers anyone.
	pub := alice.running("emulator-user", "open", map[string]any{"type": "public"})
	resp, _ = anon.do("POST", urlOf(pub), map[string]any{"inputs": "hi"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	_, who := bob.obj("GET", "/api/whoami-v2", nil)
	assert.Equal(t, "bob", who["name"])
	assert.Empty(t, who["orgs"])
}

func TestUsersMustBeConsistent(t *testing.T) {
	_, err := New(Options{Users: []User{{Name: "x", Tokens: []string{DefaultToken}}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already used")
	assert.NotContains(t, err.Error(), DefaultToken)
	_, err = New(Options{Users: []User{{Tokens: []string{"t"}}}})
	require.ErrorContains(t, err, "no Name")
	_, err = New(Options{Users: []User{{Name: DefaultUser}}})
	require.ErrorContains(t, err, "defined twice")
}

func TestWhoami(t *testing.T) {
	s := start(t, Options{User: "alice", Orgs: []string{"acme", "labs"}, Tokens: []string{"t1", "t2"}})
	for _, tok := range []string{"t1", "t2"} {
		code, who := newClient(t, s, tok).obj("GET", "/api/whoami-v2", nil)
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, "user", who["type"])
		assert.Equal(t, "alice", who["name"])
		orgs := who["orgs"].([]any)
		require.Len(t, orgs, 2)
		assert.Equal(t, "acme", orgs[0].(map[string]any)["name"])
		assert.Equal(t, "access_token", dig(who, "auth", "type"))
		assert.Equal(t, "write", dig(who, "auth", "accessToken", "role"))
		assert.NotContains(t, who, "token")
	}
	assert.Equal(t, "t1", s.Token())
}

func TestProviderCatalog(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	c.running("emulator-user", "gpu", map[string]any{"compute": map[string]any{"accelerator": "gpu", "instanceType": "nvidia-h100", "instanceSize": "x8"}})
	code, cat := c.obj("GET", "/v2/provider/emulator-user", nil)
	require.Equal(t, http.StatusOK, code)
	type hw = map[string]any
	find := func(vendor, region, id string) hw {
		for _, v := range cat["vendors"].([]any) {
			if v.(hw)["name"] != vendor {
				continue
			}
			for _, r := range v.(hw)["regions"].([]any) {
				if r.(hw)["name"] != region {
					continue
				}
				for _, c := range r.(hw)["computes"].([]any) {
					if c.(hw)["id"] == id {
						return c.(hw)
					}
				}
			}
		}
		return nil
	}
	l4 := find("aws", "us-east-1", "aws-us-east-1-nvidia-l4-x1")
	require.NotNil(t, l4)
	assert.Equal(t, hw{"id": "aws-us-east-1-nvidia-l4-x1", "accelerator": "gpu", "numAccelerators": 1.0, "numCpus": 7.0,
		"memoryGb": 30.0, "gpuMemoryGb": 24.0, "instanceType": "nvidia-l4", "instanceSize": "x1", "architecture": "Nvidia L4",
		"status": "available", "pricePerHour": 0.8, "quota": hw{"maxAccelerators": 16.0, "usedAccelerators": 0.0}}, l4)
	spr := find("aws", "us-east-1", "aws-us-east-1-intel-spr-x1")
	assert.Equal(t, 0.033, spr["pricePerHour"])
	assert.Nil(t, spr["gpuMemoryGb"])
	icl := find("aws", "us-east-1", "aws-us-east-1-intel-icl-x2")
	assert.Equal(t, "deprecated", icl["status"], "listed as deprecated, still creatable")
	assert.Equal(t, 10.0, find("aws", "us-east-1", "aws-us-east-1-nvidia-h100-x1")["pricePerHour"])
	h100x8 := find("aws", "us-east-1", "aws-us-east-1-nvidia-h100-x8")
	assert.Equal(t, 80.0, h100x8["pricePerHour"])
	assert.Equal(t, 8.0, dig(h100x8, "quota", "usedAccelerators"), "quota reflects running endpoints")
	a100 := find("gcp", "us-east4", "gcp-us-east4-nvidia-a100-x8")
	assert.Equal(t, "reserved", a100["status"])
	assert.Equal(t, 28.8, a100["pricePerHour"])
	for _, id := range []string{"aws-us-east-1-nvidia-t4-x1", "aws-us-east-1-nvidia-a10g-x4", "aws-us-east-1-nvidia-l40s-x8",
		"aws-us-east-1-nvidia-a100-x8", "aws-us-east-1-nvidia-h200-x8", "aws-us-east-1-intel-spr-x16"} {
		assert.NotNil(t, find("aws", "us-east-1", id), id)
	}
	assert.NotNil(t, find("azure", "eastus", "azure-eastus-nvidia-h100-x1"))
}

func TestCatalogRepoListAndDeploy(t *testing.T) {
	s := start(t, Options{Orgs: []string{"acme"}})
	c := newClient(t, s, s.Token())
	code, list := c.obj("GET", "/api/catalog/repo-list", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, list["models"], "meta-llama/Llama-3.2-3B-Instruct")

	code, m := c.obj("POST", "/api/catalog/deploy", map[string]any{"namespace": "acme", "repoId": "meta-llama/Llama-3.2-3B-Instruct"})
	require.Equal(t, http.StatusOK, code, "%v", m)
	ep := m["endpoint"].(map[string]any)
	assert.Regexp(t, `^llama-3-2-3b-instruct-[a-z0-9]{3}$`, ep["name"])
	assert.Equal(t, "aws-us-east-1-nvidia-l4-x1", dig(ep, "compute", "id"))
	assert.Equal(t, "hardwareUsage", dig(ep, "compute", "scaling", "metric"))
	assert.Contains(t, dig(ep, "model", "image"), "tgi")
	assert.Equal(t, StatePending, stateOf(ep))
	c.waitState("acme", ep["name"].(string), StateRunning)

	code, m = c.obj("POST", "/api/catalog/deploy", map[string]any{"namespace": "emulator-user", "repoId": "sentence-transformers/all-MiniLM-L6-v2", "endpointName": "mini", "accelerator": "cpu"})
	require.Equal(t, http.StatusOK, code, "%v", m)
	assert.Equal(t, "intel-spr", dig(m, "endpoint", "compute", "instanceType"))

	code, m = c.obj("POST", "/api/catalog/deploy", map[string]any{"namespace": "emulator-user", "repoId": "sentence-transformers/all-MiniLM-L6-v2", "endpointName": "mini"})
	assert.Equal(t, http.StatusConflict, code)
	code, m = c.obj("POST", "/api/catalog/deploy", map[string]any{"repoId": "nobody/nothing"})
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, m["error"], "not in the catalog")
	code, m = c.obj("POST", "/api/catalog/deploy", map[string]any{"repoId": "black-forest-labs/FLUX.1-schnell", "accelerator": "neuron"})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, m["error"], "valid accelerators: gpu")
	code, m = c.obj("POST", "/api/catalog/deploy", map[string]any{"namespace": "other", "repoId": "black-forest-labs/FLUX.1-schnell"})
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = c.obj("POST", "/api/catalog/deploy", map[string]any{})
	assert.Equal(t, http.StatusBadRequest, code)
}

func TestLastUsedAtFollowsInferenceAndPublicCatalog(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	ep := c.running("emulator-user", "used")
	assert.Contains(t, ep["status"], "lastUsedAt")
	assert.Nil(t, dig(ep, "status", "lastUsedAt"), "never used yet")
	assert.Equal(t, []any{}, ep["tags"], "tags always present")
	resp, _ := c.do("GET", urlOf(ep)+"/health", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Regexp(t, tsRule, dig(c.get("emulator-user", "used"), "status", "lastUsedAt"))

	code, cat := newClient(t, s, "").obj("GET", "/v2/provider", nil)
	require.Equal(t, http.StatusOK, code, "the public catalog needs no token")
	assert.Len(t, cat["vendors"], 3)
}

func TestListFiltersByTags(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	for n, tags := range map[string][]string{"prod-a": {"prod", "team-a"}, "prod-b": {"prod"}, "dev": {"dev"}, "none": nil} {
		code, m := c.obj("POST", "/v2/endpoint/emulator-user", createBody(n, map[string]any{"tags": tags}))
		require.Equal(t, http.StatusAccepted, code, "%v", m)
	}
	names := func(query string) []string {
		code, list := c.obj("GET", "/v2/endpoint/emulator-user"+query, nil)
		require.Equal(t, http.StatusOK, code)
		var out []string
		for _, it := range list["items"].([]any) {
			out = append(out, it.(map[string]any)["name"].(string))
		}
		sortStrings(out)
		return out
	}
	assert.Equal(t, []string{"prod-a", "prod-b"}, names("?tags=prod"))
	assert.Equal(t, []string{"prod-a"}, names("?tags=prod,team-a"), "every tag given")
	assert.Empty(t, names("?tags=nobody"))
	assert.Len(t, names(""), 4)
}

// The create fields of huggingface_hub 1.28 are accepted and echoed; parallelism is checked against
// the engine and the instance's accelerators.
func TestCreateAcceptsHubParityFields(t *testing.T) {
	s := start(t, Options{Orgs: []string{"acme"}})
	c := newClient(t, s, s.Token())
	gpu := func(name, size string, image map[string]any) map[string]any {
		return createBody(name, map[string]any{"accountId": "acme", "cacheHttpResponses": true,
			"compute": map[string]any{"accelerator": "gpu", "instanceType": "nvidia-l4", "instanceSize": size,
				"scaling": map[string]any{"measure": map[string]any{"pendingRequests": 4.5}}},
			"model": map[string]any{"command": []any{"python", "serve.py"}, "args": []any{"--port", "80"}, "image": image}})
	}
	code, m := c.obj("POST", "/v2/endpoint/emulator-user", gpu("vllm", "x4",
		map[string]any{"vLLM": map[string]any{"url": "vllm/vllm-openai:latest", "tensorParallelSize": 2, "dataParallelSize": 2}}))
	require.Equal(t, http.StatusAccepted, code, "%v", m)
	assert.Equal(t, "acme", m["accountId"])
	assert.Equal(t, true, m["cacheHttpResponses"])
	assert.Equal(t, "pendingRequests", dig(m, "compute", "scaling", "metric"))
	assert.Equal(t, 4.5, dig(m, "compute", "scaling", "measure", "pendingRequests"))
	assert.Equal(t, []any{"python", "serve.py"}, dig(m, "model", "command"))
	assert.Equal(t, []any{"--port", "80"}, dig(m, "model", "args"))
	assert.EqualValues(t, 2, dig(m, "model", "image", "vLLM", "tensorParallelSize"))
	assert.Equal(t, "protected", m["type"], "the deprecated type is kept as sent")

	for _, tc := range []struct {
		size  string
		image map[string]any
		want  string
	}{
		{"x1", map[string]any{"vLLM": map[string]any{"url": "v", "tensorParallelSize": 2}}, "tensorParallelSize (2) × dataParallelSize (1) needs 2 accelerators; nvidia-l4 x1 has 1"},
		{"x4", map[string]any{"tgi": map[string]any{"url": "t", "tensorParallelSize": 2}}, "model.image.tgi takes no tensorParallelSize"},
		{"x4", map[string]any{"sGLang": map[string]any{"url": "s", "dataParallelSize": 2}}, "not an sGLang setting"},
		{"x4", map[string]any{"vLLM": map[string]any{"url": "v", "tensorParallelSize": 0}}, "must be at least 1"},
	} {
		code, m := c.obj("POST", "/v2/endpoint/emulator-user", gpu("bad", tc.size, tc.image))
		assert.Equal(t, http.StatusBadRequest, code, tc.want)
		assert.Contains(t, m["error"], tc.want)
	}
}
