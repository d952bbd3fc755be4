package app

import (
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/conversation"
	"putokaz/internal/keys"
	"putokaz/internal/subscribe"
)

// Subscriptions to topic updates (issue 17): the store a conversation's
// subscribe effects go to, in Redis when the sessions are there, else in
// memory (the terminal chat, the playground, a bot without Redis).

// newSubscriptions returns the subscriptions store and the effect handler
// that applies the conversation's subscribe effects to it before next.
func newSubscriptions(rdb redis.UniversalClient, k keys.Keys, next conversation.EffectHandler) (subscribe.Store, *subscribe.Handler) {
	var store subscribe.Store
	if rdb != nil {
		store = subscribe.NewRedis(rdb, k, subscribe.DefaultTTL, time.Now)
	} else {
		store = subscribe.NewMemory(subscribe.DefaultTTL, time.Now)
	}
	return store, subscribe.NewHandler(store, next)
}
