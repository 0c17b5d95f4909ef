// Package audit keeps the append-only JSON-lines log of mutating tool calls: an fsynced intent line
// before each change sent upstream and one line per call, with secrets redacted by the log itself.
package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Off is the path value that disables auditing.
const Off = "off"

// Outcomes of an audited call.
const (
	OutcomeOK                   = "ok"
	OutcomeError                = "error"
	OutcomeRefused              = "refused"
	OutcomeConfirmationRequired = "confirmation_required"
	// OutcomeIntent is written, fsynced, before a call sends a change upstream (Action says which);
	// the call's own line follows once it is over. An intent line without one is a call the process
	// did not live to finish.
	OutcomeIntent = "intent"
	// OutcomeUnknown: a change got no answer and a re-read could not show it took effect (Note).
	OutcomeUnknown = "unknown"
)

type callerKey struct{}

// WithCaller returns ctx naming the Hugging Face account a call acts as (HF token pass-through, OAuth),
// for the Caller of the entries written for it.
func WithCaller(ctx context.Context, account string) context.Context {
	return context.WithValue(ctx, callerKey{}, account)
}

// CallerFrom returns the account stored by WithCaller, or "".
func CallerFrom(ctx context.Context) string {
	s, _ := ctx.Value(callerKey{}).(string)
	return s
}

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit: log is closed")

// Entry is one audited tool call. Arguments are redacted by Append (see Redact).
type Entry struct {
	Time      time.Time      `json:"time"`
	Client    string         `json:"client,omitempty"` // client name/version from initialize
	Caller    string         `json:"caller,omitempty"` // the Hub account that acted, when callers act as themselves
	Transport string         `json:"transport,omitempty"`
	Tool      string         `json:"tool"`
	Namespace string         `json:"namespace,omitempty"`
	Endpoint  string         `json:"endpoint,omitempty"`
	Arguments map[string]any `json:"arguments,omitempty"`
	Outcome   string         `json:"outcome"`
	Action    string         `json:"action,omitempty"` // intent lines: the change about to be sent
	Error     string         `json:"error,omitempty"`
	Note      string         `json:"note,omitempty"` // e.g. what a re-read found after a lost answer
	RequestID string         `json:"request_id,omitempty"`
}

// Log is an open audit log. A nil *Log, and the Log returned for "off", accept every call and write
// nothing, so callers need no nil checks.
type Log struct {
	mu       sync.Mutex
	f        *os.File
	path     string
	closed   bool
	redactor *Redactor
}

// DefaultPath returns $XDG_STATE_HOME/hf-endpoints-mcp/audit.jsonl, falling back to
// ~/.local/state/hf-endpoints-mcp/audit.jsonl when XDG_STATE_HOME is unset or not absolute.
func DefaultPath() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "hf-endpoints-mcp", "audit.jsonl"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("audit: no default log path: set XDG_STATE_HOME or HOME, or pass a path: %w", err)
	}
	return filepath.Join(home, ".local", "state", "hf-endpoints-mcp", "audit.jsonl"), nil
}

// Open opens the audit log at path for appending, creating missing parent directories (0700) and the
// file (0600). An existing file with any other permission bits is tightened to 0600 (the log holds
// what agents did, so it stays private); a path that is a symbolic link or not a regular file is refused. "off" returns a
// disabled Log; "" means DefaultPath.
func Open(path string) (*Log, error) {
	if path == Off {
		return &Log{closed: true, redactor: NewRedactor()}, nil
	}
	if path == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit: create directory for %s: %w", path, err)
	}
	// Refuse symlinks, FIFOs and devices before opening: a symlink would have its target written to
	// and chmod'ed, opening a FIFO for writing would block.
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil, symlinkError(path)
	} else if err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("audit: %s is not a regular file (mode %s); pass a file path or %q", path, fi.Mode(), Off)
	}
	// O_NOFOLLOW closes the race between the check above and the open.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, symlinkError(path)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	if err := secureFile(f, path); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := terminatePartialLine(path, f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return &Log{f: f, path: path, redactor: NewRedactor()}, nil
}

