package referral_test

import (
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/bot"
	"putokaz/internal/keys"
	"putokaz/referral"
	"putokaz/referral/telegramstaff"
)

// The desk's tests drive it through its real Telegram side.
func init() {
	referral.TelegramSide.Staff = func(s *bot.Sender) referral.Staff { return telegramstaff.New(s) }
	referral.TelegramSide.Handler = func(d *referral.Desk, s *bot.Sender, botUsername func() string) bot.StaffHandler {
		return telegramstaff.NewHandler(d, s, botUsername)
	}
	referral.TelegramSide.Lock = func(rdb redis.UniversalClient, k keys.Keys, ttl, wait time.Duration) referral.PersonLock {
		return telegramstaff.Lock(rdb, k, ttl, wait)
	}
}
