package referral

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
	"putokaz/internal/lease"
)

// redisStore keeps cases and the outbox in Redis. Every operation that
// changes a case is one Lua script over keys that share the "{ref}" hash tag
// (see keys.ReferralKeys), so it is atomic and legal in a cluster.
type redisStore struct {
	rdb redis.UniversalClient
	k   keys.ReferralKeys
}

// NewRedisStore keeps cases in Redis under the keys of k.
func NewRedisStore(rdb redis.UniversalClient, k keys.Keys) Store {
	return &redisStore{rdb: rdb, k: k.Referral()}
}

// consumerGroup is the consumer group of every outbox stream.
const consumerGroup = "putokaz"

// luaExtend sets a key's TTL to at least ttl (never shortens it; a key
// without TTL gets one).
const luaExtend = `
local function extend(k, ttl)
  local cur = redis.call('PTTL', k)
  if cur == -2 then return end
  if cur == -1 or cur < tonumber(ttl) then redis.call('PEXPIRE', k, ttl) end
end
`

var (
	// KEYS: case, history, person index, staff stream, live, hook stream,
	//       waiting
	// ARGV: user, code, ttl ms, first entry, kind, hook (1/0), service,
	//       created ms, field/value pairs...
	createScript = redis.NewScript(luaExtend + `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local cur = redis.call('HMGET', KEYS[1], 'user', 'service')
  if cur[1] == ARGV[1] and cur[2] == ARGV[7] then return 0 end
  return -1
end
redis.call('HSET', KEYS[1], unpack(ARGV, 9))
redis.call('ZADD', KEYS[7], ARGV[8], ARGV[2])
extend(KEYS[7], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('RPUSH', KEYS[2], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[2])
extend(KEYS[3], ARGV[3])
if ARGV[5] == 'handoff' then
  redis.call('SET', KEYS[5], ARGV[2], 'PX', ARGV[3])
end
redis.call('XADD', KEYS[4], '*', 'ev', 'open', 'code', ARGV[2])
if ARGV[6] == '1' then
  redis.call('XADD', KEYS[6], '*', 'ev', 'created', 'code', ARGV[2])
end
return 1
`)

	// KEYS: case, history, person index, staff stream, payload, hook stream,
	//       live, once, topic, person stream
	// ARGV: 1 from (space-separated, '' any), 2 to, 3 ttl ms ('' keep),
	//       4 entry, 5 event, 6 staff stream name, 7 payload, 8 hook event,
	//       9 hook stream name, 10 hook payload, 11 once ttl ms ('' none),
	//       12 end live (1/0), 13 code, 14 tell event, 15 tell even if not
	//       live (1/0), 16.. field/value pairs
	// Returns {status before, 0 not applied | 1 applied | 2 duplicate}.
	updateScript = redis.NewScript(luaExtend + `
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {'', 0} end
if ARGV[1] ~= '' then
  local ok = false
  for s in string.gmatch(ARGV[1], '%S+') do
    if s == st then ok = true end
  end
  if not ok then return {st, 0} end
end
if ARGV[11] ~= '' then
  if not redis.call('SET', KEYS[8], '1', 'NX', 'PX', ARGV[11]) then return {st, 2} end
end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'status', ARGV[2]) end
if #ARGV >= 16 then redis.call('HSET', KEYS[1], unpack(ARGV, 16)) end
if ARGV[4] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[4]) end
-- Activity refreshes the TTL of an open case only: a closed one keeps its
-- retention from the moment it was closed.
local ended = (st == 'closed' or st == 'withdrawn') and ARGV[2] == ''
if ARGV[3] ~= '' and not ended then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[9], ARGV[3])
  extend(KEYS[3], ARGV[3])
end
local ttl = redis.call('PTTL', KEYS[1])
if ARGV[5] ~= '' then
  local id = redis.call('XADD', KEYS[4], '*', 'ev', ARGV[5], 'code', ARGV[13])
  if ARGV[7] ~= '' then
    redis.call('HSET', KEYS[5], ARGV[6] .. '/' .. id, ARGV[7])
    redis.call('PEXPIRE', KEYS[5], ttl)
  end
end
if ARGV[8] ~= '' then
  local id = redis.call('XADD', KEYS[6], '*', 'ev', ARGV[8], 'code', ARGV[13])
  if ARGV[10] ~= '' then
    redis.call('HSET', KEYS[5], ARGV[9] .. '/' .. id, ARGV[10])
    redis.call('PEXPIRE', KEYS[5], ttl)
  end
end
local live = redis.call('GET', KEYS[7])
if live == ARGV[13] and ARGV[3] ~= '' and not ended then
  redis.call('PEXPIRE', KEYS[7], ARGV[3])
end
if ARGV[14] ~= '' and (live == ARGV[13] or ARGV[15] == '1') then
  redis.call('XADD', KEYS[10], '*', 'ev', ARGV[14], 'code', ARGV[13])
end
if ARGV[12] == '1' and live == ARGV[13] then
  redis.call('DEL', KEYS[7])
end
return {st, 1}
`)

	// KEYS: case, history, staff stream, payload, hook stream, live, topic
	// ARGV: user, code, retention ms, kept fields (space-separated),
	//       keep history (1/0), entry, hook (1/0)
	// Returns 0 (not this person's case), 1 (erased), 2 (erased; was open).
	// A case staff saw is taken back from the staff group: "withdrawn" if
	// it was open, else "erased".
	eraseScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'user') ~= ARGV[1] then return 0 end
