package referral

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Store keeps cases and the outbox: Redis in production (NewRedisStore),
// memory for the playground and tests (NewMemoryStore). Its methods are
// unexported: both implementations live here, and each operation is atomic
// (one Lua script in Redis, one lock in memory).
type Store interface {
	// create stores a new case with its history's first entry and queues
	// its delivery ("open" on its group stream, "created" on its webhook
	// stream when hook). It returns false if the code already belongs to
	// the same person and service (a repeated input: nothing changes) and
	// errTaken if it belongs to anyone or anything else.
	create(ctx context.Context, c *Case, first Entry, streams streamNames, hook bool, ttl time.Duration) (bool, error)
	// load returns a case, nil if there is none.
	load(ctx context.Context, code string) (*Case, error)
	// history returns a case's history, oldest first.
	history(ctx context.Context, code string) ([]Entry, error)
	// update changes an open (or, per ch.from, any) case atomically.
	update(ctx context.Context, code string, ch change) (changeResult, error)
	// erase removes a case's personal data for its person (see eraseArgs);
	// it reports whether the case was open (and is now withdrawn).
	erase(ctx context.Context, user, code string, a eraseArgs) (bool, error)
	// codes lists the codes of a person's cases.
	codes(ctx context.Context, user string) ([]string, error)
	// forget deletes the person's index of cases and their live handoff.
	forget(ctx context.Context, user string) error
	// live returns the code of the person's open handoff ("" if none).
	live(ctx context.Context, user string) (string, error)
	// byTopic and byMessage find the case of a staff topic or of a message
	// the bot posted ("" if none).
	byTopic(ctx context.Context, group int64, thread int) (string, error)
	byMessage(ctx context.Context, group int64, msgID int) (string, error)
	// place records where a case is shown: its topic (p.thread ≥ 0 with
	// p.setThread) and/or its card, and maps a message to it. It keeps the
	// case's trace too: the topic, and the bot's messages where the case
	// has no topic of its own.
	place(ctx context.Context, code string, p placement) error
	// trace returns where the case is shown in its staff group (nil if
	// nowhere, or forgotten).
	trace(ctx context.Context, code string) (*trace, error)
	// dropTrace forgets it (its messages were deleted).
	dropTrace(ctx context.Context, code string) error
	// staleTraces returns the codes with a trace whose case is gone (its
	// retention ended), and extends the other traces to outlive their case
	// by grace (Redis: and puts those still waiting to be claimed in the
	// index of waiting cases, for cases opened before it existed).
	staleTraces(ctx context.Context, grace time.Duration) ([]string, error)
	// expire queues "expired" on stream for code if its case is gone and
	// its trace still listed (once, whoever sweeps), and reports whether it
	// did.
	expire(ctx context.Context, code, stream string) (bool, error)
	// payload returns the personal part of an outbox event ("" if gone).
	payload(ctx context.Context, code, field string) (string, error)
	// setPayload stores it (a notice rendered before sending, so that a
	// retry sends the same).
	setPayload(ctx context.Context, code, field, value string) error

	// ensure creates a stream's consumer group if needed.
	ensure(ctx context.Context, stream string) error
	// lease takes or renews a stream's lease for token.
	lease(ctx context.Context, stream, token string, ttl time.Duration) (bool, error)
	// unlease releases it if token still holds it.
	unlease(ctx context.Context, stream, token string) error
	// read returns the next entries for consumer: first those a dead
	// consumer left (idle ≥ minIdle), then its own unacknowledged ones,
	// then new ones (waiting up to block). wait is true when older entries
	// of another consumer must become claimable first (to keep the order).
	// errStreamLost: the stream had vanished and was made again.
	read(ctx context.Context, stream, consumer string, minIdle, block time.Duration, n int) (entries []entry, wait bool, err error)
	// ack removes a delivered entry (and its payload).
	ack(ctx context.Context, stream string, e entry) error
	// fail counts a failed delivery and returns the count so far.
	fail(ctx context.Context, stream string, e entry) (int, error)
	// bury moves an entry to the stream's dead-letter stream.
	bury(ctx context.Context, stream string, e entry, reason string, attempts int, max int64) error
	// pending counts the stream's entries not yet delivered.
	pending(ctx context.Context, stream string) (int64, error)

	// waiting returns the cases waiting to be claimed (status received),
	// and drops the others from the index of waiting cases (create adds
	// every new case to it).
	waiting(ctx context.Context) ([]*Case, error)
	// remind queues reminder n (1, 2, ...) of a case waiting to be claimed
	// on its staff stream (evReminder, and evEscalate too when escalate)
	// and adds e to its history — once: only while the case is received
	// and has had n-1 reminders. It reports whether it queued them.
	remind(ctx context.Context, code string, n int, stream string, escalate bool, e Entry) (bool, error)
}

// errTaken: the code is in use by another case.
var errTaken = errors.New("code in use by another case")

// errStreamLost: an outbox stream or its consumer group was gone (Redis
// restarted without persistence, or flushed) and has been made again; what
// the stream held is lost with it.
var errStreamLost = errors.New("outbox stream or its consumer group was gone and has been created again; what the stream held is lost")

