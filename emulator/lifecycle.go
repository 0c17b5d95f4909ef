package emulator

import (
	"time"
)

// Status messages, as observed from the real service where known.
const (
	msgPending      = "Endpoint waiting to be scheduled"
	msgInitializing = "Endpoint is initializing"
	msgRunning      = "Endpoint is ready"
	msgUpdating     = "Endpoint waiting for the update"
	msgPaused       = "Endpoint is paused"
	msgScaledToZero = "Endpoint is scaled to zero"
	msgScalingUp    = "Endpoint is scaling up"
	msgDeployFailed = "Endpoint failed to deploy"
	msgUpdateFailed = "Endpoint failed to update"
)

// setStateLocked moves ep to a new state, cancelling its pending steps. by is nil for transitions the
// platform makes on its own (updatedBy then keeps the last user).
func (e *Emulator) setStateLocked(ep *endpoint, state, msg string, hasURL bool, ready, target int, by *account) {
	ep.gen++
	ep.task.stop()
	ep.idle.stop()
	ep.task, ep.idle = nil, nil
	ep.st.State, ep.st.Message, ep.st.ErrorMessage = state, msg, ""
	ep.st.HasURL, ep.st.ReadyReplica, ep.st.TargetReplica = hasURL, ready, target
	ep.st.ScalingUp = false
	ep.st.UpdatedAt = time.Now().UTC()
	if by != nil {
		ep.st.UpdatedBy = actor{ID: by.id, Name: by.name}
	}
	e.store.touchLocked(ep)
	e.syncReplicasLocked(ep)
	e.log.Info("endpoint state", "namespace", ep.ns, "name", ep.name, "state", state)
}

// failLocked moves ep to failed or updateFailed with status message msg and errorMessage detail,
// and lets its replicas print why.
func (e *Emulator) failLocked(ep *endpoint, state, msg, detail string, hasURL bool, ready, target int) {
	e.setStateLocked(ep, state, msg, hasURL, ready, target, nil)
	ep.st.ErrorMessage = detail
	e.syncReplicasLocked(ep)
}

// laterLocked runs step under the store lock after d, unless ep changed state or was deleted meanwhile.
func (e *Emulator) laterLocked(ep *endpoint, d time.Duration, step func()) {
	gen := ep.gen
	ep.task = e.sched.after(d, func() { e.stepIfCurrent(ep, gen, step) })
}

// whenReleasedLocked runs step under the store lock once hold is closed, unless ep changed state or
// was deleted meanwhile, or the emulator closed.
func (e *Emulator) whenReleasedLocked(ep *endpoint, hold <-chan struct{}, step func()) {
	gen := ep.gen
	go func() {
		select {
		case <-hold:
			e.stepIfCurrent(ep, gen, step)
		case <-e.done:
		}
	}()
}

// stepIfCurrent runs step under the store lock if ep is still in transition gen, then persists.
func (e *Emulator) stepIfCurrent(ep *endpoint, gen uint64, step func()) {
	e.store.mu.Lock()
	if ep.deleted || ep.gen != gen {
		e.store.mu.Unlock()
		return
	}
	step()
	snap := e.snapshotLocked()
	e.store.mu.Unlock()
	e.writeState(snap)
}

func (ep *endpoint) replicas() int { return max(ep.view.minReplica(), 1) }

// startDeployLocked runs pending → initializing → running (or failed when a failure was injected).
func (e *Emulator) startDeployLocked(ep *endpoint, by *account) {
	key := ep.ns + "/" + ep.name
	ep.failDeploy = e.store.failDeploy[key]
	delete(e.store.failDeploy, key)
	ep.holdDeploy = e.store.holdDeploy[key]
	delete(e.store.holdDeploy, key)
	e.setStateLocked(ep, StatePending, msgPending, false, 0, ep.replicas(), by)
	finish := func() {
		if msg := ep.failDeploy; msg != "" {
			ep.failDeploy = ""
			e.failLocked(ep, StateFailed, msg, msg, false, 0, ep.replicas())
			return
		}
		if oom := containerOf(ep).outOfMemory(); oom != "" {
			e.failLocked(ep, StateFailed, msgDeployFailed, "Shard 0 failed to start: "+oom, false, 0, ep.replicas())
			return
		}
		e.becomeRunningLocked(ep)
	}
	first := e.timings.Deploy / 3
	e.laterLocked(ep, first, func() {
		e.setStateLocked(ep, StateInitializing, msgInitializing, false, 0, ep.replicas(), nil)
		e.laterLocked(ep, e.timings.Deploy-first, func() {
			if hold := ep.holdDeploy; hold != nil {
				ep.holdDeploy = nil
				e.whenReleasedLocked(ep, hold, finish)
				return
			}
			finish()
		})
	})
}

