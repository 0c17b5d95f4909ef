package hfapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

// recorder is a fake API that records request bodies and answers with the running fixture.
type recorder struct {
	mu     sync.Mutex
	bodies map[string][]byte // "METHOD path" → last body
	counts map[string]int
}

func newRecorder(t *testing.T) (*recorder, *httptest.Server) {
	rec := &recorder{bodies: map[string][]byte{}, counts: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.bodies[r.Method+" "+r.URL.Path] = b
		rec.counts[r.Method+" "+r.URL.Path]++
		rec.mu.Unlock()
		serveFixture(t, w, "ie-endpoint-running.json")
	}))
	t.Cleanup(srv.Close)
	return rec, srv
}

func (r *recorder) body(key string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bodies[key]
}

func (r *recorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[key]
}

func TestCreateBodyMatchesHuggingfaceHub(t *testing.T) {
	rec, srv := newRecorder(t)
	c, _ := newTestClient(t, srv)
	// The call SOURCES.md describes for hfhub-captured-create-request.json.
	_, err := c.Create(t.Context(), "acme", CreateSpec{
		Name: "my-ep", Repository: "gpt2", Framework: "pytorch", Task: "text-generation",
		Accelerator: "cpu", InstanceType: "intel-icl", InstanceSize: "x2", Vendor: "aws", Region: "us-east-1",
		MinReplica: ptr(0), ScaleToZeroTimeout: ptr(15), Env: map[string]string{"A": "1"},
		Secrets: map[string]string{"S": "x"}, Tags: []string{"t"}, Domain: "d.example", Path: "/m",
		CacheHTTPResponses: ptr(false),
	})
	require.NoError(t, err)
	assert.JSONEq(t, string(fixture(t, "hfhub-captured-create-request.json")), string(rec.body("POST /v2/endpoint/acme")))
}

func TestCreateBodyDefaultsAndOptionalKeys(t *testing.T) {
	spec := CreateSpec{Name: "e", Repository: "r", Framework: "pytorch", Accelerator: "gpu", InstanceType: "nvidia-l4",
		InstanceSize: "x1", Vendor: "aws", Region: "us-east-1", Env: map[string]string{}, Secrets: map[string]string{}}
	b, err := json.Marshal(spec.body())
	require.NoError(t, err)
	assert.JSONEq(t, `{"accountId":null,"name":"e","type":"authenticated","provider":{"region":"us-east-1","vendor":"aws"},
	  "compute":{"accelerator":"gpu","instanceSize":"x1","instanceType":"nvidia-l4",
	    "scaling":{"maxReplica":1,"minReplica":1,"scaleToZeroTimeout":null}},
	  "model":{"framework":"pytorch","repository":"r","revision":null,"image":{"huggingface":{}}}}`, string(b),
		"defaults: authenticated, 1/1 replicas, nulls; empty env/secrets omitted")

	spec.CustomImage = map[string]any{"url": "ghcr.io/x:1", "healthRoute": "/ok"}
	spec.ScalingMetric, spec.ScalingThreshold = "pendingRequests", ptr(2.0)
	spec.Command, spec.Args = []string{"serve"}, []string{"--port", "80"}
	b, err = json.Marshal(spec.body())
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	model := got["model"].(map[string]any)
	assert.Equal(t, map[string]any{"custom": map[string]any{"url": "ghcr.io/x:1", "healthRoute": "/ok"}}, model["image"])
	assert.Equal(t, []any{"serve"}, model["command"])
	assert.Equal(t, []any{"--port", "80"}, model["args"])
	scaling := got["compute"].(map[string]any)["scaling"].(map[string]any)
	assert.Equal(t, map[string]any{"pendingRequests": 2.0}, scaling["measure"])

	spec.CustomImage = map[string]any{"tgi": map[string]any{"url": "ghcr.io/tgi:3"}}
	b, _ = json.Marshal(spec.body())
	assert.Contains(t, string(b), `"image":{"tgi":{"url":"ghcr.io/tgi:3"}}`, "a variant-keyed image passes through")
}

