package announce

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
)

// State is where an announcement is in its life.
type State string

const (
	StatePending   State = "pending"   // queued, waiting for approval
	StateApproved  State = "approved"  // approved; the recipients are being listed
	StateSending   State = "sending"   // being sent (or paused: see Status.Paused)
	StateDone      State = "done"      // everyone listed was reached or skipped
	StateCancelled State = "cancelled" // stopped by an editor
	StateExpired   State = "expired"   // its expiry came before it was done
)

// Terminal reports whether nothing more is ever sent.
func (s State) Terminal() bool { return s == StateDone || s == StateCancelled || s == StateExpired }

// Errors of the commands, in sentences an editor reads.
var (
	ErrNotFound     = errors.New("there is no update with that id (see: putokaz announce list)")
	ErrExists       = errors.New("an update with that id was already queued; give the new one another id")
	ErrSameEditor   = errors.New("a send needs another editor's approval: the same name cannot queue and approve, or approve twice")
	ErrNotPending   = errors.New("the update is not waiting for approval")
	ErrFinished     = errors.New("the update has already ended (done, cancelled or expired)")
	ErrNoName       = errors.New("say who you are with --by NAME (it is recorded with the update)")
	ErrExpiredQueue = errors.New("the update's expiry has passed; change expires in the file")
)

// keep is how long an announcement's record (counts, who approved) stays
// after its expiry, for `putokaz announce status`.
const keep = 7 * 24 * time.Hour

// personalGrace is how long after the expiry the lists of recipients may
// live at most (they are deleted when the send ends; this is the net).
const personalGrace = 24 * time.Hour

// Queue is the durable queue of announcements in Redis: what `putokaz
// announce` writes and the workers of `putokaz serve` send. Safe for
// concurrent use.
type Queue struct {
	rdb       redis.UniversalClient
	k         keys.AnnounceKeys
	approvals int
	now       func() time.Time
}

// NewQueue returns the queue. approvals is how many different editors must
// agree before a send starts (the one who queues counts; 1 = no second
// editor).
func NewQueue(rdb redis.UniversalClient, k keys.Keys, approvals int) *Queue {
	return &Queue{rdb: rdb, k: k.Announce(), approvals: max(approvals, 1), now: time.Now}
}

// Status is what `putokaz announce status` shows of one announcement.
type Status struct {
	ID        string
	State     State
	Paused    bool
	Topics    []string
	Langs     []string
	Expires   time.Time
	Created   time.Time
	Started   time.Time // when the recipients were listed (zero before)
	Finished  time.Time
	QueuedBy  string
	Approvers []string // every editor who agreed, the one who queued first
	Needed    int

	Total     int // recipients listed
	Position  int // recipients taken in hand (sent, skipped, claimed or being sent)
	Sent      int
	Blocked   int // the person blocked the bot: removed from the subscriptions
	Failed    int // Telegram refused or kept failing: not sent
	Unknown   int // being sent when a sender died: maybe sent, never repeated
	Withdrawn int // erased their data (/delete) before their turn
	Rate      float64
}

// Left is how many recipients have not been taken in hand yet.
func (s Status) Left() int { return max(s.Total-s.Position, 0) }

// Text returns the message stored for a language.
func (q *Queue) Text(ctx context.Context, id, lang string) (string, error) {
	s, err := q.rdb.HGet(ctx, q.k.Meta(id), "text:"+lang).Result()
	if errors.Is(err, redis.Nil) {
		return "", ErrNotFound
	}
	return s, err
}

