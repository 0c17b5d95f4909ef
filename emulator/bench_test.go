package emulator

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

// benchClient keeps enough idle connections for RunParallel's goroutines to reuse them.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}
}

func benchServer(b *testing.B) (*Server, string) {
	s := start(b, Options{Timings: Timings{Deploy: time.Millisecond}})
	c := newClient(b, s, s.Token())
	return s, urlOf(c.running("emulator-user", "bench"))
}

func runRequests(b *testing.B, newReq func() *http.Request) {
	hc := benchClient()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := hc.Do(newReq())
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkGetEndpoint measures GET /v2/endpoint/{namespace}/{name} over loopback with keep-alive.
func BenchmarkGetEndpoint(b *testing.B) {
	s, _ := benchServer(b)
	url := s.APIBase() + "/endpoint/emulator-user/bench"
	runRequests(b, func() *http.Request {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+s.Token())
		return req
	})
}

// BenchmarkTextGeneration measures TGI's POST / (20 new tokens, details) over loopback with keep-alive.
func BenchmarkTextGeneration(b *testing.B) {
	s, url := benchServer(b)
	body := []byte(`{"inputs":"Explain inference endpoints in one sentence.","parameters":{"max_new_tokens":20,"details":true}}`)
	runRequests(b, func() *http.Request {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.Token())
		req.Header.Set("Content-Type", "application/json")
		return req
	})
}
