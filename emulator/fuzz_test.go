package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// fuzzEmulator is an emulator with slow timings (nothing transitions during a fuzz run) and one
// running text-generation endpoint, served in-process.
func fuzzEmulator(f *testing.F) (*Emulator, string) {
	e, err := New(Options{Seed: 1, Timings: Timings{Deploy: time.Hour, Update: time.Hour, ScaleUp: time.Hour}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	body, _ := json.Marshal(createBody("llm"))
	rec := serve(e, "POST", "/v2/endpoint/emulator-user", body)
	if rec.Code != http.StatusAccepted {
		f.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	e.store.mu.Lock()
	ep := e.store.byKey["emulator-user/llm"]
	e.becomeRunningLocked(ep)
	e.store.mu.Unlock()
	return e, "/e/" + ep.id
}

func serve(h http.Handler, method, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// FuzzCreateRequest feeds arbitrary bodies to create and update: never a panic or a 5xx, and every
// answer is JSON (an endpoint or {"error"}).
func FuzzCreateRequest(f *testing.F) {
	e, _ := fuzzEmulator(f)
	valid, _ := json.Marshal(createBody("seed"))
	f.Add(valid)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"name":"x","compute":{"scaling":{"minReplica":1e400}}}`))
	f.Add([]byte(`{"name":"x","model":{"image":{"custom":null}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, rt := range []struct{ method, path string }{
			{"POST", "/v2/endpoint/emulator-user"}, {"PUT", "/v2/endpoint/emulator-user/llm"},
		} {
			rec := serve(e, rt.method, rt.path, body)
			if rec.Code >= 500 {
				t.Fatalf("%s %s answered %d: %s", rt.method, rt.path, rec.Code, rec.Body)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %s answered non-JSON: %q", rt.method, rt.path, rec.Body)
			}
		}
	})
}

// FuzzGenerateRequest feeds arbitrary bodies to the text-generation routes: never a panic or a 5xx.
func FuzzGenerateRequest(f *testing.F) {
	e, url := fuzzEmulator(f)
	f.Add([]byte(`{"inputs":"Hi","parameters":{"max_new_tokens":5,"details":true}}`))
	f.Add([]byte(`{"inputs":"Hi","parameters":{"stop":["a"],"best_of":2,"do_sample":true},"stream":true}`))
	f.Add([]byte(`{"model":"x","messages":[{"role":"user","content":"hi"}],"max_tokens":3,"stream":true}`))
	f.Add([]byte(`{"prompt":["a","b"],"max_tokens":2}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, p := range []string{"", "/generate_stream", "/v1/chat/completions", "/v1/completions"} {
			if rec := serve(e, "POST", url+p, body); rec.Code >= 500 {
				t.Fatalf("POST %s answered %d: %s", p, rec.Code, rec.Body)
			}
		}
	})
}