func normName(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// addScript stores a new announcement.
// KEYS: meta. ARGV: expire-at ms, then field/value pairs.
var addScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1`)

// Add queues an announcement: texts holds the message to send per language
// (rendered: header, text, footer). by names the editor; with one approval
// needed it is approved at once.
func (q *Queue) Add(ctx context.Context, id string, topics []string, expires time.Time, texts map[string]string, by string) (Status, error) {
	name := strings.TrimSpace(by)
	if name == "" {
		return Status{}, ErrNoName
	}
	now := q.now()
	if !expires.After(now) {
		return Status{}, ErrExpiredQueue
	}
	state := StatePending
	if q.approvals <= 1 {
		state = StateApproved
	}
	langs := slices.Sorted(maps.Keys(texts))
	args := []any{expires.Add(keep).UnixMilli(),
		"id", id, "state", string(state), "topics", strings.Join(topics, ","), "langs", strings.Join(langs, ","),
		"expires_ms", ms(expires), "created_ms", ms(now), "queued_by", name, "editors", normName(name),
		"approvers", name, "needed", strconv.Itoa(q.approvals), "pos", "0", "total", "0"}
	for _, l := range langs {
		args = append(args, "text:"+l, texts[l])
	}
	// The index first: an entry without its record is skipped by readers,
	// a record without its entry would be invisible. GT: a refused second
	// Add does not shorten the live record's place.
	if err := q.rdb.ZAddGT(ctx, q.k.Index(), redis.Z{Score: float64(expires.Add(keep).UnixMilli()), Member: id}).Err(); err != nil {
		return Status{}, fmt.Errorf("queue update %s: %w", id, err)
	}
	ok, err := addScript.Run(ctx, q.rdb, []string{q.k.Meta(id)}, args...).Int()
	if err != nil {
		return Status{}, fmt.Errorf("queue update %s: %w", id, err)
	}
	if ok == 0 {
		return Status{}, ErrExists
	}
	return q.Status(ctx, id)
}

// approveScript records one more editor's approval.
// KEYS: meta. ARGV: normalised name, name.
// Returns "approved", "pending", or an error word.
var approveScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 'notfound' end
local m = redis.call('HMGET', KEYS[1], 'state', 'editors', 'approvers', 'needed')
if m[1] ~= 'pending' then return 'notpending' end
local editors = '\n' .. m[2] .. '\n'
if string.find(editors, '\n' .. ARGV[1] .. '\n', 1, true) then return 'same' end
redis.call('HSET', KEYS[1], 'editors', m[2] .. '\n' .. ARGV[1], 'approvers', m[3] .. '\n' .. ARGV[2])
local _, n = string.gsub(editors, '\n', '')
if n >= tonumber(m[4]) then
  redis.call('HSET', KEYS[1], 'state', 'approved')
  return 'approved'
end
return 'pending'`)

// Approve records an editor's approval; when enough different editors agree
// the send starts (a worker of `putokaz serve` lists the recipients and
// sends).
func (q *Queue) Approve(ctx context.Context, id, by string) (Status, error) {
	name := strings.TrimSpace(by)
	if name == "" {
		return Status{}, ErrNoName
	}
	res, err := approveScript.Run(ctx, q.rdb, []string{q.k.Meta(id)}, normName(name), name).Text()
	if err != nil {
		return Status{}, fmt.Errorf("approve update %s: %w", id, err)
	}
	switch res {
	case "notfound":
		return Status{}, ErrNotFound
	case "notpending":
		st, err := q.Status(ctx, id)
		if err == nil && st.State.Terminal() {
			return st, ErrFinished
		}
		return st, ErrNotPending
	case "same":
		return Status{}, ErrSameEditor
	}
	return q.Status(ctx, id)
}