func TestUpdateBodyMatchesHuggingfaceHub(t *testing.T) {
	rec, srv := newRecorder(t)
	c, _ := newTestClient(t, srv)
	_, err := c.Update(t.Context(), "acme", "my-ep", UpdateSpec{MinReplica: ptr(1), MaxReplica: ptr(2),
		CustomImage: map[string]any{"url": "img:1", "port": 8080}, Env: map[string]string{"B": "2"}})
	require.NoError(t, err)
	assert.JSONEq(t, string(fixture(t, "hfhub-captured-update-request.json")), string(rec.body("PUT /v2/endpoint/acme/my-ep")))
}

func TestUpdateSendsOnlyGivenFields(t *testing.T) {
	b, err := UpdateSpec{Tags: []string{}, CacheHTTPResponses: ptr(true), Path: ptr("/p")}.body(nil)
	require.NoError(t, err)
	raw, _ := json.Marshal(b)
	assert.JSONEq(t, `{"tags":[],"cacheHttpResponses":true,"route":{"path":"/p"}}`, string(raw))
}

func TestUpdateParallelismResendsCurrentImage(t *testing.T) {
	var mu sync.Mutex
	var put []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			mu.Lock()
			put, _ = io.ReadAll(r.Body)
			mu.Unlock()
		}
		w.Write([]byte(`{"name":"e","type":"public","healthRoute":"/health","model":{"repository":"r","revision":null,
		  "task":"t","framework":"pytorch","image":{"vLLM":{"url":"vllm:1","port":80,"maxNumSeqs":4}}},
		  "status":{"state":"running","createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z"}}`))
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv)
	_, err := c.Update(t.Context(), "acme", "e", UpdateSpec{TensorParallelSize: ptr(4)})
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.JSONEq(t, `{"model":{"image":{"vLLM":{"url":"vllm:1","port":80,"maxNumSeqs":4,"tensorParallelSize":4}}}}`, string(put))
}

func TestValidation(t *testing.T) {
	good := CreateSpec{Name: "ok-1", Repository: "r", Framework: "pytorch", Accelerator: "cpu", InstanceType: "intel-icl",
		InstanceSize: "x2", Vendor: "aws", Region: "us-east-1"}
	require.NoError(t, good.Validate())
	cases := []struct {
		name   string
		mutate func(*CreateSpec)
		want   string
	}{
		{"empty name", func(s *CreateSpec) { s.Name = "" }, "1–32 characters"},
		{"upper case", func(s *CreateSpec) { s.Name = "My-Ep" }, "lowercase"},
		{"underscore", func(s *CreateSpec) { s.Name = "my_ep" }, "'_'"},
		{"leading dash", func(s *CreateSpec) { s.Name = "-ep" }, "starts or ends with '-'"},
		{"trailing dash", func(s *CreateSpec) { s.Name = "ep-" }, "starts or ends with '-'"},
		{"too long", func(s *CreateSpec) { s.Name = strings.Repeat("a", 33) }, "33 characters"},
		{"missing repository", func(s *CreateSpec) { s.Repository = "" }, "repository: is required"},
		{"missing vendor", func(s *CreateSpec) { s.Vendor = " " }, "vendor: is required"},
		{"negative min", func(s *CreateSpec) { s.MinReplica = ptr(-1) }, "must be 0 or more"},
		{"zero max", func(s *CreateSpec) { s.MaxReplica = ptr(0) }, "must be at least 1"},
		{"min above max", func(s *CreateSpec) { s.MinReplica, s.MaxReplica = ptr(3), ptr(2) }, "minReplica must be ≤ maxReplica"},
		{"min above default max", func(s *CreateSpec) { s.MinReplica = ptr(2) }, "minReplica must be ≤ maxReplica"},
		{"bad type", func(s *CreateSpec) { s.Type = "secret" }, "use one of public, authenticated (formerly protected), private"},
		{"bad metric", func(s *CreateSpec) { s.ScalingMetric = "cpu" }, "hardwareUsage or pendingRequests"},
		{"empty image", func(s *CreateSpec) { s.CustomImage = map[string]any{} }, "customImage"},
		{"parallelism without an image", func(s *CreateSpec) { s.TensorParallelSize = ptr(2) }, "give a vLLM or sGLang image"},
		{"parallelism on TGI", func(s *CreateSpec) {
			s.TensorParallelSize, s.CustomImage = ptr(2), map[string]any{"tgi": map[string]any{"url": "t"}}
		}, "a tgi image takes no parallelism settings"},
		{"data parallelism on sGLang", func(s *CreateSpec) {
			s.DataParallelSize, s.CustomImage = ptr(2), map[string]any{"sGLang": map[string]any{"url": "s"}}
		}, "an sGLang image takes tensorParallelSize only"},
		{"zero tensor parallelism", func(s *CreateSpec) {
			s.TensorParallelSize, s.CustomImage = ptr(0), map[string]any{"vLLM": map[string]any{"url": "v"}}
		}, "must be at least 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.mutate(&s)
			err := s.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var ve *ValidationError
			assert.True(t, errors.As(err, &ve))
		})
	}
	assert.NoError(t, ValidateName(strings.Repeat("a", 32)))
	assert.Error(t, UpdateSpec{}.Validate(), "an update must change something")
	assert.ErrorContains(t, UpdateSpec{MinReplica: ptr(5), MaxReplica: ptr(1)}.Validate(), "≤ maxReplica")
	assert.ErrorContains(t, UpdateSpec{MaxReplica: ptr(0)}.Validate(), "at least 1")
	assert.ErrorContains(t, UpdateSpec{InstanceType: ptr("")}.Validate(), "set but empty")
}