local shown = false
for _, f in ipairs(redis.call('HMGET', KEYS[1], 'card', 'thread')) do
  if f and f ~= '' and f ~= '0' then shown = true end
end
local st = redis.call('HGET', KEYS[1], 'status')
local wasOpen = (st == 'received' or st == 'claimed')
local keep = {}
for s in string.gmatch(ARGV[4], '%S+') do keep[s] = true end
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if not keep[f] then redis.call('HDEL', KEYS[1], f) end
end
if wasOpen then redis.call('HSET', KEYS[1], 'status', 'withdrawn') end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ARGV[5] == '1' then
  local n = redis.call('LLEN', KEYS[2])
  for i = 0, n - 1 do
    local e = cjson.decode(redis.call('LINDEX', KEYS[2], i))
    if e.text then
      e.text = nil
      redis.call('LSET', KEYS[2], i, cjson.encode(e))
    end
  end
  redis.call('RPUSH', KEYS[2], ARGV[6])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
else
  redis.call('DEL', KEYS[2])
end
redis.call('DEL', KEYS[4])
if redis.call('GET', KEYS[6]) == ARGV[2] then redis.call('DEL', KEYS[6]) end
redis.call('PEXPIRE', KEYS[7], ARGV[3])
if wasOpen then
  redis.call('XADD', KEYS[3], '*', 'ev', 'withdrawn', 'code', ARGV[2])
  if ARGV[7] == '1' then
    redis.call('XADD', KEYS[5], '*', 'ev', 'withdrawn', 'code', ARGV[2])
  end
  return 2
end
if shown then
  redis.call('XADD', KEYS[3], '*', 'ev', 'erased', 'code', ARGV[2])
