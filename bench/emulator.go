package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// measureEmulator sends GET /v2/endpoint/{ns}/{name} from 8 workers for
// o.emuFor and reports requests per second.
func measureEmulator(ctx context.Context, e *env, o options, r *report) error {
	ns, err := e.client.DefaultNamespace(ctx)
	if err != nil {
		return err
	}
	url := e.emu.APIBase() + "/endpoint/" + ns + "/" + benchEndpoint
	const workers = 8
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer hc.CloseIdleConnections()
	runCtx, cancel := context.WithTimeout(ctx, o.emuFor)
	defer cancel()
	var (
		n     atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for runCtx.Err() == nil {
				if err := getOnce(runCtx, hc, url, e.emu.Token()); err != nil {
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
		return fmt.Errorf("emulator GET: %w", first)
	}
	rate := float64(n.Load()) / time.Since(start).Seconds()
	r.line(fmt.Sprintf("emulator GET endpoint, %d keep-alive workers, %s", workers, o.emuFor), fmt.Sprintf("%.0f req/s", rate), "", nil)
	return nil
}

func getOnce(ctx context.Context, hc *http.Client, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}