// controlScript pauses, resumes or cancels.
// KEYS: meta. ARGV: action, now ms. Returns "ok", "notfound" or "finished".
var controlScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 'notfound' end
local st = redis.call('HGET', KEYS[1], 'state')
if st == 'done' or st == 'cancelled' or st == 'expired' then return 'finished' end
if ARGV[1] == 'pause' then redis.call('HSET', KEYS[1], 'paused', '1')
elseif ARGV[1] == 'resume' then redis.call('HDEL', KEYS[1], 'paused')
else redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finished_ms', ARGV[2]) end
return 'ok'`)

// Pause holds a send (or keeps an approved one from starting): the worker
// finishes the messages in flight and stops until Resume.
func (q *Queue) Pause(ctx context.Context, id string) (Status, error) {
	return q.control(ctx, id, "pause")
}

// Resume lets a paused send go on where it stopped.
func (q *Queue) Resume(ctx context.Context, id string) (Status, error) {
	return q.control(ctx, id, "resume")
}

// Cancel ends an announcement: nothing more of it is sent.
func (q *Queue) Cancel(ctx context.Context, id string) (Status, error) {
	return q.control(ctx, id, "cancel")
}

func (q *Queue) control(ctx context.Context, id, action string) (Status, error) {
	res, err := controlScript.Run(ctx, q.rdb, []string{q.k.Meta(id)}, action, ms(q.now())).Text()
	if err != nil {
		return Status{}, fmt.Errorf("%s update %s: %w", action, id, err)
	}
	switch res {
	case "notfound":
		return Status{}, ErrNotFound
	case "finished":
		st, _ := q.Status(ctx, id)
		return st, ErrFinished
	}
	return q.Status(ctx, id)
}

// statusFields are the fields of the record Status reads (not the texts,
// which every worker would otherwise read every second).
var statusFields = []string{"state", "paused", "topics", "langs", "expires_ms", "created_ms", "started_ms", "finished_ms",
	"queued_by", "approvers", "needed", "total", "pos", "sent", "blocked", "failed", "unknown", "withdrawn", "requeued", "rate"}

// Status reads one announcement.
func (q *Queue) Status(ctx context.Context, id string) (Status, error) {
	vals, err := q.rdb.HMGet(ctx, q.k.Meta(id), statusFields...).Result()
	if err != nil {
		return Status{}, fmt.Errorf("read update %s: %w", id, err)
	}
	m := make(map[string]string, len(statusFields))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			m[statusFields[i]] = s
		}
	}
	if m["state"] == "" {
		return Status{}, ErrNotFound
	}
	return parseStatus(id, m), nil
}

func parseStatus(id string, m map[string]string) Status {
	num := func(f string) int { n, _ := strconv.Atoi(m[f]); return n }
	at := func(f string) time.Time {
		n, err := strconv.ParseInt(m[f], 10, 64)
		if err != nil || n == 0 {
			return time.Time{}
		}
		return time.UnixMilli(n)
	}
	split := func(s, sep string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, sep)
	}
	rate, _ := strconv.ParseFloat(m["rate"], 64)
	return Status{ID: id, State: State(m["state"]), Paused: m["paused"] == "1", Topics: split(m["topics"], ","),
		Langs: split(m["langs"], ","), Expires: at("expires_ms"), Created: at("created_ms"), Started: at("started_ms"),
		Finished: at("finished_ms"), QueuedBy: m["queued_by"], Approvers: split(m["approvers"], "\n"), Needed: num("needed"),
		// Re-queued entries (claimed by a worker that died before sending
		// them) are behind the position but still to do.
		Total: num("total"), Position: num("pos") - num("requeued"), Sent: num("sent"), Blocked: num("blocked"),
		Failed: num("failed"), Unknown: num("unknown"), Withdrawn: num("withdrawn"), Rate: rate}
}

// List reads every announcement still on record, oldest first, and forgets
// the index entries of those whose record has expired.
func (q *Queue) List(ctx context.Context) ([]Status, error) {
	idx := q.k.Index()
	if err := q.rdb.ZRemRangeByScore(ctx, idx, "-inf", ms(q.now())).Err(); err != nil {
		return nil, fmt.Errorf("list updates: %w", err)
	}
	ids, err := q.rdb.ZRange(ctx, idx, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list updates: %w", err)
	}
	var out []Status
	for _, id := range ids {
		st, err := q.Status(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	slices.SortStableFunc(out, func(a, b Status) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// forgetScript takes one person out of an announcement's recipients: their
// entry is replaced by "-" (the list keeps its positions, so the send's
// position stays right), taken out of Claimed and Requeued (a worker holding
// it then does not send it), and their marks go unless their message is
// being sent.
// KEYS: meta, rcpt, seen, marks, claimed, sending, requeued. ARGV: user, then
// "<lang> <user>" entries to look for.
var forgetScript = redis.NewScript(`
if redis.call('SREM', KEYS[3], ARGV[1]) == 0 then return 0 end
local sending = false
for i = 2, #ARGV do
  local e = ARGV[i]
  local at = redis.call('LPOS', KEYS[2], e)
  if at then
    redis.call('LSET', KEYS[2], at, '-')
    local pos = tonumber(redis.call('HGET', KEYS[1], 'pos') or '0')
    if at >= pos then redis.call('HINCRBY', KEYS[1], 'withdrawn', 1) end
  end
  if redis.call('SREM', KEYS[5], e) == 1 then redis.call('HINCRBY', KEYS[1], 'withdrawn', 1) end
  local back = redis.call('LREM', KEYS[7], 0, e)
  if back > 0 then
    redis.call('HINCRBY', KEYS[1], 'withdrawn', 1)
    redis.call('HINCRBY', KEYS[1], 'requeued', -back)
  end
  if redis.call('SISMEMBER', KEYS[6], e) == 1 then sending = true end
end
if not sending then redis.call('SREM', KEYS[4], ARGV[1]) end
return 1`)

// Forget removes a person from every announcement being sent (their
// /delete): they are not sent anything more, and their user key leaves the
// lists. Call it with the rest of the person's erasure.
func (q *Queue) Forget(ctx context.Context, user string) error {
	ids, err := q.rdb.ZRange(ctx, q.k.Index(), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("forget person in updates: %w", err)
	}
	for _, id := range ids {
		langs, err := q.rdb.HGet(ctx, q.k.Meta(id), "langs").Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return fmt.Errorf("forget person in update %s: %w", id, err)
		}
		args := []any{user}
		for _, l := range strings.Split(langs, ",") {
			args = append(args, entry(l, user))
		}
		if err := forgetScript.Run(ctx, q.rdb, []string{q.k.Meta(id), q.k.Recipients(id), q.k.Seen(id), q.k.Marks(id),
			q.k.Claimed(id), q.k.Sending(id), q.k.Requeued(id)}, args...).Err(); err != nil {
			return fmt.Errorf("forget person in update %s: %w", id, err)
		}
	}
	return nil
}

// entry is a recipient as listed: "<lang> <user>" (tags have no spaces).
func entry(lang, user string) string { return lang + " " + user }
