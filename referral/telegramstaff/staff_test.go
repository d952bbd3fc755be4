package telegramstaff

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"

	"putokaz/bot"
	"putokaz/referral"
)

// The outbox decides on the core's errors: each go-telegram error must
// arrive as the one it means, with the original still in the chain.
func TestStaffErrMapsTelegramErrors(t *testing.T) {
	wrapped := func(err error) error { return fmt.Errorf("telegram sendMessage: %w", err) }
	for _, tc := range []struct {
		name string
		in   error
		want error
	}{
		{"bad request", wrapped(fmt.Errorf("%w: message thread not found", tgbot.ErrorBadRequest)), referral.ErrRejected},
		{"forbidden", wrapped(fmt.Errorf("%w: bot was kicked", tgbot.ErrorForbidden)), referral.ErrForbidden},
		{"not found", wrapped(fmt.Errorf("%w: not found", tgbot.ErrorNotFound)), referral.ErrNotFound},
		{"retries ran out", fmt.Errorf("telegram sendMessage: %w after 5 attempts: %w", bot.ErrGaveUp, errors.New("502")),
			referral.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := staffErr(tc.in)
			if !errors.Is(got, tc.want) || !errors.Is(got, tc.in) {
				t.Errorf("staffErr(%v) = %v; want it to wrap %v and the original", tc.in, got, tc.want)
			}
		})
	}
	// A 429 is a rate limit however it is wrapped (also inside a give-up).
	te := &tgbot.TooManyRequestsError{Message: "Too Many Requests", RetryAfter: 7}
	var rl *referral.RateLimitError
	got := staffErr(fmt.Errorf("telegram sendMessage: %w after 5 attempts: %w", bot.ErrGaveUp, te))
	if !errors.As(got, &rl) || rl.RetryAfter != 7*time.Second || !errors.Is(got, te) {
		t.Errorf("staffErr(429) = %#v; want a RateLimitError of 7s wrapping it", got)
	}
	// Anything else passes unchanged; nil stays nil.
	plain := context.DeadlineExceeded
	if got := staffErr(plain); got != plain {
		t.Errorf("staffErr(%v) = %v; want it unchanged", plain, got)
	}
	if staffErr(nil) != nil {
		t.Error("staffErr(nil) is not nil")
	}
}

// A person who blocked the bot is ErrBlocked, whether the Sender knew it
// (ErrInactive) or Telegram said so (403).
func TestBlocked(t *testing.T) {
	for _, in := range []error{bot.ErrInactive, fmt.Errorf("%w: bot was blocked by the user", tgbot.ErrorForbidden)} {
		if got := blocked(in); !errors.Is(got, referral.ErrBlocked) || !errors.Is(got, in) {
			t.Errorf("blocked(%v) = %v; want ErrBlocked wrapping it", in, got)
		}
	}
	if got := blocked(fmt.Errorf("%w: chat not found", tgbot.ErrorBadRequest)); errors.Is(got, referral.ErrBlocked) ||
		!errors.Is(got, referral.ErrRejected) {
		t.Errorf("blocked(400) = %v; want ErrRejected, not ErrBlocked", got)
	}
}

// The stream names are Redis key parts: a staff group's outbox must keep
// the name it had before the staff side moved here.
func TestStreamAndPersonChat(t *testing.T) {
	s := New(nil)
	if got := s.Stream(-1001001); got != "tg:-1001001" {
		t.Errorf("Stream = %q, want tg:-1001001", got)
	}
	if chat, ok := s.PersonChat("tg:501"); !ok || chat != 501 {
		t.Errorf("PersonChat(tg:501) = %d, %v", chat, ok)
	}
	for _, user := range []string{"pg:501", "tg:", "tg:-5", "501"} {
		if _, ok := s.PersonChat(user); ok {
			t.Errorf("PersonChat(%q) is a chat", user)
		}
	}
}
