package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Progress of an update's replies, so that a killed process repeats at most
// the message in flight (README, "Running on Telegram").
//
// The replies of an update are sent in groups: a message together with the
// edits of that same message that follow it (render's EditPrev ops: the
// buttons attached after a long text). After each group but the last, the
// number of groups sent so far is recorded in the chat's updates hash
// (keys.ChatUpdates, field <update_id>:s) — fenced by the lease token and
// before the next group is sent, so Redis knows of every group but at most
// the one in flight. When the process is killed mid-update, the re-delivery
// that takes the lease over (recover.go) finds that count in begin,
// handles the update again from the session it started from (the same
// input on the same state gives the same replies; effects are idempotent)
// and sends only the groups after it: the group in flight at the kill is
// the only one a person can see twice.
//
// Cost: nothing for an update with one group (the common case: one answer
// with its buttons); one script run per further group otherwise, on the
// auto-pipeliner, between two Bot API calls that each take far longer.
// The done mark (finish) drops the field; an attempt that fails with
// replies left stores them as its outbox and drops the field too, so the
// count then counts groups of the outbox. /delete erases the hash with the
// chat's other keys.

// replyGroups returns where each group of ops starts: at the first op and at
// every op that is not an edit of the message before it.
func replyGroups(ops []op) []int {
	var starts []int
	for i, o := range ops {
		if i == 0 || !o.EditPrev {
			starts = append(starts, i)
		}
	}
	return starts
}

// errProgressLeaseLost: recording progress found the chat's lease taken by
// another handler (which believes this one dead and sends the replies
// itself): this attempt sends nothing more.
var errProgressLeaseLost = errors.New("chat lease taken over while sending replies")

// sendReplies sends ops through the Sender like runOps, skipping the first
// skip groups (sent by an earlier attempt that was cut off) and recording
// progress after every group but the last when track is set. It returns
// how many ops are done (skipped ones included; ops[n:] are left), the
// reply-keyboard effect of the done ones, and the error that stopped it.
func (d *Dispatcher) sendReplies(ctx context.Context, chat string, updateID int64, token string, ops []op, skip int,
	marks *updateMarks, track bool) (n int, kbd kbdEffect, err error) {
	starts := replyGroups(ops)
	if skip > len(starts) {
		skip = len(starts)
	}
	if skip > 0 {
		n = len(ops)
		if skip < len(starts) {
			n = starts[skip]
		}
		for _, o := range ops[:n] {
			if o.Kbd != kbdNone {
				kbd = o.Kbd
			}
		}
		d.m.repliesSkipped.Add(float64(skip))
		d.log.Info("update handled again after its handler was cut off: replies already sent are skipped",
			"update_id", updateID, "groups_skipped", skip, "groups", len(starts))
	}
	recorded := 0 // IDs of marks already recorded with progress
	for g := skip; g < len(starts); g++ {
		end := len(ops)
		if g+1 < len(starts) {
			end = starts[g+1]
		}
		done, k, err := d.sender.runOps(ctx, ops[n:end], d.log)
		if k != kbdNone {
			kbd = k
		}
		n += done
		if err != nil {
			return n, kbd, err
		}
		if !track || end == len(ops) {
			continue
		}
		var ids []int
		if marks != nil {
			_, _, sent := marks.state()
			ids, recorded = sent[recorded:], len(sent)
		}
		if err := d.recordProgress(ctx, chat, updateID, token, g+1, ids); err != nil {
			return n, kbd, err
		}
	}
	return n, kbd, nil
}

// recordProgress records that sent groups are out. A Redis failure is
// logged and the sending goes on (a kill now would repeat more than the
// message in flight, which is better than keeping the person waiting); a
// lease found taken stops the sending.
func (d *Dispatcher) recordProgress(ctx context.Context, chat string, updateID int64, token string, sent int, ids []int) error {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	ok, err := d.state.progress(pctx, chat, updateID, token, sent, ids)
	switch {
	case err != nil:
		d.m.redisErrors.WithLabelValues("progress").Inc()
		d.log.Warn("could not record the progress of an update's replies", "update_id", updateID, "err", err)
	case !ok:
		return retryLater("lease_lost", fmt.Errorf("update %d: %w", updateID, errProgressLeaseLost))
	}
	return nil
}

// KEYS: lease, updates hash, messages
// ARGV: token, update id, groups sent, update TTL ms, message IDs to add, now (s), messages kept,
//
//	messages TTL ms, messages max age (s)
var progressScript = redis.NewScript(luaMessages + `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {ARGV[1], 0}
end
redis.call('HSET', KEYS[2], ARGV[2] .. ':s', ARGV[3])
if redis.call('PTTL', KEYS[2]) < 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
messages(KEYS[3], ARGV[5], '', ARGV[6], ARGV[7], ARGV[8], ARGV[9])
return {ARGV[1], 1}
`)

func (s *redisState) progress(ctx context.Context, chat string, updateID int64, token string, sent int, ids []int) (bool, error) {
	ks := []string{s.k.ChatLease(chat), s.k.ChatUpdates(chat), s.k.ChatMessages(chat)}
	v, err := s.reply(progressScript.Run(ctx, s.scripts, ks, token, strconv.FormatInt(updateID, 10), sent, s.dedupeMS,
		joinIDs(ids), strconv.FormatInt(time.Now().Unix(), 10), keptMessagesArg, messagesTTLArg, messagesAgeArg), token)
	if err != nil {
		return false, fmt.Errorf("record reply progress: %w", err)
	}
	n, _ := v[0].(int64)
	return n == 1, nil
}

func (s *memoryState) progress(_ context.Context, chat string, updateID int64, token string, sent int, ids []int) (bool, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.leases[chat]; !ok || l.token != token || now.After(l.expires) {
		return false, nil
	}
	u := s.updates[memUpdateKey{chat, updateID}]
	if u == nil {
		u = &memUpdate{expires: now.Add(s.dedupe)}
		s.updates[memUpdateKey{chat, updateID}] = u
	}
	u.sent = sent
	s.recordLocked(chat, ids, nil, now)
	return true, nil
}
