package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
	"putokaz/internal/lease"
)

// updateState is the per-chat bookkeeping that makes delivery at-least-once
// with an exactly-once effect, and serialises one chat's updates across
// replicas. Each update costs two round trips: begin and finish, which also
// read and write the person's session (session.go).
//
// begin, atomically:
//   - if the update is already done → beginDone (a re-delivery: skip it);
//   - if another handler holds the chat's lease → beginBusy with the
//     holder's token (wait and retry, or take the lease over when its
//     holder is gone: takeOver); a lease holding our own token is ours:
//     begin run twice (a pipeline that Redis's client re-sent after a
//     dropped connection) does not lock the chat out until the lease
//     expires;
//   - else take the lease (a random token, with a TTL), count the attempt,
//     optionally clear the chat's "inactive" mark, and return the attempt
//     number, whether a reply keyboard is showing, replies left unsent by
//     a failed earlier attempt, and the session (when asked for).
//
// finish, atomically: if a session write is staged and the lease is no
// longer ours, nothing (the update must run again: leaseLost); else write
// the session, mark the update done (or store the unsent replies), record
// the reply keyboard state, and release the lease if the token still
// matches (compare-and-delete: a handler whose lease expired must not
// release someone else's).
//
// finish with finishArgs.flush records, later, an end that could not be
// recorded when the update ended (Redis unreachable: see pendingRecords).
// The replies are sent by then, so the done mark is written whoever holds
// the lease now, unless the update is already in the done set. The session
// write goes with it only if no other handler can have written the session
// since: the lease is still ours, or it is gone and no later update of the
// chat is done (update_ids grow; after a Redis restart that lost the data,
// the done set holds only what was handled since).
//
// takeOver replaces the lease with token if it still holds holder
// (compare-and-set): the dispatcher takes over the lease of a handler that
// is gone (see Dispatcher.holderGone) instead of waiting for it to expire.
//
// renew and takeOver are plain leases (internal/lease, one round trip each,
// off the hot path). begin and finish take and release the same lease
// inside scripts that also do the update's bookkeeping and read or write
// the session, run through the auto-pipeliner with the token echoed: one
// atomic step each, so they keep their own Lua.
type updateState interface {
	begin(ctx context.Context, chat string, updateID int64, token string, reactivate bool, sessionKey string) (beginResult, error)
	finish(ctx context.Context, chat string, updateID int64, token string, f finishArgs) (leaseState, error)
	renew(ctx context.Context, chat, token string) (bool, error)
	// messages returns the IDs of the chat's messages recorded for a quick
	// exit (younger than 48 hours, the newest keptMessages).
	messages(ctx context.Context, chat string) ([]int, error)
	// record adds IDs of messages sent to the chat outside the handling of
	// one of its updates (staff replies, notices); an update's own go in
	// with finish.
	record(ctx context.Context, chat string, ids []int) error
	takeOver(ctx context.Context, chat, holder, token string) (bool, error)
	// progress records, while the lease holds token, that the first sent
	// groups of the update's replies have gone out (recover_progress.go),
	// with the IDs of the messages sent since the last record (for the
	// quick exit). It reports false, recording nothing, if the lease is
	// not ours.
	progress(ctx context.Context, chat string, updateID int64, token string, sent int, ids []int) (bool, error)
}

// leaseState is what finish found: the lease still ours (and released),
// gone (expired unclaimed, or erased by /delete: harmless), taken by
// another handler after ours expired, or not ours while a session write was
// staged — then nothing was recorded and the update must run again.
type leaseState int

const (
	leaseHeld leaseState = iota
	leaseGone
	leaseTaken
	leaseLost
)

type beginStatus int

const (
	beginAcquired beginStatus = iota
	beginDone
	beginBusy
)

