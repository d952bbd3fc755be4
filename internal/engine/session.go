package engine

import (
	"encoding/json"
	"fmt"
)

// EncodeSession serialises a session for storage.
func EncodeSession(s *Session) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode session: %w", err)
	}
	return b, nil
}

// DecodeSession reads a stored session. A blob from another version or a
// damaged one is an error: the caller starts over with Engine.Recover.
func DecodeSession(b []byte) (*Session, error) {
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	if s.V != SessionVersion {
		return nil, fmt.Errorf("decode session: version %d, want %d", s.V, SessionVersion)
	}
	return &s, nil
}
