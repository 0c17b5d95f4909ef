package hfapi

import (
	"math"
	"testing"
)

// FuzzOperationsBodies feeds arbitrary bodies to the lenient readers of the logs, replicas and
// metric series routes, whose shapes are unpublished: they never panic, and what they return holds
// together (series sorted with finite values; logs in time order when every line has a time).
func FuzzOperationsBodies(f *testing.F) {
	for _, seed := range []string{
		`[{"timestamp":"2026-03-04T10:00:01Z","level":"info","replica":"6pajyw3k-z7ghx","message":"Starting shard"}]`,
		`{"items":[{"Timestamp":1772618402000,"Log Level":"warn","Content":"x","deploymentId":"d","replicaId":"r"}]}`,
		"{\"time\":\"2026-03-04T10:00:01Z\",\"msg\":\"one\"}\n{\"time\":1.5e9,\"msg\":\"two\"}",
		"2026-03-04T10:00:01Z INFO text\nplain\n",
		`{"unit":"ms","points":[{"timestamp":"2026-03-04T10:01:00Z","value":3},{"t":1772618400,"v":"NaN"}]}`,
		`{"data":{"result":[{"values":[[1772618400,"1"],[1e30,2]]}]}}`,
		`{"replicas":[{"replicaId":"z","deployment":"d","status":"running","start_time":-1,"restartCount":1e300}]}`,
		`[[1,2,3]]`, `[null]`, "\x00\xff",
	} {
		f.Add("application/json", []byte(seed))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		if lines, err := decodeLogs(contentType, body); err == nil {
			timed := true
			for _, l := range lines {
				timed = timed && !l.Time.IsZero()
			}
			for i := 1; timed && i < len(lines); i++ {
				if lines[i].Time.Before(lines[i-1].Time) {
					t.Fatalf("lines out of time order: %v before %v", lines[i-1].Time, lines[i].Time)
				}
			}
		}
		if s, err := decodeSeries(body); err == nil {
			for i, p := range s.Points {
				if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
					t.Fatalf("point %d has value %v", i, p.Value)
				}
				if i > 0 && p.Time.Before(s.Points[i-1].Time) {
					t.Fatalf("points out of order at %d", i)
				}
			}
		}
		if reps, err := decodeReplicas(body); err == nil {
			for _, r := range reps {
				if r.Restarts < 0 {
					t.Fatalf("negative restarts: %d", r.Restarts)
				}
			}
		}
	})
}