type beginResult struct {
	status   beginStatus
	attempt  int           // 1 for the first attempt (acquired only)
	keyboard bool          // a reply keyboard is showing (acquired only)
	outbox   []byte        // unsent replies of a failed attempt (acquired only)
	session  []byte        // the stored session, nil if none (acquired, when asked for)
	busyFor  time.Duration // remaining lease time of the holder (busy only)
	holder   string        // the holder's token (busy only; see leaseToken)
	// checkErr: the chat had no dedupe set and looking for an erased
	// update's mark failed; the update is handled (fail open) and the
	// dispatcher reports it.
	checkErr error
	// sent: reply groups (see replyGroups) an earlier attempt of the
	// update recorded as sent before it was cut off: of outbox if there
	// is one, else of the replies the conversation gives (acquired only).
	sent int
}

type finishArgs struct {
	done    bool
	outbox  []byte // when !done: replies still to send on the next attempt
	kbd     kbdEffect
	session *sessionWrite // if set, written with the rest (only while the lease is ours)
	// sent are IDs of the chat's messages to record for a quick exit (the
	// person's own and the replies sent); forget are IDs a quick exit
	// deleted.
	sent, forget []int
	// erased: the update erased its person (/delete). finish then leaves
	// nothing that names the chat — no dedupe set, no attempt count, no
	// keyboard flag, no message IDs — and marks the update done under
	// keys.UpdateErased instead; everything else above is ignored.
	erased bool
	flush  bool // recording a pending end later (see updateState)
}

// The quick exit: Telegram lets a bot delete its own and the person's
// messages in a private chat for 48 hours (deleteMessages). A chat keeps
// the IDs of its newest keptMessages messages younger than that.
const (
	keptMessages   = 200
	messagesMaxAge = 48 * time.Hour
)

// The scripts touch only keys of one chat, which share a hash tag: legal in
// Redis Cluster.
//
// A done update's id goes into the chat's done set (keys.ChatDone); its
// attempt count and unsent replies (keys.ChatUpdates) are dropped. When the
// set holds more than 2×keptUpdates ids, finish drops all but the newest
// keptUpdates. A webhook re-delivery is always among the chat's newest few
// (Telegram sends a chat's updates in sequence and holds the later ones back
// while it re-sends one), but polling fetches again every update after one
// that failed, or after a crash every update of the unconfirmed batch: up to
// 100 (getUpdates' limit), which may all be one chat's. A set of integers is
// searched by bisection, so its size costs Redis little.
const keptUpdates = 100

// luaMessages records and forgets message IDs in a chat's set
// (keys.ChatMessages): forget and add are space-separated IDs, now is Unix
// seconds; what is older than maxAge seconds or beyond the newest kept goes,
// and the set expires ttl ms after the last addition.
const luaMessages = `
local function messages(key, add, forget, now, kept, ttl, maxAge)
  for id in string.gmatch(forget, '%d+') do
    redis.call('ZREM', key, id)
  end
  local added = false
  for id in string.gmatch(add, '%d+') do
    redis.call('ZADD', key, now, id)
    added = true
  end
  if added then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (tonumber(now) - tonumber(maxAge)))
    redis.call('ZREMRANGEBYRANK', key, 0, -(tonumber(kept) + 1))
    redis.call('PEXPIRE', key, ttl)
  end
end
`

