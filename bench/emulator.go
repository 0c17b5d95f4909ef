package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// emulatorWorkers is the number of keep-alive clients of the emulator runs.
const emulatorWorkers = 8

// emulatorRounds is how many times each emulator run is repeated.
const emulatorRounds = 3

// tgiBody is a text-generation request: 20 new tokens with details.
const tgiBody = `{"inputs":"Explain inference endpoints in one sentence.","parameters":{"max_new_tokens":20,"details":true}}`

// measureEmulator sends GET /v2/endpoint/{ns}/{name}, and TGI's POST / on
// the endpoint's URL, each from emulatorWorkers workers for o.emuFor in all,
// and reports requests per second.
func measureEmulator(ctx context.Context, e *env, o options, r *report) error {
	ns, err := e.client.DefaultNamespace(ctx)
	if err != nil {
		return err
	}
	ep, err := e.client.Get(ctx, ns, benchEndpoint)
	if err != nil {
		return err
	}
	if ep.URL() == "" {
		return fmt.Errorf("endpoint %s has no URL to send text generation to", benchEndpoint)
	}
	token := e.emu.Token()
	runs := []struct {
		name string
		req  func(context.Context) (*http.Request, error)
	}{
		{"emulator GET /v2/endpoint/{ns}/{name}", func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, e.emu.APIBase()+"/endpoint/"+ns+"/"+benchEndpoint, nil)
		}},
		{"emulator TGI POST / (20 new tokens)", func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL(), strings.NewReader(tgiBody))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
			}
			return req, err
		}},
	}
	// Rounds alternate the two runs so both see the same machine state; the
	// median round damps a burst of other work on the machine.
	rates := make([][]float64, len(runs))
	slice := o.emuFor / emulatorRounds
	for range emulatorRounds {
		for i, run := range runs {
			rate, err := requestRate(ctx, slice, token, run.req)
			if err != nil {
				return fmt.Errorf("%s: %w", run.name, err)
			}
			rates[i] = append(rates[i], rate)
		}
	}
	for i, run := range runs {
		rate := medianFloat(rates[i])
		r.line(fmt.Sprintf("%s, %d keep-alive workers, %s", run.name, emulatorWorkers, o.emuFor),
			fmt.Sprintf("%.0f req/s (median of %d runs)", rate, emulatorRounds), "≥ 10,000 req/s", check(rate >= 10000))
	}
	return nil
}

// requestRate sends the request newReq builds from emulatorWorkers workers
// for d and returns the answered requests per second; every answer must be 200.
func requestRate(ctx context.Context, d time.Duration, token string, newReq func(context.Context) (*http.Request, error)) (float64, error) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: emulatorWorkers}}
	defer hc.CloseIdleConnections()
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		n     atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	start := time.Now()
	for range emulatorWorkers {
		wg.Go(func() {
			for runCtx.Err() == nil {
				req, err := newReq(runCtx)
				if err == nil {
					err = doOnce(hc, req, token)
				}
				if err != nil {
					if runCtx.Err() == nil {
						mu.Lock()
						first = cmpErr(first, err)
						mu.Unlock()
					}
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if first != nil {
		return 0, first
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

func getOnce(ctx context.Context, hc *http.Client, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	return doOnce(hc, req, token)
}

// doOnce sends req with the token, reads the whole answer and wants a 200.
func doOnce(hc *http.Client, req *http.Request, token string) error {
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
