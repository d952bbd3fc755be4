package conversation

import "slices"

// Session is one person's stored session as a transport read it along
// with its own bookkeeping, for Runner.HandleSession: the Telegram
// transport reads it with the chat's lease and writes what was staged with
// the update's done mark, only while the lease is still its own (so a
// handler that stalled past its lease cannot overwrite newer state). The
// session then costs no Redis round trip of its own.
//
// A Session belongs to one input: the transport reads Staged after
// HandleSession has returned, never concurrently with it.
type Session struct {
	blob   []byte // as read, or as staged since; nil: none
	staged bool
}

// NewSession is the session a transport read (nil: none stored).
func NewSession(blob []byte) *Session {
	if blob == nil {
		return &Session{}
	}
	return &Session{blob: slices.Clone(blob)}
}

// Staged returns the session the transport must write, and whether there
// is one: false when the input failed, or erased the person (the store
// has erased them already).
func (s *Session) Staged() (blob []byte, ok bool) {
	if !s.staged {
		return nil, false
	}
	return slices.Clone(s.blob), true
}

// Load returns a copy of the session as read or as staged since (nil when
// there is none).
func (s *Session) Load() []byte {
	if s.blob == nil {
		return nil
	}
	return append(make([]byte, 0, len(s.blob)), s.blob...) // non-nil even when empty
}

// Stage sets the session the transport writes.
func (s *Session) Stage(blob []byte) { s.blob, s.staged = slices.Clone(blob), true }

func (s *Session) unstage() { s.blob, s.staged = nil, false }