var (
	// KEYS: done set, updates hash, lease, keyboard flag, inactive flag[, session]
	// ARGV: update id, token, lease ms, update TTL ms, reactivate (1/0)
	beginScript = redis.NewScript(`
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return {ARGV[2], 1}
end
if not redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[3]) then
  local holder = redis.call('GET', KEYS[3])
  if holder ~= ARGV[2] then
    return {ARGV[2], 2, redis.call('PTTL', KEYS[3]), holder or ''}
  end
end
local n = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
local out = ''
local sent = 0
if n == 1 then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
else
  out = redis.call('HGET', KEYS[2], ARGV[1] .. ':o') or ''
  sent = tonumber(redis.call('HGET', KEYS[2], ARGV[1] .. ':s')) or 0
end
if ARGV[5] == '1' then
  redis.call('DEL', KEYS[5])
end
local sess = false
if KEYS[6] then
  sess = redis.call('GET', KEYS[6])
end
return {ARGV[2], 0, n, redis.call('EXISTS', KEYS[4]), out, 1 - redis.call('EXISTS', KEYS[1]), sess, sent}
`)

	// KEYS: done set, updates hash, lease, keyboard flag, messages[, session]
	// ARGV: update id, token, done (1/0), outbox, update TTL ms, keyboard op (set/del/''), keyboard TTL ms,
	//       updates kept, message IDs to add, message IDs to forget, now (s), messages kept,
	//       messages TTL ms, messages max age (s), flush (1/0)[, session, session TTL ms]
	finishScript = redis.NewScript(luaMessages + `
local id = ARGV[1]
local cur = redis.call('GET', KEYS[3])
local flush = ARGV[15] == '1'
if flush and redis.call('SISMEMBER', KEYS[1], id) == 1 then
  if cur == ARGV[2] then
    redis.call('DEL', KEYS[3])
  end
  return {ARGV[2], 2}
end
if KEYS[6] then
  local mine = cur == ARGV[2]
  if flush and not cur then
    mine = true
    local n = tonumber(id)
    for _, f in ipairs(redis.call('SMEMBERS', KEYS[1])) do
      if tonumber(f) > n then
        mine = false
        break
      end
    end
  end
  if mine then
    redis.call('SET', KEYS[6], ARGV[16], 'PX', ARGV[17])
  elseif not flush then
    return {ARGV[2], 3}
  end
end
messages(KEYS[5], ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14])
if ARGV[3] == '1' then
  redis.call('SADD', KEYS[1], id)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('HDEL', KEYS[2], id, id .. ':o', id .. ':s')
  local keep = tonumber(ARGV[8])
  if redis.call('SCARD', KEYS[1]) > 2 * keep then
    local ids, num = redis.call('SMEMBERS', KEYS[1]), {}
    for _, f in ipairs(ids) do
      num[f] = tonumber(f)
    end
    table.sort(ids, function(a, b) return num[a] < num[b] end)
    local old = {}
    for i = 1, #ids - keep do
      old[i] = ids[i]
    end
    redis.call('SREM', KEYS[1], unpack(old))
  end
elseif ARGV[4] ~= '' then
  redis.call('HSET', KEYS[2], id .. ':o', ARGV[4])
  redis.call('HDEL', KEYS[2], id .. ':s')
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
if ARGV[6] == 'set' then
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[7])
elseif ARGV[6] == 'del' then
  redis.call('DEL', KEYS[4])
end
if cur == ARGV[2] then
  redis.call('DEL', KEYS[3])
  return {ARGV[2], 1}
end
if not cur then
  return {ARGV[2], 2}
end
return {ARGV[2], 0}
`)

	// KEYS: done set, updates hash, lease, keyboard flag, messages, inactive flag
	// ARGV: token
	// The end of an update that erased its person: nothing of the chat is
	// left (unless another handler took the lease after ours expired: what
	// it records is newer than the erasure).
	forgetScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[3])
if cur and cur ~= ARGV[1] then
  return {ARGV[1], 0}
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], KEYS[5], KEYS[6])
if cur then
  redis.call('DEL', KEYS[3])
  return {ARGV[1], 1}
end
return {ARGV[1], 2}
`)

	// KEYS: message set; ARGV: token, IDs to add, now (s), kept, TTL ms, max age (s)
	recordScript = redis.NewScript(luaMessages + `
