// Package lease says who may work on something now: a Redis lease for work
// shared between replicas (redis.go) and a keyed lock for work within one
// process (local.go). Both sides of the code that need one — the Telegram
// transport's per-chat lease, the referral outbox's per-stream lease, the
// person lock a staff event takes, the playground's and the conversation's
// per-person locks — use these; none keeps its own.
//
// A Redis lease is one key holding its holder's random token, with a TTL.
// The token is the fence: renewing, taking over and releasing all compare
// it first, so a holder whose lease expired and was taken never extends or
// deletes the new holder's. The key is built by the caller in
// internal/keys; scripts that touch a second key (AcquireUnless) need it in
// the same hash slot, as internal/keys builds a chat's keys.
//
// The Telegram transport's begin and finish scripts (bot/state.go) take and
// release the chat lease too, but as one atomic step with the update's
// bookkeeping and the session; they stay there (see the comment of
// updateState).
package lease
