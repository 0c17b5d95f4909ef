package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// stateFile is the JSON layout of Options.StateFile.
type stateFile struct {
	Version   int             `json:"version"`
	Endpoints []stateEndpoint `json:"endpoints"`
}

type stateEndpoint struct {
	Namespace string         `json:"namespace"`
	ID        string         `json:"id"`
	Seq       uint64         `json:"seq"`
	Spec      map[string]any `json:"spec"`
	Status    status         `json:"status"`
}

type stateSnapshot struct {
	version uint64
	data    []byte
}

// persister serialises state writes so the file always ends with the newest snapshot.
type persister struct {
	mu      sync.Mutex
	written uint64
}

// snapshotLocked serialises the store when a state file is configured; nil otherwise.
func (e *Emulator) snapshotLocked() *stateSnapshot {
	if e.opts.StateFile == "" {
		return nil
	}
	sf := stateFile{Version: 1}
	for _, ep := range e.store.byKey {
		sf.Endpoints = append(sf.Endpoints, stateEndpoint{Namespace: ep.ns, ID: ep.id, Seq: ep.seq, Spec: ep.spec, Status: ep.st})
	}
	data, err := json.MarshalIndent(sf, "", " ")
	if err != nil {
		e.log.Error("emulator state not saved", "err", err)
		return nil
	}
	return &stateSnapshot{version: e.store.version, data: data}
}

// writeState writes a snapshot atomically (temp file in the same directory, fsync, rename), skipping
// snapshots older than one already written.
func (e *Emulator) writeState(s *stateSnapshot) {
	if s == nil {
		return
	}
	p := &e.persist
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.version < p.written {
		return
	}
	if err := writeFileAtomic(e.opts.StateFile, s.data); err != nil {
		e.log.Error("emulator state not saved", "file", e.opts.StateFile, "err", err)
		return
	}
	p.written = s.version
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable; not all filesystems support it, so errors are ignored
		d.Close()
	}
	return nil
}

// loadState restores endpoints from the state file, restarting interrupted transitions.
func (e *Emulator) loadState() error {
	if e.opts.StateFile == "" {
		return nil
	}
	data, err := os.ReadFile(e.opts.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("emulator: read state file: %w", err)
	}
	var sf stateFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&sf); err != nil {
		return fmt.Errorf("emulator: state file %s is not valid JSON (%v); move it away to start empty", e.opts.StateFile, err)
	}
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	for _, se := range sf.Endpoints {
		if err := e.restoreLocked(se); err != nil {
			return fmt.Errorf("emulator: state file %s: %w", e.opts.StateFile, err)
		}
	}
	return nil
}

func (e *Emulator) restoreLocked(se stateEndpoint) error {
	view, err := viewOf(se.Spec)
	if err != nil {
		return fmt.Errorf("endpoint %s/%v: %w", se.Namespace, se.Spec["name"], err)
	}
	if len(se.ID) != 16 || view.Name == "" || se.Namespace == "" {
		return fmt.Errorf("endpoint %s/%s has no id, name or namespace", se.Namespace, view.Name)
	}
	ep := &endpoint{ns: se.Namespace, name: view.Name, id: se.ID, seq: se.Seq, spec: se.Spec, view: view, st: se.Status}
	e.store.byKey[ep.ns+"/"+ep.name] = ep
	e.store.byID[ep.id] = ep
	e.store.seq = max(e.store.seq, ep.seq)
	e.store.touchLocked(ep)
	st := ep.st
	switch st.State {
	case StatePending, StateInitializing:
		e.startDeployLocked(ep, nil)
	case StateUpdating:
		e.laterLocked(ep, e.timings.Update, func() { e.becomeRunningLocked(ep) })
	case StateRunning:
		ep.lastUsed.Store(time.Now().UnixNano())
		if view.minReplica() == 0 {
			e.armIdleLocked(ep, e.idleLimit(ep))
		}
	case StateScaledToZero:
		ep.st.ScalingUp, ep.st.TargetReplica = false, 0
	}
	ep.st.CreatedAt, ep.st.UpdatedAt = st.CreatedAt, st.UpdatedAt
	ep.st.CreatedBy, ep.st.UpdatedBy = st.CreatedBy, st.UpdatedBy
	e.syncReplicasLocked(ep)
	return nil
}