messages(KEYS[1], ARGV[2], '', ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return {ARGV[1], 1}
`)
)

type redisState struct {
	rdb     redis.UniversalClient
	scripts redis.Scripter // begin, finish, progress, record: rdb's auto-pipeliner, else rdb
	k       keys.Keys
	// The TTLs as the scripts take them (milliseconds), formatted once.
	leaseMS, dedupeMS, kbdMS, sessionMS string
	leaseTTL, dedupeTTL                 time.Duration
	recordSeq                           atomic.Uint64 // tokens of record's replies
}

// newRedisState runs begin and finish through go-redis's auto-pipeliner:
// the scripts of concurrent updates share one write and one read, which cut
// Redis's CPU per update by a quarter in putokaz loadtest. The
// pipeliner is experimental and matches replies to commands by position,
// so every script echoes the attempt's random token and reply() rejects a
// reply that is not ours: a mix-up fails the update (Telegram re-sends it)
// instead of handing one person's session to another.
func newRedisState(rdb redis.UniversalClient, k keys.Keys, lim Limits) *redisState {
	s := &redisState{rdb: rdb, scripts: rdb, k: k, leaseMS: ms(lim.LeaseTTL), dedupeMS: ms(lim.DedupeTTL), kbdMS: ms(lim.KeyboardTTL),
		sessionMS: ms(max(lim.SessionTTL, time.Millisecond)),
		leaseTTL:  lim.LeaseTTL, dedupeTTL: lim.DedupeTTL}
	if c, ok := rdb.(interface {
		AutoPipeline() (*redis.AutoPipeliner, error)
	}); ok {
		if ap, err := c.AutoPipeline(); err == nil {
			s.scripts = ap
		}
	}
	return s
}

// errForeignReply: a script's reply echoed another attempt's token.
var errForeignReply = errors.New("redis reply belongs to another command")

// reply checks that a script's reply starts with token and returns the rest.
func (s *redisState) reply(cmd *redis.Cmd, token string) ([]any, error) {
	v, err := cmd.Slice()
	if err != nil {
		return nil, err
	}
	if len(v) < 2 || v[0] != token {
		return nil, errForeignReply // v may hold a session: not for logs
	}
	return v[1:], nil
}

// chatKeys are KEYS[1..4] of beginScript and finishScript, then more (room
// for the session key too).
func (s *redisState) chatKeys(chat string, more ...string) []string {
	ks := append(make([]string, 0, 6), s.k.ChatDone(chat), s.k.ChatUpdates(chat), s.k.ChatLease(chat), s.k.ChatKeyboard(chat))
	return append(ks, more...)
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

func (s *redisState) begin(ctx context.Context, chat string, updateID int64, token string, reactivate bool, sessionKey string) (beginResult, error) {
	re := "0"
	if reactivate {
		re = "1"
	}
	ks := s.chatKeys(chat, s.k.ChatInactive(chat))
	if sessionKey != "" {
		ks = append(ks, sessionKey)
	}
	id := strconv.FormatInt(updateID, 10)
	v, err := s.reply(beginScript.Run(ctx, s.scripts, ks, id, token, s.leaseMS, s.dedupeMS, re), token)
	if err != nil {
		return beginResult{}, fmt.Errorf("begin update: %w", err)
	}
	code, _ := v[0].(int64)
	switch code {
	case 1:
		return beginResult{status: beginDone}, nil
	case 2:
		pttl, _ := v[1].(int64)
		r := beginResult{status: beginBusy, busyFor: time.Duration(max(pttl, 0)) * time.Millisecond}
		if len(v) > 2 {
			r.holder, _ = v[2].(string)
		}
		return r, nil
	}
	if len(v) < 6 {
		return beginResult{}, fmt.Errorf("begin update: unexpected reply %v", v)
	}
	n, _ := v[1].(int64)
	kbd, _ := v[2].(int64)
	out, _ := v[3].(string)
	fresh, _ := v[4].(int64)
	r := beginResult{status: beginAcquired, attempt: int(n), keyboard: kbd == 1}
	if out != "" {
		r.outbox = []byte(out)
	}
	if len(v) > 5 {
		if sess, ok := v[5].(string); ok {
			r.session = append(make([]byte, 0, len(sess)), sess...) // non-nil even when empty
		}
	}
	if len(v) > 6 {
		sent, _ := v[6].(int64)
		r.sent = int(sent)
	}
	if fresh == 1 {
		// The chat has no dedupe set: a new chat, one idle for the dedupe
		// TTL — or one whose person this very update erased, delivered
		// again. Only then is the erased mark looked up: one more round
		// trip for a chat's first update, none on the hot path.
		erased, err := s.rdb.Exists(ctx, s.k.UpdateErased(updateID)).Result()
		switch {
		case err != nil:
			r.checkErr = fmt.Errorf("look up erased update: %w", err)
		case erased == 1:
			if _, err := s.forget(ctx, chat, token); err != nil {
				return beginResult{}, fmt.Errorf("begin update: %w", err)
			}
			return beginResult{status: beginDone}, nil
		}
	}
	return r, nil
}

// forget removes every transport key of the chat, releasing the lease if
// it is ours (see forgetScript).
func (s *redisState) forget(ctx context.Context, chat, token string) (leaseState, error) {
	ks := s.chatKeys(chat, s.k.ChatMessages(chat), s.k.ChatInactive(chat))
	v, err := s.reply(forgetScript.Run(ctx, s.scripts, ks, token), token)
	if err != nil {
		return leaseTaken, fmt.Errorf("forget the chat: %w", err)
	}
	switch n, _ := v[0].(int64); n {
	case 1:
		return leaseHeld, nil
	case 2:
		return leaseGone, nil
	}
	return leaseTaken, nil
}

// joinIDs formats message IDs for the scripts.
func joinIDs(ids []int) string {
	b := make([]byte, 0, 8*len(ids))
	for i, id := range ids {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return string(b)
}

var (
	keptMessagesArg = strconv.Itoa(keptMessages)
	messagesTTLArg  = ms(messagesMaxAge)
	messagesAgeArg  = strconv.FormatInt(int64(messagesMaxAge/time.Second), 10)
)

func (s *redisState) messages(ctx context.Context, chat string) ([]int, error) {
	since := time.Now().Add(-messagesMaxAge).Unix()
	ids, err := s.rdb.ZRangeByScore(ctx, s.k.ChatMessages(chat), &redis.ZRangeBy{
		Min: strconv.FormatInt(since, 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("read message ids: %w", err)
	}
	out := make([]int, 0, len(ids))
	for _, id := range ids {
		if n, err := strconv.Atoi(id); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out, nil
}

// record runs on the auto-pipeliner like begin and finish: every message sent
// outside an update (each urgent update, at up to 1000/s) has its ID
// recorded, and those records share the writes of the conversations' scripts
// instead of adding a round trip each.
func (s *redisState) record(ctx context.Context, chat string, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	token := "rec:" + strconv.FormatUint(s.recordSeq.Add(1), 36)
	_, err := s.reply(recordScript.Run(ctx, s.scripts, []string{s.k.ChatMessages(chat)}, token, joinIDs(ids),
		strconv.FormatInt(time.Now().Unix(), 10), keptMessagesArg, messagesTTLArg, messagesAgeArg), token)
	if err != nil {
		return fmt.Errorf("record message ids: %w", err)
	}
	return nil
}

func (s *redisState) finish(ctx context.Context, chat string, updateID int64, token string, f finishArgs) (leaseState, error) {
	if f.erased {
		// The mark first: should the clean-up below be lost, a
		// re-delivery finds the mark and cleans up (begin).
		if err := s.rdb.Set(ctx, s.k.UpdateErased(updateID), "1", s.dedupeTTL).Err(); err != nil {
			return leaseTaken, fmt.Errorf("finish update: mark erased: %w", err)
		}
		return s.forget(ctx, chat, token)
	}
	done := "0"
	if f.done {
		done = "1"
	}
	kop := ""
	switch f.kbd {
	case kbdShown:
		kop = "set"
	case kbdRemoved:
		kop = "del"
	}
	ks := s.chatKeys(chat, s.k.ChatMessages(chat))
	flush := "0"
	if f.flush {
		flush = "1"
	}
	args := []any{strconv.FormatInt(updateID, 10), token, done, string(f.outbox), s.dedupeMS, kop, s.kbdMS, keptUpdates,
		joinIDs(f.sent), joinIDs(f.forget), strconv.FormatInt(time.Now().Unix(), 10), keptMessagesArg, messagesTTLArg,
		messagesAgeArg, flush}
	if w := f.session; w != nil {
		ks = append(ks, w.key)
		args = append(args, w.blob, s.sessionMS)
	}
	v, err := s.reply(finishScript.Run(ctx, s.scripts, ks, args...), token)
	if err != nil {
		return leaseTaken, fmt.Errorf("finish update: %w", err)
	}
	n, _ := v[0].(int64)
	switch n {
	case 1:
		return leaseHeld, nil
	case 2:
		return leaseGone, nil
	case 3:
		return leaseLost, nil
	}
	return leaseTaken, nil
}

func (s *redisState) takeOver(ctx context.Context, chat, holder, token string) (bool, error) {
	return lease.TakeOver(ctx, s.rdb, s.k.ChatLease(chat), holder, token, s.leaseTTL)
}

// renew extends the chat's lease while token holds it. A lease that is
// gone (expired while nobody took it, or erased with the person's keys by
// /delete) is taken again: we are still its only holder — unless our
// update is in the chat's done set: another handler took the lease over
// (believing us dead), finished the update and released the chat.
func (s *redisState) renew(ctx context.Context, chat, token string) (bool, error) {
	id := ""
	if h, ok := parseLeaseToken(token); ok {
		id = strconv.FormatInt(h.updateID, 10)
	}
	ok, err := lease.AcquireUnless(ctx, s.rdb, s.k.ChatLease(chat), token, s.leaseTTL, s.k.ChatDone(chat), id)
	if err != nil {
		return false, fmt.Errorf("renew the chat's lease: %w", err)
	}
	return ok, nil
}

// memoryState is updateState in process memory (no Redis): same semantics
// within one process; everything is lost on restart.
type memoryState struct {
	leaseTTL, dedupe, kbdTTL time.Duration
	inactive                 Inactive

	mu        sync.Mutex
	leases    map[string]memLease
	updates   map[memUpdateKey]*memUpdate
	keyboards map[string]time.Time // chat → expiry
	msgs      map[string][]memMsg  // chat → message IDs, oldest first
	erased    map[int64]time.Time  // update that erased its person → expiry
	lastSweep time.Time
}

type memMsg struct {
	id int
	at time.Time
}

type memLease struct {
	token   string
	expires time.Time
}

type memUpdateKey struct {
	chat string
	id   int64
}

type memUpdate struct {
	done    bool
	n       int
	out     []byte
	sent    int
	expires time.Time
}

func newMemoryState(l Limits, inactive Inactive) *memoryState {
	return &memoryState{
		leaseTTL: l.LeaseTTL, dedupe: l.DedupeTTL, kbdTTL: l.KeyboardTTL, inactive: inactive,
		leases: map[string]memLease{}, updates: map[memUpdateKey]*memUpdate{}, keyboards: map[string]time.Time{},
		msgs: map[string][]memMsg{}, erased: map[int64]time.Time{},
	}
}

// Sessions without Redis live in the conversation's own memory store:
// memoryState neither reads nor writes them (sessionKey and
// finishArgs.session are unused).
func (s *memoryState) begin(ctx context.Context, chat string, updateID int64, token string, reactivate bool, _ string) (beginResult, error) {
	now := time.Now()
	s.mu.Lock()
	s.sweepLocked(now)
	k := memUpdateKey{chat, updateID}
	u := s.updates[k]
	if exp, ok := s.erased[updateID]; (u != nil && u.done) || (ok && now.Before(exp)) {
		s.mu.Unlock()
		return beginResult{status: beginDone}, nil
	}
	if l, ok := s.leases[chat]; ok && now.Before(l.expires) && l.token != token {
		s.mu.Unlock()
		return beginResult{status: beginBusy, busyFor: l.expires.Sub(now), holder: l.token}, nil
	}
	s.leases[chat] = memLease{token, now.Add(s.leaseTTL)}
	if u == nil {
		u = &memUpdate{}
		s.updates[k] = u
	}
	u.n++
	u.expires = now.Add(s.dedupe)
	exp, kbd := s.keyboards[chat]
	r := beginResult{status: beginAcquired, attempt: u.n, keyboard: kbd && now.Before(exp), outbox: u.out, sent: u.sent}
	s.mu.Unlock()
	if reactivate {
		if id, err := strconv.ParseInt(chat[len("tg:"):], 10, 64); err == nil {
			_ = s.inactive.SetActive(ctx, id)
		}
	}
	return r, nil
}

func (s *memoryState) finish(_ context.Context, chat string, updateID int64, token string, f finishArgs) (leaseState, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.erased {
		if l, ok := s.leases[chat]; ok && l.token != token && now.Before(l.expires) {
			return leaseTaken, nil // a newer handler's records stay
		}
		for k := range s.updates {
			if k.chat == chat {
				delete(s.updates, k)
			}
		}
		delete(s.keyboards, chat)
		delete(s.msgs, chat)
		_, held := s.leases[chat]
		delete(s.leases, chat)
		s.erased[updateID] = now.Add(s.dedupe)
		if held {
			return leaseHeld, nil
		}
		return leaseGone, nil
	}
	s.recordLocked(chat, f.sent, f.forget, now)
	k := memUpdateKey{chat, updateID}
	u := s.updates[k]
	if u == nil {
		u = &memUpdate{}
		s.updates[k] = u
	}
	if f.done {
		u.done, u.n, u.out, u.sent = true, 0, nil, 0
		u.expires = now.Add(s.dedupe)
	} else if f.outbox != nil {
		u.out, u.sent = f.outbox, 0
		u.expires = now.Add(s.dedupe)
	}
	switch f.kbd {
	case kbdShown:
		s.keyboards[chat] = now.Add(s.kbdTTL)
	case kbdRemoved:
		delete(s.keyboards, chat)
	}
	l, ok := s.leases[chat]
	switch {
	case !ok || now.After(l.expires):
		delete(s.leases, chat) // expired: nobody holds it
		return leaseGone, nil
	case l.token == token:
		delete(s.leases, chat)
		return leaseHeld, nil
	}
	return leaseTaken, nil
}

func (s *memoryState) takeOver(_ context.Context, chat, holder, token string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if l, ok := s.leases[chat]; !ok || l.token != holder || now.After(l.expires) {
		return false, nil
	}
	s.leases[chat] = memLease{token, now.Add(s.leaseTTL)}
	return true, nil
}

func (s *memoryState) renew(_ context.Context, chat, token string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if l, ok := s.leases[chat]; ok && l.token != token && now.Before(l.expires) {
		return false, nil // taken by another handler
	}
	s.leases[chat] = memLease{token, now.Add(s.leaseTTL)}
	return true, nil
}

func (s *memoryState) messages(_ context.Context, chat string) ([]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	since := time.Now().Add(-messagesMaxAge)
	var out []int
	for _, m := range s.msgs[chat] {
		if !m.at.Before(since) {
			out = append(out, m.id)
		}
	}
	return out, nil
}

func (s *memoryState) record(_ context.Context, chat string, ids []int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordLocked(chat, ids, nil, time.Now())
	return nil
}

// recordLocked is the Lua function messages of the Redis version.
func (s *memoryState) recordLocked(chat string, add, forget []int, now time.Time) {
	if len(add) == 0 && len(forget) == 0 {
		return
	}
	since := now.Add(-messagesMaxAge)
	old := s.msgs[chat]
	kept := make([]memMsg, 0, len(old)+len(add))
	for _, m := range old {
		if !m.at.Before(since) && !slices.Contains(forget, m.id) && !slices.Contains(add, m.id) {
			kept = append(kept, m)
		}
	}
	for _, id := range add {
		kept = append(kept, memMsg{id: id, at: now})
	}
	if len(kept) > keptMessages {
		kept = kept[len(kept)-keptMessages:]
	}
	if len(kept) == 0 {
		delete(s.msgs, chat)
		return
	}
	s.msgs[chat] = kept
}

// sweepLocked drops expired entries about once a minute.
func (s *memoryState) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute {
		return
	}
	s.lastSweep = now
	for k, u := range s.updates {
		if now.After(u.expires) {
			delete(s.updates, k)
		}
	}
	for k, l := range s.leases {
		if now.After(l.expires) {
			delete(s.leases, k)
		}
	}
	for k, exp := range s.keyboards {
		if now.After(exp) {
			delete(s.keyboards, k)
		}
	}
	for id, exp := range s.erased {
		if now.After(exp) {
			delete(s.erased, id)
		}
	}
	since := now.Add(-messagesMaxAge)
	for k, ms := range s.msgs {
		if ms[len(ms)-1].at.Before(since) {
			delete(s.msgs, k)
		}
	}
}
