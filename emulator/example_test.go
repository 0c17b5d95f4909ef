package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
)

// Start an emulator on a free loopback port, create an endpoint and wait until it runs.
func ExampleStart() {
	srv, err := emulator.Start("127.0.0.1:0", emulator.Options{
		Timings: emulator.Timings{Deploy: 30 * time.Millisecond},
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	call := func(method, url, body string) map[string]any {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+srv.Token())
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	call("POST", srv.APIBase()+"/endpoint/emulator-user", `{"name": "my-ep",
		"provider": {"vendor": "aws", "region": "us-east-1"},
		"compute": {"accelerator": "cpu", "instanceType": "intel-icl", "instanceSize": "x2"},
		"model": {"repository": "gpt2", "framework": "pytorch", "task": "text-generation"}}`)
	// Poll like a client would (huggingface_hub's wait() polls every few seconds).
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); <-poll.C {
		ep := call("GET", srv.APIBase()+"/endpoint/emulator-user/my-ep", "")
		if st := ep["status"].(map[string]any); st["state"] == "running" {
			fmt.Println("running at", strings.HasPrefix(st["url"].(string), srv.URL+"/e/"))
			break
		}
	}
	fmt.Println(srv.Requests("POST", "/v2/endpoint/{namespace}"), "create request")
	// Output:
	// running at true
	// 1 create request
}

// Make the next two reads of an endpoint answer 429 with Retry-After, as a rate-limited API would.
func ExampleEmulator_InjectFault() {
	srv, err := emulator.Start("127.0.0.1:0", emulator.Options{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	err = srv.InjectFault(emulator.Fault{Method: "GET", Route: "/v2/endpoint/{namespace}",
		Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second, Count: 2})
	if err != nil {
		panic(err)
	}
	for range 3 {
		req, _ := http.NewRequest("GET", srv.APIBase()+"/endpoint/emulator-user", nil)
		req.Header.Set("Authorization", "Bearer "+srv.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Output:
	// 429 2
	// 429 2
	// 200
}
