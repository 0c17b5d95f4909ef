package hfapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func roundTrip[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(raw, &v))
	out, err := json.Marshal(v)
	require.NoError(t, err)
	assert.JSONEq(t, string(raw), string(out), "re-encoding must not lose or change members")
	return v
}

func TestEndpointFixturesRoundTrip(t *testing.T) {
	for _, name := range []string{"ie-endpoint-pending.json", "ie-endpoint-running.json", "ie-endpoint-failed.json",
		"ie-endpoint-updating.json", "ie-create-request-custom-router-doc.json"} {
		t.Run(name, func(t *testing.T) {
			ep := roundTrip[Endpoint](t, fixture(t, name))
			assert.NotEmpty(t, ep.Name)
			assert.NotEmpty(t, ep.Model.Repository)
		})
	}
}

func TestEndpointFieldsDecoded(t *testing.T) {
	ep := roundTrip[Endpoint](t, fixture(t, "ie-endpoint-running.json"))
	assert.Equal(t, StateRunning, ep.Status.State)
	assert.Equal(t, "https://vksrvs8pc1xnifhq.us-east-1.aws.endpoints.huggingface.cloud", ep.URL())
	assert.Nil(t, ep.AccountID)
	assert.Equal(t, "/health", ep.HealthRoute)
	assert.Equal(t, Provider{Vendor: "aws", Region: "us-east-1"}.Vendor, ep.Provider.Vendor)
	assert.Equal(t, "intel-icl", ep.Compute.InstanceType)
	assert.Equal(t, 0, ep.Compute.Scaling.MinReplica)
	assert.Equal(t, 1, ep.Compute.Scaling.MaxReplica)
	require.NotNil(t, ep.Model.Revision)
	assert.Equal(t, "11c5a3d5811f50298f278a704980280950aedb10", *ep.Model.Revision)
	assert.Equal(t, "huggingface", ep.Model.Image.Kind())
	assert.Equal(t, map[string]string{"token": "my-token"}, ep.Model.Secrets)
	assert.Equal(t, 1, ep.Status.ReadyReplica)
	assert.Equal(t, "Wauplin", ep.Status.CreatedBy.Name)
	assert.Equal(t, time.Date(2023, 10, 26, 12, 41, 53, 263e6, time.UTC), ep.Status.CreatedAt.Time)

	pending := roundTrip[Endpoint](t, fixture(t, "ie-endpoint-pending.json"))
	assert.Equal(t, 263078506, pending.Status.CreatedAt.Time.Nanosecond())
	assert.Contains(t, pending.Model.Extra, "secret", "the fixture's typo key is kept, not dropped")

	router := roundTrip[Endpoint](t, fixture(t, "ie-create-request-custom-router-doc.json"))
	require.NotNil(t, router.CustomRouter)
	assert.Equal(t, map[string]string{"MY_VAR": "value"}, router.CustomRouter.Env)
	require.NotNil(t, router.Compute.Scaling.Measure["pendingRequests"])
	assert.Equal(t, 2.0, *router.Compute.Scaling.Measure["pendingRequests"])
}

func TestCatalogDeployResponseRoundTrip(t *testing.T) {
	doc := roundTrip[struct {
		Endpoint Endpoint `json:"endpoint"`
	}](t, fixture(t, "ie-catalog-deploy-response.json"))
	ep := doc.Endpoint
	assert.Equal(t, "aws-us-east-1-nvidia-l4-x1", ep.Compute.ID)
	assert.Equal(t, "hardwareUsage", ep.Compute.Scaling.Metric)
	assert.Contains(t, ep.Compute.Scaling.Measure, "hardwareUsage")
	assert.Nil(t, ep.Compute.Scaling.Measure["hardwareUsage"])
	require.NotNil(t, ep.Compute.Scaling.ScaleToZeroTimeout)
	assert.Equal(t, 15, *ep.Compute.Scaling.ScaleToZeroTimeout)
	assert.Equal(t, "tgi", ep.Model.Image.Kind())
	require.NotNil(t, ep.Model.Image.TGI)
	assert.Equal(t, "ghcr.io/huggingface/text-generation-inference:3.1.1", ep.Model.Image.TGI.URL)
	assert.Equal(t, 80, ep.Model.Image.TGI.Port)
	require.NotNil(t, ep.Model.Image.TGI.DisableCustomKernels)
	assert.NotNil(t, ep.Model.Env, "an empty env object stays an empty object")
}

func TestListAndHardwareFixturesRoundTrip(t *testing.T) {
	list := roundTrip[struct {
		Items []Endpoint `json:"items"`
	}](t, fixture(t, "ie-list-response-2022-apiref.json"))
	require.Len(t, list.Items, 1)
	assert.Equal(t, State("building"), list.Items[0].Status.State)
	assert.True(t, list.Items[0].Status.CreatedAt.Time.IsZero(), "an unparseable timestamp is kept as text, not an error")
	assert.Equal(t, "string", list.Items[0].Status.Private.ServiceName)

	hw := roundTrip[struct {
		Vendors []Vendor `json:"vendors"`
	}](t, fixture(t, "ie-provider-hardware-list.json"))
	require.Len(t, hw.Vendors, 2)
	l4 := hw.Vendors[0].Regions[0].Computes[0]
	assert.Equal(t, 0.8, l4.PricePerHour)
	assert.Equal(t, 16, l4.Quota.MaxAccelerators)
	assert.Nil(t, hw.Vendors[0].Regions[0].Computes[1].GpuMemoryGb)

	old := roundTrip[struct {
		Items []Hardware `json:"items"`
	}](t, fixture(t, "ie-compute-list-2022-apiref.json"))
	assert.Equal(t, "g4dn.xlarge", old.Items[0].InstanceType)
	assert.Contains(t, old.Items[0].Extra, "pricePerHour", "a mistyped member (string price) is kept raw")
}