// entry is one outbox stream entry: an event of a case. It holds no
// personal data; the event's payload (if any) is in the case's Payload hash
// under field payloadField(stream, ID).
type entry struct {
	ID    string
	Event string
	Code  string
}

// time is when the entry was added (stream IDs start with Unix ms).
func (e entry) time() time.Time {
	ms, err := strconv.ParseInt(strings.SplitN(e.ID, "-", 2)[0], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func payloadField(stream, id string) string { return stream + "/" + id }

// streamNames names the streams a case's events go to.
type streamNames struct {
	staff string // Staff.Stream(group): "tg:<group>" on Telegram
	hook  string // "hook:<queue key>"
}

const personStream = "person"

// Outbox events.
const (
	evOpen      = "open"      // staff: create the topic, post the card
	evRelay     = "relay"     // staff: a message of the person
	evAlert     = "alert"     // staff: the person typed an emergency word
	evLeft      = "left"      // staff: the person left the chat
	evWithdrawn = "withdrawn" // staff and webhook: the person used /delete
	evErased    = "erased"    // staff: the person used /delete after the case was closed
	evExpired   = "expired"   // staff: the case's retention ended
	evClaimed   = "claimed"   // person and webhook
	evClosed    = "closed"    // person and webhook
	evCreated   = "created"   // webhook
	evReplied   = "replied"   // person: staff wrote about a referral
	evCard      = "card"      // staff: show the case's new status on its card
	evMessage   = "message"   // webhook
	evReminder  = "reminder"  // staff: the case still waits to be claimed (in its topic)
	evEscalate  = "escalate"  // staff: ... and again, in the group's General topic
)

// change is one atomic update of a case.
type change struct {
	// from lists the statuses the change applies to; empty means any.
	from []string
	// to is the new status ("" keeps it).
	to string
	// set are fields to set.
	set map[string]string
	// entry is appended to the history (nil: none).
	entry *Entry
	// ttl is the new TTL of the record and its history (0 keeps it). It
	// is ignored for a closed or withdrawn case unless the change sets a
	// status: activity does not extend the retention of a closed case.
	ttl time.Duration
	// user is the case's person: the TTL of their index is extended to
	// ttl, and tell/endLive look at their live handoff.
	user string
	// group and thread locate the case's topic mapping, whose TTL follows
	// the record's.
	group  int64
	thread int

	// streams names where events go.
	streams streamNames
	// event is queued on the staff stream with payload ("" none).
	event   string
	payload string
	// hook is queued on the webhook stream with hookPayload ("" none).
	hook        string
	hookPayload string
	// tell is queued on the person stream, only if the case is the person's
	// live handoff or tellAlways is set (a referral) ("" none).
	tell       string
	tellAlways bool
	// endLive ends the person's live handoff if it is this case.
	endLive bool
	// once, if set, makes the change happen at most once for this token
	// (within Config.OnceTTL).
	once    string
	onceTTL time.Duration
}

type changeResult struct {
	// status is the status before the change ("" if the case is gone).
	status string
	// applied is false when the status did not allow the change or the
	// once token was used already (dup).
	applied bool
	dup     bool
}

type eraseArgs struct {
	keep        []string // fields kept (plus alwaysKept)
	keepHistory bool     // keep the history without note texts
	retention   time.Duration
	entry       Entry
	streams     streamNames
	hook        bool
}

// trace is where a case is shown in its staff group: kept apart from the
// case record (it holds no personal data) and a little longer, so that the
// messages can be deleted when the case's retention ends.
type trace struct {
	group  int64
	thread int
	shared bool  // the topic (or main chat) is not the case's own
	msgs   []int // the bot's messages for the case outside a topic of its own
}

// traceGrace is how long a trace outlives its case: the sweep runs much
// more often, so the messages are deleted soon after the case is gone.
const traceGrace = 7 * 24 * time.Hour

// placement is what place records.
type placement struct {
	group     int64
	setThread bool
	thread    int
	shared    bool
	mapTopic  bool // the topic belongs to this case alone
	card      int  // 0: not posted by this call
	msg       int  // a message to map to the case (shared topics), 0 none
	// traceMsg is a message of the bot about the case outside its topic
	// (a reminder in the General topic), to be deleted with the case but
	// not mapped to it (a reply to it is not for the person). 0 none.
	traceMsg int
	ttl      time.Duration
}

// parseTrace reads a trace hash (nil if empty).
func parseTrace(m map[string]string) *trace {
	if len(m) == 0 || m["group"] == "" {
		return nil
	}
	t := &trace{shared: m["shared"] == "1"}
	t.group, _ = strconv.ParseInt(m["group"], 10, 64)
	t.thread, _ = strconv.Atoi(m["thread"])
	for f := range m {
		if id, ok := strings.CutPrefix(f, "m:"); ok {
			if n, err := strconv.Atoi(id); err == nil && n > 0 {
				t.msgs = append(t.msgs, n)
			}
		}
	}
	slices.Sort(t.msgs)
	return t
}