end
return 1
`)

	// KEYS: case, topic, message, history, trace, traces
	// ARGV: code, set thread (1/0), thread, shared (1/0), map topic (1/0),
	//       card ('' none), map message (1/0), fallback ttl ms, entry ('' none),
	//       group, message id, trace grace ms, now ms, trace-only message
	//       ('' none)
	placeScript = redis.NewScript(luaExtend + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then ttl = tonumber(ARGV[8]) end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'thread', ARGV[3], 'shared', ARGV[4])
  redis.call('HSET', KEYS[5], 'group', ARGV[10], 'thread', ARGV[3], 'shared', ARGV[4])
  redis.call('ZADD', KEYS[6], ARGV[13], ARGV[1])
end
if ARGV[5] == '1' then redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'card', ARGV[6]) end
if ARGV[7] == '1' then redis.call('SET', KEYS[3], ARGV[1], 'PX', ttl) end
if ARGV[9] ~= '' and redis.call('EXISTS', KEYS[4]) == 1 then redis.call('RPUSH', KEYS[4], ARGV[9]) end
if redis.call('HGET', KEYS[1], 'shared') == '1' and redis.call('EXISTS', KEYS[5]) == 1 then
  if ARGV[6] ~= '' then redis.call('HSET', KEYS[5], 'm:' .. ARGV[6], '1') end
  if ARGV[7] == '1' then redis.call('HSET', KEYS[5], 'm:' .. ARGV[11], '1') end
end
if ARGV[14] ~= '' and redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('HSET', KEYS[5], 'm:' .. ARGV[14], '1')
end
extend(KEYS[5], ttl + tonumber(ARGV[12]))
return 1
`)

	// KEYS: waiting, then the case and trace of each code, in pairs
	// ARGV: trace grace ms, then the codes
	// Returns the positions (1-based pairs) whose case is gone. A case still
	// waiting to be claimed is (again) in the waiting index: cases opened
	// before it existed get their reminders too.
	staleScript = redis.NewScript(luaExtend + `
local gone = {}
local n = 0
for i = 2, #KEYS, 2 do
  n = n + 1
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl == -2 then
    gone[#gone + 1] = n
  else
    if ttl > 0 then extend(KEYS[i + 1], ttl + tonumber(ARGV[1])) end
    if redis.call('HGET', KEYS[i], 'status') == 'received' then
      redis.call('ZADD', KEYS[1], 'NX', 0, ARGV[n + 1])
      if ttl > 0 then extend(KEYS[1], ttl) end
    end
  end
end
return gone
`)

	// KEYS: case, traces, staff stream; ARGV: code
	expireScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[3], '*', 'ev', 'expired', 'code', ARGV[1])
return 1
`)

	// KEYS: stream, attempts, payload; ARGV: group, id, payload field
	ackScript = redis.NewScript(`
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[3])
return 1
`)

	// KEYS: stream, attempts, dead; ARGV: group, id, event, code, reason,
	//       attempts, max length
	buryScript = redis.NewScript(`
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'id', ARGV[2], 'ev', ARGV[3], 'code', ARGV[4],
  'reason', ARGV[5], 'attempts', ARGV[6])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
return 1
`)

	// KEYS: attempts; ARGV: id, ttl ms
	failScript = redis.NewScript(`
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
`)

	// KEYS: case, history, staff stream, waiting
	// ARGV: code, reminder number, escalate (1/0), history entry
	// Returns 1 if the reminder was queued, 0 if not (claimed, gone, or
	// queued already: by another replica, or before a restart).
	remindScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'status', 'reminded')
if f[1] ~= 'received' then
  redis.call('ZREM', KEYS[4], ARGV[1])
  return 0
end
local had = tonumber(f[2] or '0') or 0
if had ~= tonumber(ARGV[2]) - 1 then return 0 end
redis.call('HSET', KEYS[1], 'reminded', ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[4]) end
redis.call('XADD', KEYS[3], '*', 'ev', 'reminder', 'code', ARGV[1])
if ARGV[3] == '1' then
  redis.call('XADD', KEYS[3], '*', 'ev', 'escalate', 'code', ARGV[1])
end
return 1
`)
)

func ms(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) }

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// pairs flattens fields in a stable order (for readable MONITOR output and
// deterministic scripts).
func pairs(m map[string]string) []any {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	out := make([]any, 0, 2*len(m))
	for _, k := range ks {
		out = append(out, k, m[k])
	}
	return out
}

func (r *redisStore) create(ctx context.Context, c *Case, first Entry, s streamNames, hook bool, ttl time.Duration) (bool, error) {
	args := []any{c.User, c.Code, ms(ttl), first.json(), c.Kind, flag(hook), c.Service,
		strconv.FormatInt(c.Created.UnixMilli(), 10)}
	args = append(args, pairs(c.fields())...)
	n, err := createScript.Run(ctx, r.rdb, []string{r.k.Case(c.Code), r.k.History(c.Code), r.k.Person(c.User),
		r.k.Stream(s.staff), r.k.Live(c.User), r.k.Stream(s.hook), r.k.Waiting()}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("store case: %w", err)
	}
	switch n {
	case 1:
		return true, nil
	case 0:
		return false, nil
	}
	return false, errTaken
}