func TestUnknownMembersSurviveAtEveryLevel(t *testing.T) {
	raw := `{"name":"e","type":"public","healthRoute":"/h","newTop":{"x":1},
	 "provider":{"vendor":"aws","region":"r","zone":"a"},
	 "compute":{"accelerator":"gpu","instanceType":"t","instanceSize":"x1","future":true,
	   "scaling":{"minReplica":0,"maxReplica":2,"burst":3}},
	 "model":{"repository":"r","revision":null,"task":"t","framework":"f","flavour":"x",
	   "image":{"vLLM":{"url":"u","tensorParallelSize":2,"maxNumSeqs":8},"hfServe2":{"url":"v"}}},
	 "status":{"state":"running","message":"m","readyReplica":1,"targetReplica":1,
	   "createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00.1Z","shard":"s","createdBy":{"id":"i","name":"n","k":1}}}`
	ep := roundTrip[Endpoint](t, []byte(raw))
	assert.Equal(t, 2, *ep.Model.Image.VLLM.TensorParallelSize)
	assert.Contains(t, ep.Model.Image.VLLM.Extra, "maxNumSeqs")
	assert.Contains(t, ep.Model.Image.Extra, "hfServe2")
}

func TestTimestampFractionDigits(t *testing.T) {
	for digits := 0; digits <= 9; digits++ {
		text := "2023-10-26T12:41:53"
		if digits > 0 {
			text += "." + "123456789"[:digits]
		}
		text += "Z"
		var ts Timestamp
		require.NoError(t, json.Unmarshal([]byte(`"`+text+`"`), &ts), text)
		assert.False(t, ts.Time.IsZero(), text)
		assert.Equal(t, 53, ts.Time.Second())
		out, err := json.Marshal(ts)
		require.NoError(t, err)
		assert.Equal(t, `"`+text+`"`, string(out), "re-encoding keeps the received text")
	}
	ts := NewTimestamp(time.Date(2024, 5, 6, 7, 8, 9, 5e8, time.UTC))
	assert.Equal(t, "2024-05-06T07:08:09.5Z", ts.String())
}

func TestImageKindAndConstruction(t *testing.T) {
	im := Image{Custom: &CustomImage{URL: "ghcr.io/x:1", Port: 8080}}
	assert.Equal(t, "custom", im.Kind())
	b, err := json.Marshal(im)
	require.NoError(t, err)
	assert.JSONEq(t, `{"custom":{"url":"ghcr.io/x:1","port":8080}}`, string(b))
	b, err = json.Marshal(Image{Huggingface: &HuggingfaceImage{}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"huggingface":{}}`, string(b))
	assert.Equal(t, "", (&Image{}).Kind())
}

func TestStateTransitional(t *testing.T) {
	for s, want := range map[State]bool{StatePending: true, StateInitializing: true, StateUpdating: true,
		StateRunning: false, StatePaused: false, StateFailed: false, StateUpdateFailed: false, StateScaledToZero: false} {
		assert.Equal(t, want, s.Transitional(), s)
	}
}

func TestFreshEndpointHasParserRequiredKeys(t *testing.T) {
	// huggingface_hub raises KeyError without these, so encoding a constructed Endpoint must emit them.
	b, err := json.Marshal(Endpoint{Name: "e", Model: Model{Repository: "r"}, Status: Status{State: StatePending}})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, k := range []string{"name", "type", "healthRoute"} {
		assert.Contains(t, m, k)
	}
	model := m["model"].(map[string]any)
	for _, k := range []string{"repository", "framework", "revision", "task"} {
		assert.Contains(t, model, k)
	}
	status := m["status"].(map[string]any)
	for _, k := range []string{"state", "createdAt", "updatedAt"} {
		assert.Contains(t, status, k)
	}
}

func TestRequestShapedDocumentsRoundTrip(t *testing.T) {
	ep := roundTrip[Endpoint](t, fixture(t, "hfhub-captured-create-request.json"))
	require.NotNil(t, ep.Route)
	assert.Equal(t, "d.example", ep.Route.Domain)
	require.NotNil(t, ep.CacheHTTPResponses)
	assert.False(t, *ep.CacheHTTPResponses)
	assert.Equal(t, []string{"t"}, ep.Tags)

	custom := roundTrip[Image](t, []byte(`{"custom":{"url":"r/x:1","healthRoute":"/ok","port":8080,"env":{"A":"1"},
	  "credentials":{"username":"u","password":"***"},"newOpt":1}}`))
	assert.Equal(t, "u", custom.Custom.Credentials.Username)
	assert.Contains(t, custom.Custom.Extra, "newOpt")

	w := roundTrip[Whoami](t, []byte(`{"type":"user","name":"alice","orgs":[{"name":"o","plan":"team"}],"isPro":true}`))
	assert.Equal(t, "o", w.Orgs[0].Name)
}

func TestWaitTimeoutErrorMessage(t *testing.T) {
	err := &WaitTimeoutError{Last: &Endpoint{Status: Status{State: StatePaused}}, Timeout: time.Minute}
	assert.Contains(t, err.Error(), "1m0s")
	assert.Contains(t, err.Error(), "paused (resume it first)")
	assert.Contains(t, (&WaitTimeoutError{Timeout: time.Second}).Error(), "unknown")
}
