package telegramstaff

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
	"putokaz/internal/lease"
	"putokaz/referral"
)

// Lock returns a referral.PersonLock over the Telegram transport's per-chat
// lease (keys.ChatLease, taken and released as bot/state.go does, through
// internal/lease). Holding it while the conversation shows a staff event
// means the event and an update of the person being handled on another
// replica never overwrite each other's session. wait bounds how long to
// wait for the person's own update.
func Lock(rdb redis.UniversalClient, k keys.Keys, ttl, wait time.Duration) referral.PersonLock {
	return func(ctx context.Context, user string) (func(), error) {
		unlock, err := lease.Wait(ctx, rdb, k.ChatLease(user), lease.NewToken(), ttl, wait)
		if err != nil {
			return nil, fmt.Errorf("person lock: %w", err)
		}
		return unlock, nil
	}
}
