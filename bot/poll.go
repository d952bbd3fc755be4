package bot

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"putokaz/internal/backoff"
)

type getUpdatesParams struct {
	Offset         int64    `json:"offset,omitempty"`
	Limit          int      `json:"limit,omitempty"`
	Timeout        int      `json:"timeout"`
	AllowedUpdates []string `json:"allowed_updates,omitempty"`
}

// poll is the long-polling loop. getUpdates confirms every update below the
// offset it is given, so the offset moves past an update only after the
// update is handled (the library's loop confirms before handling, which loses
// updates on a crash). A batch is handled with the chats in parallel and each
// chat's updates in order, through the same Dispatcher as the webhook. If an
// update fails, the offset stops at it: the next call fetches it again with
// the ones after it, which are then skipped as duplicates.
func (s *Server) poll(ctx context.Context) {
	var offset, confirmed int64
	failures := 0
	pause := func() {
		failures++
		_ = backoff.Wait(ctx, s.sender.backoff(min(failures, 6)))
	}
	for ctx.Err() == nil {
		var raws []json.RawMessage
		err := s.sender.Call(ctx, "getUpdates", 0, getUpdatesParams{
			Offset: offset, Limit: 100, Timeout: int(s.cfg.Limits.PollTimeout / time.Second), AllowedUpdates: allowedUpdates,
		}, &raws)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, tgbot.ErrorConflict) {
				s.log.Error("getUpdates conflict: another process is polling with this bot token, or a webhook is set; "+
					"only one poller per token is possible", "err", err)
			} else {
				s.log.Warn("getUpdates failed; retrying", "err", err)
			}
			pause()
			continue
		}
		confirmed = offset
		if len(raws) == 0 {
			failures = 0
			continue
		}
		next, ok := s.handleBatch(ctx, raws)
		if next > offset {
			offset = next
		}
		if ok {
			failures = 0
		} else {
			pause()
		}
	}
	if offset > confirmed {
		// Confirm what was handled so a restart does not fetch it again
		// (only deduplication would stop it from being handled twice).
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var ignore []json.RawMessage
		if err := s.sender.Call(cctx, "getUpdates", 0, getUpdatesParams{Offset: offset, Limit: 1}, &ignore); err != nil {
			s.log.Warn("could not confirm handled updates on shutdown; they will be fetched again and skipped", "err", err)
		}
	}
}

// handleBatch handles one getUpdates batch and returns the next offset: one
// past the last update if all were handled, else the first unhandled one.
func (s *Server) handleBatch(ctx context.Context, raws []json.RawMessage) (next int64, ok bool) {
	type item struct {
		u  *models.Update
		ok bool
	}
	items := make([]item, 0, len(raws))
	var last int64
	undecodable := false
	for _, raw := range raws {
		u, lenient, err := decodeUpdate(raw)
		if err != nil {
			// Without an update_id it cannot be confirmed on its own; the
			// backoff keeps a batch of only such updates from spinning.
			s.log.Error("getUpdates returned an undecodable update; skipped", "err", err)
			undecodable = true
			continue
		}
		if lenient {
			s.log.Warn("update only partly decodable (a newer Bot API type?); handled as unsupported content", "update_id", u.ID)
		}
		items = append(items, item{u: u})
		last = max(last, u.ID)
	}
	// Group by chat, keeping each chat's order.
	var order []string
	groups := map[string][]int{}
	for i, it := range items {
		key := ""
		if in := classify(it.u, s.cfg.StaffGroups, s.sender.BotUsername()); in.act != actIgnore {
			key = chatKey(in.chatID)
		}
		if _, seen := groups[key]; !seen {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	var wg sync.WaitGroup
	for _, key := range order {
		idx := groups[key]
		wg.Go(func() {
			for _, i := range idx {
				if err := s.d.Process(ctx, items[i].u); err != nil {
					// Later updates of this chat must wait for this one.
					s.log.Warn("update not handled; it will be fetched again", "update_id", items[i].u.ID, "err", err)
					return
				}
				items[i].ok = true
			}
		})
	}
	wg.Wait()
	next = last + 1
	ok = !undecodable
	for _, it := range items {
		if !it.ok && it.u.ID < next {
			next, ok = it.u.ID, false
		}
	}
	return next, ok
}
