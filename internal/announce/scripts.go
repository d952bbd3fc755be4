package announce

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The sender's steps, each one Lua script on the keys of one announcement
// (one hash slot). Every step that moves the send checks the lease token
// first, so a worker that lost its lease (a long pause, a network split)
// cannot claim recipients another worker already has in hand.

// errLeaseLost: another worker holds the announcement now.
var errLeaseLost = errors.New("lease lost")

// leaseScript renews the lease and publishes the sender's rate.
// KEYS: lease, meta. ARGV: token, ttl ms, rate.
var leaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'rate', ARGV[3])
return 1`)

// releaseScript gives the lease up if it is still ours; the rate goes to 0.
// KEYS: lease, meta. ARGV: token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'rate', '0')
return 1`)

// takeoverScript runs when a worker gets the lease (and when the worker that
// holds it finds entries it did not leave: see deliver): what a dead worker
// had claimed and not handed to the Bot API goes back to the queue (it was
// not sent); what it was sending may or may not have been sent, so it is
// counted unknown and never sent again (its marks stay).
// KEYS: lease, meta, claimed, sending, requeued. ARGV: token.
// Returns the number counted unknown, or -1 when the lease is not ours.
var takeoverScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local n = redis.call('SCARD', KEYS[4])
if n > 0 then
  redis.call('HINCRBY', KEYS[2], 'unknown', n)
  redis.call('DEL', KEYS[4])
end
local back = redis.call('SMEMBERS', KEYS[3])
if #back > 0 then
  local ttl = redis.call('PTTL', KEYS[3])
  for _, e in ipairs(back) do redis.call('RPUSH', KEYS[5], e) end
  redis.call('HINCRBY', KEYS[2], 'requeued', #back)
  redis.call('DEL', KEYS[3])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[5], ttl) end
end
return n`)

func (q *Queue) takeoverKeys(id string) []string {
	return []string{q.k.Lease(id), q.k.Meta(id), q.k.Claimed(id), q.k.Sending(id), q.k.Requeued(id)}
}

func (q *Queue) acquire(ctx context.Context, id, token string, ttl time.Duration) (bool, error) {
	ok, err := q.rdb.SetNX(ctx, q.k.Lease(id), token, ttl).Result()
	if err != nil || !ok {
		return false, err
	}
	n, err := takeoverScript.Run(ctx, q.rdb, q.takeoverKeys(id), token).Int()
	if err != nil {
		return false, fmt.Errorf("take over update %s: %w", id, err)
	}
	return n >= 0, nil
}

// acquireAgain re-queues what is claimed and counts what is being sent as
// unknown, under a lease already held.
func (q *Queue) acquireAgain(ctx context.Context, id, token string) (int, error) {
	n, err := takeoverScript.Run(ctx, q.rdb, q.takeoverKeys(id), token).Int()
	if err != nil {
		return 0, fmt.Errorf("recount update %s: %w", id, err)
	}
	if n < 0 {
		return 0, errLeaseLost
	}
	return n, nil
}

func (q *Queue) renew(ctx context.Context, id, token string, ttl time.Duration, rate float64) error {
	ok, err := leaseScript.Run(ctx, q.rdb, []string{q.k.Lease(id), q.k.Meta(id)}, token, ttl.Milliseconds(),
		strconv.FormatFloat(rate, 'f', 1, 64)).Int()
	if err != nil {
		return fmt.Errorf("renew lease of update %s: %w", id, err)
	}
	if ok == 0 {
		return errLeaseLost
	}
	return nil
}

func (q *Queue) release(ctx context.Context, id, token string) error {
	return releaseScript.Run(ctx, q.rdb, []string{q.k.Lease(id), q.k.Meta(id)}, token).Err()
}

// snapshotScript appends a page of subscribers to the recipients (each
// person once) and records where the listing is, so a new worker goes on
// from there.
// KEYS: lease, meta, rcpt, seen. ARGV: token, lang, next snapshot position,
// expire-at ms of the personal keys, users...
var snapshotScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local added = 0
for i = 5, #ARGV do
  if redis.call('SADD', KEYS[4], ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[3], ARGV[2] .. ' ' .. ARGV[i])
    added = added + 1
  end
end
redis.call('HSET', KEYS[2], 'snap', ARGV[3])
redis.call('PEXPIREAT', KEYS[3], ARGV[4])
redis.call('PEXPIREAT', KEYS[4], ARGV[4])
return added`)

