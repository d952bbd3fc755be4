// Package store keeps per-person session state: in Redis in production and
// in memory for the local playground. Both implement Sessions.
//
// The engine encodes and decodes the blob; this package never looks inside
// it, and its errors never contain the user ID or the blob (personal data).
package store

import (
	"context"
	"errors"
)

// Sessions stores one opaque blob per person (the engine encodes/decodes it).
// Implementations are safe for concurrent use. Blobs are copied in and out:
// callers may reuse or modify their buffers.
type Sessions interface {
	// Load returns the stored blob, or (nil, nil) when there is none (never
	// saved, expired or deleted).
	Load(ctx context.Context, user string) ([]byte, error)
	// Save stores blob and sets/refreshes its TTL.
	Save(ctx context.Context, user string, blob []byte) error
	// Delete erases everything stored about user (the /delete command).
	Delete(ctx context.Context, user string) error
}

// ErrEmptyUser is returned for an empty user ID: it is always a caller bug,
// and storing under it would mix unrelated people.
var ErrEmptyUser = errors.New("empty user id")

// ErrBadTTL is returned by the constructors for a TTL that is not positive:
// session data is personal and must expire.
var ErrBadTTL = errors.New("session ttl must be positive")

func checkUser(user string) error {
	if user == "" {
		return ErrEmptyUser
	}
	return nil
}