func (r *redisStore) load(ctx context.Context, code string) (*Case, error) {
	m, err := r.rdb.HGetAll(ctx, r.k.Case(code)).Result()
	if err != nil {
		return nil, fmt.Errorf("load case: %w", err)
	}
	return parseCase(code, m), nil
}

func (r *redisStore) history(ctx context.Context, code string) ([]Entry, error) {
	raw, err := r.rdb.LRange(ctx, r.k.History(code), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("load case history: %w", err)
	}
	return decodeHistory(raw), nil
}

func (r *redisStore) update(ctx context.Context, code string, ch change) (changeResult, error) {
	entry, ttl, once := "", "", ""
	if ch.entry != nil {
		entry = ch.entry.json()
	}
	if ch.ttl > 0 {
		ttl = ms(ch.ttl)
	}
	onceKey := r.k.Once(code, "-")
	if ch.once != "" {
		once = ms(ch.onceTTL)
		onceKey = r.k.Once(code, ch.once)
	}
	args := []any{strings.Join(ch.from, " "), ch.to, ttl, entry, ch.event, ch.streams.staff, ch.payload,
		ch.hook, ch.streams.hook, ch.hookPayload, once, flag(ch.endLive), code, ch.tell, flag(ch.tellAlways)}
	args = append(args, pairs(ch.set)...)
	v, err := updateScript.Run(ctx, r.rdb, []string{r.k.Case(code), r.k.History(code), r.k.Person(ch.user),
		r.k.Stream(ch.streams.staff), r.k.Payload(code), r.k.Stream(ch.streams.hook), r.k.Live(ch.user), onceKey,
		r.k.Topic(ch.group, ch.thread), r.k.Stream(personStream)}, args...).Slice()
	if err != nil {
		return changeResult{}, fmt.Errorf("update case: %w", err)
	}
	if len(v) != 2 {
		return changeResult{}, fmt.Errorf("update case: unexpected reply %v", v)
	}
	st, _ := v[0].(string)
	n, _ := v[1].(int64)
	return changeResult{status: st, applied: n == 1, dup: n == 2}, nil
}

func (r *redisStore) erase(ctx context.Context, user, code string, a eraseArgs) (bool, error) {
	c, err := r.load(ctx, code)
	if err != nil || c == nil {
		return false, err
	}
	keep := append(append([]string{}, alwaysKept...), a.keep...)
	n, err := eraseScript.Run(ctx, r.rdb, []string{r.k.Case(code), r.k.History(code), r.k.Stream(a.streams.staff),
		r.k.Payload(code), r.k.Stream(a.streams.hook), r.k.Live(user), r.k.Topic(c.Group, c.Thread)},
		user, code, ms(a.retention), strings.Join(keep, " "), flag(a.keepHistory), a.entry.json(), flag(a.hook)).Int()
	if err != nil {
		return false, fmt.Errorf("erase case: %w", err)
	}
	return n == 2, nil
}

func (r *redisStore) codes(ctx context.Context, user string) ([]string, error) {
	cs, err := r.rdb.SMembers(ctx, r.k.Person(user)).Result()
	if err != nil {
		return nil, fmt.Errorf("list the person's cases: %w", err)
	}
	sort.Strings(cs)
	return cs, nil
}

func (r *redisStore) forget(ctx context.Context, user string) error {
	if err := r.rdb.Del(ctx, r.k.Person(user), r.k.Live(user)).Err(); err != nil {
		return fmt.Errorf("forget the person's cases: %w", err)
	}
	return nil
}

func (r *redisStore) get(ctx context.Context, key string) (string, error) {
	s, err := r.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return s, err
}

