package bot

import (
	"context"
	"sync"
	"time"
)

// SessionTx carries the person's stored session through the handling of one
// update, so that reading and writing it cost no round trips of their own:
// begin reads it with the chat's lease, finish writes it with the update's
// "done" mark — atomically, and only while the lease is still ours (so a
// handler whose lease expired cannot overwrite newer state, as with a fenced
// write). The session store finds it with SessionTxFromContext.
//
// The write lands after the replies are sent. A crash before finish leaves
// both the old session and the update not done: the re-delivered update runs
// again from the same state, as if the first attempt had never happened.
type SessionTx struct {
	key string

	mu     sync.Mutex
	blob   []byte // as read by begin, or as staged since; nil: no session
	staged bool
	ttl    time.Duration
}

type sessionTxCtxKey struct{}

// SessionTxFromContext returns the transaction of the update being handled
// if it carries the session stored under key.
func SessionTxFromContext(ctx context.Context, key string) (*SessionTx, bool) {
	tx, ok := ctx.Value(sessionTxCtxKey{}).(*SessionTx)
	if !ok || tx.key != key {
		return nil, false
	}
	return tx, true
}

// Load returns a copy of the session (nil when there is none).
func (tx *SessionTx) Load() []byte {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.blob == nil {
		return nil
	}
	return append(make([]byte, 0, len(tx.blob)), tx.blob...)
}

// Stage sets what finish writes, with its time to live.
func (tx *SessionTx) Stage(blob []byte, ttl time.Duration) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.blob = append(make([]byte, 0, len(blob)), blob...)
	tx.staged, tx.ttl = true, ttl
}

// Unstage drops a staged write (the session was erased meanwhile).
func (tx *SessionTx) Unstage() {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.blob, tx.staged = nil, false
}

// write returns what finish must write, if anything.
func (tx *SessionTx) write() (key string, blob []byte, ttl time.Duration, ok bool) {
	if tx == nil {
		return "", nil, 0, false
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.key, tx.blob, tx.ttl, tx.staged
}