// startScript ends the listing: the send starts with the recipients found.
// KEYS: lease, meta, rcpt. ARGV: token, now ms.
var startScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('HGET', KEYS[2], 'state') ~= 'approved' then return 0 end
local n = redis.call('LLEN', KEYS[3])
redis.call('HSET', KEYS[2], 'state', 'sending', 'total', n, 'started_ms', ARGV[2])
return n`)

// claimScript takes the next recipients in hand: first those a dead or
// stopped worker had claimed and not sent (Requeued), then the next of the
// list. The idempotency mark of a listed recipient is set here, together with
// the send's position and the Claimed set, in one step: a recipient already
// marked is never taken from the list again. Nothing is sent yet: a worker
// killed now leaves its recipients in Claimed, and the next one sends them.
// KEYS: lease, meta, rcpt, marks, claimed, sending, requeued. ARGV: token, n,
// now ms, expire-at ms of the personal keys.
// Returns {word} to stop (done, drain, expired, paused, cancelled, pending,
// lease) or {"ok", entry...}.
var claimScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'lease'} end
local m = redis.call('HMGET', KEYS[2], 'state', 'paused', 'expires_ms', 'pos')
if m[1] ~= 'sending' then return {m[1] or 'gone'} end
if m[2] == '1' then return {'paused'} end
if tonumber(m[3]) <= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[2], 'state', 'expired', 'finished_ms', ARGV[3])
  return {'expired'}
end
local want = tonumber(ARGV[2])
local out = {'ok'}
while #out <= want do
  local e = redis.call('LPOP', KEYS[7])
  if not e then break end
  redis.call('HINCRBY', KEYS[2], 'requeued', -1)
  redis.call('SADD', KEYS[5], e)
  out[#out + 1] = e
end
if #out <= want then
  local pos = tonumber(m[4] or '0')
  local list = redis.call('LRANGE', KEYS[3], pos, pos + want - #out)
  if #list == 0 and #out == 1 then
    if redis.call('SCARD', KEYS[5]) == 0 and redis.call('SCARD', KEYS[6]) == 0 then
      redis.call('HSET', KEYS[2], 'state', 'done', 'finished_ms', ARGV[3])
      return {'done'}
    end
    return {'drain'}
  end
  for _, e in ipairs(list) do
    if e ~= '-' then
      local user = string.sub(e, string.find(e, ' ', 1, true) + 1)
      if redis.call('SADD', KEYS[4], user) == 1 then
        redis.call('SADD', KEYS[5], e)
        out[#out + 1] = e
      end
    end
  end
  redis.call('HSET', KEYS[2], 'pos', pos + #list)
  redis.call('PEXPIREAT', KEYS[4], ARGV[4])
end
redis.call('PEXPIREAT', KEYS[5], ARGV[4])
return out`)

// sendingScript is the last step before a message goes to the Bot API: the
// entry moves from Claimed to Sending, under the lease. From here on a kill
// leaves it unknown (the request may have reached Telegram). An entry no
// longer claimed (the person erased their data, or a worker that took over
// re-queued it) is not sent. An entry already sending is our own step run
// again (go-redis retries a command whose answer timed out; only the lease
// holder marks entries, each once): it is sent. The same step records how
// earlier sends ended (see resultScript), so a message costs the sender one
// round trip to Redis, not two.
// KEYS: lease, claimed, sending, meta. ARGV: token, entry, expire-at ms, then
// entry and counter of each earlier send that ended.
// Returns 1 (send), 0 (do not send) or -1 (the lease is not ours).
var sendingScript = redis.NewScript(luaResults + `
results(KEYS[3], KEYS[4], ARGV, 4)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('SMOVE', KEYS[2], KEYS[3], ARGV[2]) == 0 then
  return redis.call('SISMEMBER', KEYS[3], ARGV[2])
end
redis.call('PEXPIREAT', KEYS[3], ARGV[3])
return 1`)

// resultScript records how sends ended when no send follows to carry them
// (a stop, the end of the list).
// KEYS: sending, meta. ARGV: entry and counter of each send that ended.
// Returns how many were counted.
var resultScript = redis.NewScript(luaResults + `
return results(KEYS[1], KEYS[2], ARGV, 1)`)

// luaResults counts how sends ended. It needs no lease: the message went
// (or not) whoever holds the lease now. A result for an entry no longer
// being sent (counted unknown by a worker that took over, or recorded
// already by a retried step) is not counted twice.
const luaResults = `
local function results(sending, meta, args, from)
  local n = 0
  for i = from, #args - 1, 2 do
    if redis.call('SREM', sending, args[i]) == 1 then
      redis.call('HINCRBY', meta, args[i + 1], 1)
      n = n + 1
    end
  end
  return n
end
`