// becomeRunningLocked marks ep ready and, for minReplica 0, arms the idle scale-to-zero check.
func (e *Emulator) becomeRunningLocked(ep *endpoint) {
	n := ep.replicas()
	e.setStateLocked(ep, StateRunning, msgRunning, true, n, n, nil)
	ep.lastUsed.Store(time.Now().UnixNano())
	if ep.view.minReplica() == 0 {
		e.armIdleLocked(ep, e.idleLimit(ep))
	}
}

func (e *Emulator) idleLimit(ep *endpoint) time.Duration {
	return time.Duration(ep.view.idleMinutes()) * e.timings.IdleMinute
}

// armIdleLocked scales ep to zero once it has served no request for its scaleToZeroTimeout.
func (e *Emulator) armIdleLocked(ep *endpoint, d time.Duration) {
	gen := ep.gen
	ep.idle = e.sched.after(d, func() {
		e.store.mu.Lock()
		if ep.deleted || ep.gen != gen || ep.st.State != StateRunning {
			e.store.mu.Unlock()
			return
		}
		idle := time.Since(time.Unix(0, ep.lastUsed.Load()))
		if limit := e.idleLimit(ep); idle < limit {
			e.armIdleLocked(ep, limit-idle)
			e.store.mu.Unlock()
			return
		}
		e.setStateLocked(ep, StateScaledToZero, msgScaledToZero, true, 0, 0, nil)
		snap := e.snapshotLocked()
		e.store.mu.Unlock()
		e.writeState(snap)
	})
}

// startUpdateLocked applies the lifecycle of a PUT: a paused endpoint stays paused, one that is not
// deployed yet (or failed) redeploys, any other goes through updating with its url kept.
func (e *Emulator) startUpdateLocked(ep *endpoint, by *account) {
	switch ep.st.State {
	case StatePaused:
		ep.st.UpdatedAt = time.Now().UTC()
		ep.st.UpdatedBy = actor{ID: by.id, Name: by.name}
		e.store.touchLocked(ep)
		return
	case StatePending, StateInitializing, StateFailed:
		e.startDeployLocked(ep, by)
		return
	}
	key := ep.ns + "/" + ep.name
	ep.failUpdate = e.store.failUpdate[key]
	delete(e.store.failUpdate, key)
	ready := ep.st.ReadyReplica
	e.setStateLocked(ep, StateUpdating, msgUpdating, true, ready, ep.replicas(), by)
	e.laterLocked(ep, e.timings.Update, func() {
		if msg := ep.failUpdate; msg != "" {
			ep.failUpdate = ""
			e.failLocked(ep, StateUpdateFailed, msg, msg, true, ready, ready)
			return
		}
		if oom := containerOf(ep).outOfMemory(); oom != "" {
			e.failLocked(ep, StateUpdateFailed, msgUpdateFailed, "Shard 0 failed to start: "+oom, true, ready, ready)
			return
		}
		e.becomeRunningLocked(ep)
	})
}

// wakeLocked starts a replica of a scaled-to-zero endpoint (a request reached its URL).
func (e *Emulator) wakeLocked(ep *endpoint) {
	if ep.st.State != StateScaledToZero || ep.st.ScalingUp {
		return
	}
	e.setStateLocked(ep, StateScaledToZero, msgScalingUp, true, 0, 1, nil)
	ep.st.ScalingUp = true
	e.syncReplicasLocked(ep)
	e.laterLocked(ep, e.timings.ScaleUp, func() { e.becomeRunningLocked(ep) })
}
