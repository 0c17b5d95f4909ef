package hfapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Replica is one replica of an endpoint, as GET …/replica describes it.
type Replica struct {
	ID        string    // <deployment>-<replica>, the UI's form
	State     string    // as sent (running, pending, initializing, failed…)
	StartedAt time.Time // zero when unknown
	Restarts  int
	Message   string
	// Extra holds the members that are not mapped above.
	Extra map[string]json.RawMessage
}

// Replicas returns the replicas of an endpoint (GET …/replica). The body is read leniently: a JSON
// array, or an object holding the list ({"items": …}, {"replicas": …}).
func (c *Client) Replicas(ctx context.Context, namespace, name string) ([]Replica, error) {
	ns, err := c.target(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	op := "replicas of " + ns + "/" + name
	resp, err := c.send(ctx, request{op: op, method: http.MethodGet, url: endpointURL(c.api, "endpoint", ns, name, "replica")})
	if err != nil {
		return nil, err
	}
	out, err := decodeReplicas(resp.body)
	if err != nil {
		return nil, fmt.Errorf("%s: HTTP %d answer %w", op, resp.status, err)
	}
	return out, nil
}

// decodeReplicas reads a JSON array of replicas, or an object holding one.
func decodeReplicas(body []byte) ([]Replica, error) {
	list, isJSON := listIn(body, "replicas", "items", "data", "results")
	if !isJSON {
		return nil, fmt.Errorf("is not JSON: %s", truncate(string(body), 120))
	}
	out := make([]Replica, 0, len(list))
	for _, raw := range list {
		var r record
		if err := json.Unmarshal(raw, &r); err != nil || r == nil {
			return nil, fmt.Errorf("has a replica that is not an object: %s", truncate(string(raw), 120))
		}
		rep := Replica{
			StartedAt: r.time("startedat", "starttime", "started", "createdat", "creationtimestamp"),
			State:     strings.TrimSpace(r.text("state", "status", "phase")),
			Message:   r.text("message", "reason", "statusmessage", "error"),
		}
		rep.ID = joinReplicaID(r.text("deploymentid", "deployment"), r.text("id", "replicaid", "name", "replica", "podname"))
		if n, ok := r.number("restarts", "restartcount", "restartscount"); ok {
			rep.Restarts = int(min(max(n, 0), 1e9))
		}
		rep.Extra = r.rest()
		out = append(out, rep)
	}
	return out, nil
}