// cleanupScript deletes the lists of people of an announcement that ended;
// the record (counts, approvals) stays until it expires.
// Entries still being sent are counted unknown; those claimed or re-queued
// were not sent and stay counted as left.
// KEYS: lease, meta, rcpt, seen, marks, claimed, sending, requeued. ARGV: token.
var cleanupScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local n = redis.call('SCARD', KEYS[7])
if n > 0 then redis.call('HINCRBY', KEYS[2], 'unknown', n) end
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
redis.call('HSET', KEYS[2], 'cleaned', '1')
return 1`)

// expireScript ends an announcement whose expiry passed (while pending or
// paused no sender notices). KEYS: meta. ARGV: now ms.
var expireScript = redis.NewScript(`
local m = redis.call('HMGET', KEYS[1], 'state', 'expires_ms')
if not m[1] or m[1] == 'done' or m[1] == 'cancelled' or m[1] == 'expired' then return 0 end
if tonumber(m[2]) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'state', 'expired', 'finished_ms', ARGV[1])
return 1`)

// claimed is one claim's answer.
type claimed struct {
	stop    string   // why to stop, or "" with entries (maybe none: all were skipped)
	entries []string // "<lang> <user>"
}

func (q *Queue) claim(ctx context.Context, id, token string, n int, personalUntil time.Time) (claimed, error) {
	res, err := claimScript.Run(ctx, q.rdb, []string{q.k.Lease(id), q.k.Meta(id), q.k.Recipients(id), q.k.Marks(id),
		q.k.Claimed(id), q.k.Sending(id), q.k.Requeued(id)}, token, n, ms(q.now()), personalUntil.UnixMilli()).StringSlice()
	if err != nil {
		return claimed{}, fmt.Errorf("claim recipients of update %s: %w", id, err)
	}
	if len(res) == 0 {
		return claimed{stop: "gone"}, nil
	}
	if res[0] != "ok" {
		return claimed{stop: res[0]}, nil
	}
	return claimed{entries: res[1:]}, nil
}

// outcome is how one send ended: the entry and its counter (sent, blocked,
// failed, unknown).
type outcome struct{ entry, counter string }

func outcomeArgs(args []any, done []outcome) []any {
	for _, o := range done {
		args = append(args, o.entry, o.counter)
	}
	return args
}

// sending moves a claimed entry to Sending and records done, how earlier
// sends ended; false: do not send the entry. With errLeaseLost done was
// recorded; with another error maybe not.
func (q *Queue) sending(ctx context.Context, id, token, entry string, personalUntil time.Time, done []outcome) (bool, error) {
	args := outcomeArgs([]any{token, entry, personalUntil.UnixMilli()}, done)
	n, err := sendingScript.Run(ctx, q.rdb, []string{q.k.Lease(id), q.k.Claimed(id), q.k.Sending(id), q.k.Meta(id)},
		args...).Int()
	if err != nil {
		return false, fmt.Errorf("mark recipient of update %s sending: %w", id, err)
	}
	if n < 0 {
		return false, errLeaseLost
	}
	return n == 1, nil
}

// results records how sends ended; it returns how many were counted (not
// counted already, or as unknown).
func (q *Queue) results(ctx context.Context, id string, done []outcome) (int, error) {
	if len(done) == 0 {
		return 0, nil
	}
	n, err := resultScript.Run(ctx, q.rdb, []string{q.k.Sending(id), q.k.Meta(id)}, outcomeArgs(nil, done)...).Int()
	if err != nil {
		return 0, fmt.Errorf("record results of update %s: %w", id, err)
	}
	return n, nil
}

func (q *Queue) snapshot(ctx context.Context, id, token, lang, next string, personalUntil time.Time, users []string) error {
	args := []any{token, lang, next, personalUntil.UnixMilli()}
	for _, u := range users {
		args = append(args, u)
	}
	n, err := snapshotScript.Run(ctx, q.rdb, []string{q.k.Lease(id), q.k.Meta(id), q.k.Recipients(id), q.k.Seen(id)}, args...).Int()
	if err != nil {
		return fmt.Errorf("list recipients of update %s: %w", id, err)
	}
	if n < 0 {
		return errLeaseLost
	}
	return nil
}

func (q *Queue) start(ctx context.Context, id, token string) error {
	n, err := startScript.Run(ctx, q.rdb, []string{q.k.Lease(id), q.k.Meta(id), q.k.Recipients(id)}, token, ms(q.now())).Int()
	if err != nil {
		return fmt.Errorf("start update %s: %w", id, err)
	}
	if n < 0 {
		return errLeaseLost
	}
	return nil
}

func (q *Queue) cleanup(ctx context.Context, id, token string) error {
	n, err := cleanupScript.Run(ctx, q.rdb, []string{q.k.Lease(id), q.k.Meta(id), q.k.Recipients(id), q.k.Seen(id),
		q.k.Marks(id), q.k.Claimed(id), q.k.Sending(id), q.k.Requeued(id)}, token).Int()
	if err != nil {
		return fmt.Errorf("clean up update %s: %w", id, err)
	}
	if n < 0 {
		return errLeaseLost
	}
	return nil
}

func (q *Queue) expireIfDue(ctx context.Context, id string) error {
	return expireScript.Run(ctx, q.rdb, []string{q.k.Meta(id)}, ms(q.now())).Err()
}

// snapPos is where the listing of recipients is: the topic and language
// (indexes into the announcement's lists) and the subscription store's
// cursor. Written as "<topic> <lang> <cursor>".
type snapPos struct {
	topic, lang int
	cursor      string
}

func parseSnap(s string) snapPos {
	parts := strings.SplitN(s, " ", 3)
	if len(parts) < 2 {
		return snapPos{}
	}
	t, _ := strconv.Atoi(parts[0])
	l, _ := strconv.Atoi(parts[1])
	p := snapPos{topic: t, lang: l}
	if len(parts) == 3 {
		p.cursor = parts[2]
	}
	return p
}

func (p snapPos) String() string {
	return strconv.Itoa(p.topic) + " " + strconv.Itoa(p.lang) + " " + p.cursor
}
