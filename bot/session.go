package bot

import "putokaz/internal/conversation"

// sessionWrite is the person's session that finish writes with the
// update's done mark, atomically and only while the chat's lease is still
// ours (so a handler whose lease expired cannot overwrite newer state):
// what the conversation staged in the conversation.Session that begin read.
//
// The write lands after the replies are sent. A crash before finish leaves
// both the old session and the update not done: the re-delivered update
// runs again from the same state, as if the first attempt had never
// happened.
type sessionWrite struct {
	key  string
	blob []byte
}

// staged is the write finish must do for sess, stored under key: nil when
// there is none (no session was read, the input failed, or it erased the
// person).
func staged(key string, sess *conversation.Session) *sessionWrite {
	if sess == nil {
		return nil
	}
	blob, ok := sess.Staged()
	if !ok {
		return nil
	}
	return &sessionWrite{key: key, blob: blob}
}