func (r *redisStore) live(ctx context.Context, user string) (string, error) {
	s, err := r.get(ctx, r.k.Live(user))
	if err != nil {
		return "", fmt.Errorf("find the person's handoff: %w", err)
	}
	return s, nil
}

func (r *redisStore) byTopic(ctx context.Context, group int64, thread int) (string, error) {
	s, err := r.get(ctx, r.k.Topic(group, thread))
	if err != nil {
		return "", fmt.Errorf("find the case of a topic: %w", err)
	}
	return s, nil
}

func (r *redisStore) byMessage(ctx context.Context, group int64, msgID int) (string, error) {
	s, err := r.get(ctx, r.k.Message(group, msgID))
	if err != nil {
		return "", fmt.Errorf("find the case of a message: %w", err)
	}
	return s, nil
}

func (r *redisStore) place(ctx context.Context, code string, p placement) error {
	card, entry := "", ""
	if p.card != 0 {
		card = strconv.Itoa(p.card)
		entry = Entry{At: time.Now().UTC(), Who: whoBot, What: actPosted}.json()
	}
	traceOnly := ""
	if p.traceMsg != 0 {
		traceOnly = strconv.Itoa(p.traceMsg)
	}
	_, err := placeScript.Run(ctx, r.rdb, []string{r.k.Case(code), r.k.Topic(p.group, p.thread), r.k.Message(p.group, p.msg),
		r.k.History(code), r.k.Trace(code), r.k.Traces()},
		code, flag(p.setThread), strconv.Itoa(p.thread), flag(p.shared), flag(p.mapTopic), card, flag(p.msg != 0),
		ms(p.ttl), entry, strconv.FormatInt(p.group, 10), strconv.Itoa(p.msg), ms(traceGrace),
		strconv.FormatInt(time.Now().UnixMilli(), 10), traceOnly).Result()
	if err != nil {
		return fmt.Errorf("record where the case is shown: %w", err)
	}
	return nil
}

func (r *redisStore) trace(ctx context.Context, code string) (*trace, error) {
	m, err := r.rdb.HGetAll(ctx, r.k.Trace(code)).Result()
	if err != nil {
		return nil, fmt.Errorf("load where the case is shown: %w", err)
	}
	return parseTrace(m), nil
}

func (r *redisStore) dropTrace(ctx context.Context, code string) error {
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.k.Trace(code))
		p.ZRem(ctx, r.k.Traces(), code)
		return nil
	})
	if err != nil {
		return fmt.Errorf("forget where the case was shown: %w", err)
	}
	return nil
}

// staleBatch is how many traces one script looks at.
const staleBatch = 200

func (r *redisStore) staleTraces(ctx context.Context, grace time.Duration) ([]string, error) {
	var out []string
	for start := int64(0); ; start += staleBatch {
		codes, err := r.rdb.ZRange(ctx, r.k.Traces(), start, start+staleBatch-1).Result()
		if err != nil {
			return out, fmt.Errorf("list traces: %w", err)
		}
		if len(codes) == 0 {
			return out, nil
		}
		ks := make([]string, 0, 1+2*len(codes))
		args := make([]any, 0, 1+len(codes))
		ks = append(ks, r.k.Waiting())
		args = append(args, ms(grace))
		for _, c := range codes {
			ks = append(ks, r.k.Case(c), r.k.Trace(c))
			args = append(args, c)
		}
		gone, err := staleScript.Run(ctx, r.rdb, ks, args...).Int64Slice()
		if err != nil {
			return out, fmt.Errorf("find ended cases: %w", err)
		}
		for _, i := range gone {
			out = append(out, codes[i-1])
		}
		if len(codes) < staleBatch {
			return out, nil
		}
	}
}

func (r *redisStore) expire(ctx context.Context, code, stream string) (bool, error) {
	n, err := expireScript.Run(ctx, r.rdb, []string{r.k.Case(code), r.k.Traces(), r.k.Stream(stream)}, code).Int()
	if err != nil {
		return false, fmt.Errorf("queue the end of a case: %w", err)
	}
	return n == 1, nil
}