func TestValidationHappensBeforeAnyRequest(t *testing.T) {
	rec, srv := newRecorder(t)
	c, _ := newTestClient(t, srv)
	_, err := c.Create(t.Context(), "acme", CreateSpec{Name: "Bad Name"})
	require.Error(t, err)
	_, err = c.Update(t.Context(), "acme", "e", UpdateSpec{MinReplica: ptr(-2)})
	require.Error(t, err)
	assert.Zero(t, rec.count("POST /v2/endpoint/acme")+rec.count("PUT /v2/endpoint/acme/e"))
}

func TestCreateWritesParallelismIntoTheEngineImage(t *testing.T) {
	s := CreateSpec{Name: "ok-1", Repository: "r", Framework: "pytorch", Accelerator: "gpu", InstanceType: "nvidia-l4",
		InstanceSize: "x4", Vendor: "aws", Region: "us-east-1", TensorParallelSize: ptr(2), DataParallelSize: ptr(2),
		CustomImage: map[string]any{"vLLM": map[string]any{"url": "vllm/vllm-openai:latest"}}}
	require.NoError(t, s.Validate())
	assert.Equal(t, map[string]any{"vLLM": map[string]any{"url": "vllm/vllm-openai:latest", "tensorParallelSize": 2, "dataParallelSize": 2}},
		s.body()["model"].(map[string]any)["image"])
	assert.Equal(t, map[string]any{"url": "vllm/vllm-openai:latest"}, s.CustomImage["vLLM"], "the caller's image is left as it was")
}

func TestSetParallelismRefusesRedactedCredentials(t *testing.T) {
	_, err := UpdateSpec{TensorParallelSize: ptr(2)}.body(map[string]any{"custom": map[string]any{"url": "u",
		"credentials": map[string]any{"username": "u", "password": "***"}}})
	assert.ErrorContains(t, err, "credentials")
	_, err = UpdateSpec{DataParallelSize: ptr(2)}.body(map[string]any{})
	assert.ErrorContains(t, err, "exactly one variant")
	b, err := UpdateSpec{DataParallelSize: ptr(2), CustomImage: map[string]any{"vLLM": map[string]any{"url": "v"}}}.body(nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"vLLM": map[string]any{"url": "v", "dataParallelSize": 2}}, b["model"].(map[string]any)["image"])
}