// symlinkError refuses an audit log path that is a symbolic link.
func symlinkError(path string) error {
	return fmt.Errorf("audit: %s is a symbolic link, which the audit log does not follow (its target would be "+
		"written to and made 0600); pass the real file's path, or %q", path, Off)
}

// secureFile checks f is a regular file and sets its mode to exactly 0600 (umask may have produced
// less, an older file may have more).
func secureFile(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("audit: stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("audit: %s is not a regular file (mode %s)", path, fi.Mode())
	}
	if fi.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			return fmt.Errorf("audit: %s has mode %#o and could not be tightened to 0600: %w", path, fi.Mode().Perm(), err)
		}
	}
	return nil
}

// terminatePartialLine ends a line left unfinished by a crash mid-write, so the next entry starts on
// a line of its own. The fragment itself is kept: an audit log is never rewritten.
func terminatePartialLine(path string, f *os.File) error {
	r, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("audit: read %s: %w", path, err)
	}
	defer r.Close()
	last := make([]byte, 1)
	if _, err := r.Seek(-1, io.SeekEnd); err != nil {
		return nil // empty file
	}
	if _, err := io.ReadFull(r, last); err != nil || last[0] == '\n' {
		return nil
	}
	if _, err := f.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("audit: terminate partial line in %s: %w", path, err)
	}
	return nil
}

// Path returns the file the log writes to ("" when disabled).
func (l *Log) Path() string {
	if l == nil {
		return ""
	}
	return l.path
}

// Enabled reports whether entries are written anywhere.
func (l *Log) Enabled() bool { return l != nil && l.f != nil }

// AddSecrets registers literal secrets (e.g. the HF token) to scrub from every string in later entries.
func (l *Log) AddSecrets(secrets ...string) {
	if l == nil {
		return
	}
	l.redactor.Add(secrets...)
}

// AddCallerSecret registers a caller's token (HF token pass-through) to scrub from later entries. The
// most recent callers' tokens are kept (their number is bounded); any Hugging Face token is scrubbed
// whether registered or not.
func (l *Log) AddCallerSecret(secret string) {
	if l == nil {
		return
	}
	l.redactor.AddRecent(secret)
}

// Append redacts e (sensitive argument keys, then literal secrets in every string), writes it as one JSON
// line and fsyncs before returning. A zero Time means now. Concurrent calls are serialized, so lines never
// interleave. Arguments that cannot be encoded as JSON are replaced by a note rather than losing the entry.
func (l *Log) Append(e Entry) error {
	if !l.Enabled() {
		return nil
	}
	if e.Tool == "" || e.Outcome == "" {
		return fmt.Errorf("audit: entry needs Tool and Outcome (got tool %q, outcome %q)", e.Tool, e.Outcome)
	}
	line, err := l.encode(e)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	// One write per line: with O_APPEND the kernel places it atomically at the end of the file.
	if _, err := l.f.Write(line); err != nil {
		return fmt.Errorf("audit: write %s: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit: sync %s: %w", l.path, err)
	}
	return nil
}

// encode redacts e and returns its JSON line, newline included.
func (l *Log) encode(e Entry) ([]byte, error) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	args, err := Redact(e.Arguments)
	if err != nil {
		// Still record the call: losing the entry would be worse than losing its arguments.
		args = map[string]any{"unrecorded": err.Error()}
	}
	e.Arguments = l.redactor.scrubMap(args)
	for _, s := range []*string{&e.Client, &e.Transport, &e.Tool, &e.Namespace, &e.Endpoint, &e.Outcome, &e.Action, &e.Error, &e.Note, &e.RequestID} {
		*s = l.redactor.Scrub(*s)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("audit: encode entry for tool %s: %w", e.Tool, err)
	}
	return buf.Bytes(), nil
}

// Close closes the file. It is safe to call more than once and on a nil or disabled Log.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.f == nil {
		l.closed = true
		return nil
	}
	l.closed = true
	return l.f.Close()
}