func (r *redisStore) payload(ctx context.Context, code, field string) (string, error) {
	s, err := r.rdb.HGet(ctx, r.k.Payload(code), field).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load event payload: %w", err)
	}
	return s, nil
}

func (r *redisStore) setPayload(ctx context.Context, code, field, value string) error {
	// The payload hash shares the case's lifetime; a plain HSET on a hash
	// that exists keeps its TTL, and a new one gets the case's.
	key := r.k.Payload(code)
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, field, value)
		p.ExpireNX(ctx, key, 7*24*time.Hour)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store event payload: %w", err)
	}
	return nil
}

func (r *redisStore) ensure(ctx context.Context, stream string) error {
	err := r.rdb.XGroupCreateMkStream(ctx, r.k.Stream(stream), consumerGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group of %s: %w", stream, err)
	}
	return nil
}

func (r *redisStore) lease(ctx context.Context, stream, token string, ttl time.Duration) (bool, error) {
	ok, err := lease.Acquire(ctx, r.rdb, r.k.Lease(stream), token, ttl)
	if err != nil {
		return false, fmt.Errorf("outbox: %w", err)
	}
	return ok, nil
}

func (r *redisStore) unlease(ctx context.Context, stream, token string) error {
	if _, err := lease.Release(ctx, r.rdb, r.k.Lease(stream), token); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

func (r *redisStore) read(ctx context.Context, stream, consumer string, minIdle, block time.Duration, n int) ([]entry, bool, error) {
	out, wait, err := r.readGroupOrClaim(ctx, stream, consumer, minIdle, block, n)
	if redis.HasErrorPrefix(err, "NOGROUP") {
		// The stream or its consumer group is gone: Redis restarted
		// without persistence, or was flushed. Without them nothing
		// added from now on would be delivered: make them again.
		if e := r.ensure(ctx, stream); e != nil {
			return nil, false, errors.Join(err, e)
		}
		return nil, false, fmt.Errorf("%w: %w", errStreamLost, err)
	}
	return out, wait, err
}

func (r *redisStore) readGroupOrClaim(ctx context.Context, stream, consumer string, minIdle, block time.Duration, n int) ([]entry, bool, error) {
	key := r.k.Stream(stream)
	// Take over what a dead consumer left; the entries become ours and are
	// read below with our own pending ones, in stream order.
	if err := r.rdb.XAutoClaimJustID(ctx, &redis.XAutoClaimArgs{Stream: key, Group: consumerGroup, Consumer: consumer,
		MinIdle: minIdle, Start: "0-0", Count: int64(n)}).Err(); err != nil {
		return nil, false, fmt.Errorf("outbox %s: claim: %w", stream, err)
	}
	own, err := r.readGroup(ctx, key, consumer, "0", -1, n)
	if err != nil || len(own) > 0 {
		return own, false, err
	}
	// Another consumer still holds entries that are not idle long enough to
	// take over: they are older than anything new, so wait for them.
	p, err := r.rdb.XPending(ctx, key, consumerGroup).Result()
	if err != nil {
		return nil, false, fmt.Errorf("outbox %s: pending: %w", stream, err)
	}
	if p.Count > 0 {
		for c, cnt := range p.Consumers {
			if c != consumer && cnt > 0 {
				return nil, true, nil
			}
		}
	}
	out, err := r.readGroup(ctx, key, consumer, ">", block, n)
	return out, false, err
}

func (r *redisStore) readGroup(ctx context.Context, key, consumer, id string, block time.Duration, n int) ([]entry, error) {
	res, err := r.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: consumerGroup, Consumer: consumer,
		Streams: []string{key, id}, Count: int64(n), Block: block}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("outbox read: %w", err)
	}
	var out []entry
	for _, s := range res {
		for _, m := range s.Messages {
			e := entry{ID: m.ID}
			e.Event, _ = m.Values["ev"].(string)
			e.Code, _ = m.Values["code"].(string)
			out = append(out, e)
		}
	}
	return out, nil
}

// attemptsTTL bounds how long failure counts of entries are kept.
const attemptsTTL = 7 * 24 * time.Hour

func (r *redisStore) ack(ctx context.Context, stream string, e entry) error {
	err := ackScript.Run(ctx, r.rdb, []string{r.k.Stream(stream), r.k.Attempts(stream), r.k.Payload(e.Code)},
		consumerGroup, e.ID, payloadField(stream, e.ID)).Err()
	if err != nil {
		return fmt.Errorf("outbox %s: ack: %w", stream, err)
	}
	return nil
}

func (r *redisStore) fail(ctx context.Context, stream string, e entry) (int, error) {
	n, err := failScript.Run(ctx, r.rdb, []string{r.k.Attempts(stream)}, e.ID, ms(attemptsTTL)).Int()
	if err != nil {
		return 0, fmt.Errorf("outbox %s: count failure: %w", stream, err)
	}
	return n, nil
}

func (r *redisStore) bury(ctx context.Context, stream string, e entry, reason string, attempts int, maxLen int64) error {
	err := buryScript.Run(ctx, r.rdb, []string{r.k.Stream(stream), r.k.Attempts(stream), r.k.Dead(stream)},
		consumerGroup, e.ID, e.Event, e.Code, reason, strconv.Itoa(attempts), strconv.FormatInt(maxLen, 10)).Err()
	if err != nil {
		return fmt.Errorf("outbox %s: dead-letter: %w", stream, err)
	}
	return nil
}

func (r *redisStore) pending(ctx context.Context, stream string) (int64, error) {
	n, err := r.rdb.XLen(ctx, r.k.Stream(stream)).Result()
	if err != nil {
		return 0, fmt.Errorf("outbox %s: length: %w", stream, err)
	}
	return n, nil
}

// waitingBatch is how many waiting cases one round trip reads.
const waitingBatch = 200

// waitingFields are what the reminder pass and /waiting read of a case:
// nothing the person said.
var waitingFields = []string{fKind, fService, fLang, fStatus, fCreated, fGroup, fThread, fShared, fCard, fReminded}

func (r *redisStore) waiting(ctx context.Context) ([]*Case, error) {
	key := r.k.Waiting()
	var out []*Case
	for start := int64(0); ; start += waitingBatch {
		codes, err := r.rdb.ZRange(ctx, key, start, start+waitingBatch-1).Result()
		if err != nil {
			return nil, fmt.Errorf("list waiting cases: %w", err)
		}
		if len(codes) == 0 {
			return out, nil
		}
		cmds := make([]*redis.SliceCmd, len(codes))
		_, err = r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, c := range codes {
				cmds[i] = p.HMGet(ctx, r.k.Case(c), waitingFields...)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load waiting cases: %w", err)
		}
		var gone []any
		for i, cmd := range cmds {
			m := map[string]string{}
			for j, v := range cmd.Val() {
				if s, ok := v.(string); ok && s != "" {
					m[waitingFields[j]] = s
				}
			}
			c := parseCase(codes[i], m)
			if c == nil || c.Status != StatusReceived {
				gone = append(gone, codes[i])
				continue
			}
			out = append(out, c)
		}
		if len(gone) > 0 {
			// Claimed, closed, withdrawn or expired since: not waiting.
			// (A case is never received again, so this races nothing.)
			if err := r.rdb.ZRem(ctx, key, gone...).Err(); err != nil {
				return nil, fmt.Errorf("forget cases no longer waiting: %w", err)
			}
			start -= int64(len(gone))
		}
		if len(codes) < waitingBatch {
			return out, nil
		}
	}
}

func (r *redisStore) remind(ctx context.Context, code string, n int, stream string, escalate bool, e Entry) (bool, error) {
	v, err := remindScript.Run(ctx, r.rdb, []string{r.k.Case(code), r.k.History(code), r.k.Stream(stream), r.k.Waiting()},
		code, strconv.Itoa(n), flag(escalate), e.json()).Int()
	if err != nil {
		return false, fmt.Errorf("queue a reminder: %w", err)
	}
	return v == 1, nil
}
