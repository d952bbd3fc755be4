// Package keys is the one place where Redis key names of the project are
// built. No other package concatenates key strings: it asks Keys for them, so
// the naming rules below are enforced in one file and a /delete can find
// everything.
//
// Rules for every key added here:
//
//  1. A key that belongs to one person has the form
//
//     <prefix>u:{<user>}:<kind>[:<more>]
//
//     built with Keys.user. The braces are a Redis Cluster hash tag: Redis
//     hashes only the text between the first "{" and the next "}", so all keys
//     of one person live in the same slot. That is what makes multi-key
//     commands and Lua scripts across one person's keys legal in a cluster,
//     and it lets UserPattern (used by /delete) find all of them.
//
//  2. Every key that holds personal data must be written with a TTL (SET ...
//     EX, or EXPIRE in the same script/transaction). Nothing about a person may
//     live forever just because they stopped writing.
//
//  3. Keys that belong to nobody in particular (global counters, locks) use
//     <prefix><kind>:<id> and contain no braces, so they do not accidentally
//     form a hash tag.
//
// User IDs are opaque strings such as "tg:12345". Because "{" and "}" inside a
// user ID would end or restart the hash tag, the user ID is escaped before it
// goes into a key: "%" becomes "%25", "{" becomes "%7B" and "}" becomes "%7D".
// The escaping is injective, so two different users never share a key, and the
// escaped form never contains a brace. The empty user ID (a caller bug; the
// stores reject it) is written as "%", which no non-empty ID can produce, so
// that even then the hash tag is not "{}" (an empty tag is ignored by Redis).
// Braces in the prefix are escaped the same way so the first "{" of every
// personal key is always the one that opens the user tag.
package keys

import (
	"strconv"
	"strings"
	"time"
)

// Keys builds key names under one prefix (e.g. "putokaz:"; tests use a unique
// prefix per test). The zero value is usable and means an empty prefix.
type Keys struct{ prefix string }

// New returns Keys for prefix. An empty prefix is allowed. Braces in prefix
// are escaped (see the package comment), so Prefix may differ from the
// argument in that case only.
func New(prefix string) Keys {
	return Keys{prefix: escape(prefix)}
}

// Prefix returns the (escaped) prefix every key starts with.
func (k Keys) Prefix() string { return k.prefix }

// Session is the person's conversation state as an opaque blob.
// Personal data: written with a TTL.
func (k Keys) Session(user string) string { return k.user(user, "session") }

// UserPattern is a SCAN MATCH pattern for every key of one person (all keys
// built with Keys.user). Glob metacharacters in the prefix and the user ID are
// escaped, so a user ID such as "tg:*" matches only its own keys.
func (k Keys) UserPattern(user string) string {
	return escapeGlob(k.prefix+"u:{"+escapeUser(user)+"}:") + "*"
}

// PrefixPattern is a SCAN MATCH pattern for every key under the prefix
// (test cleanup, maintenance scripts).
func (k Keys) PrefixPattern() string { return escapeGlob(k.prefix) + "*" }

// user builds a key that belongs to one person; kind names what it holds
// ("session", "lease", ...). Every per-person method must go through here.
func (k Keys) user(user, kind string) string {
	return k.prefix + "u:{" + escapeUser(user) + "}:" + kind
}

// escapeUser escapes a user ID for use inside the hash tag.
func escapeUser(user string) string {
	if user == "" {
		return "%"
	}
	return escape(user)
}

var braceEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")

// escape percent-encodes "%", "{" and "}" so the result contains no braces
// and distinct inputs stay distinct.
func escape(s string) string {
	if !strings.ContainsAny(s, "%{}") {
		return s // fast path: the usual "tg:12345" allocates nothing
	}
	return braceEscaper.Replace(s)
}

// escapeGlob escapes the characters that are special in Redis glob patterns
// (stringmatchlen): * ? [ ] and the backslash itself.
func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Telegram transport (package bot). A "chat" is the opaque ID "tg:<chat id>";
// for a private chat it equals the person's user ID, so these keys share the
// person's hash tag (one Lua script may touch them together with the
// session) and /delete finds them through UserPattern. Staff groups use
// their negative chat ID the same way.

// ChatLease is the short per-chat lease (a fencing token, SET NX PX) that
// keeps two updates of one chat from being handled at once, across
// replicas. The transport's tokens read "<instance>.<update id>.<start unix
// ms>.<random>" (bot/recover.go), so a re-delivery can tell a dead holder of
// its own update; other holders (the referral package's person lock) use a
// plain random token. Written with a TTL (milliseconds to seconds).
func (k Keys) ChatLease(chat string) string { return k.user(chat, "tg:lease") }

// ChatKeyboard flags that a reply keyboard (a location request) is showing
// in the chat, so the next reply removes it. Written with a TTL.
func (k Keys) ChatKeyboard(chat string) string { return k.user(chat, "tg:kbd") }

// ChatInactive flags a chat whose person blocked the bot: nothing is sent
// until they write again. Written with a TTL.
func (k Keys) ChatInactive(chat string) string { return k.user(chat, "tg:inactive") }

// ChatDone is the set of the chat's recently handled Telegram update_ids:
// a re-delivery is found here and skipped. The ids are integers, which Redis
// keeps as a sorted intset searched by bisection; the newest are kept and
// the set has a TTL (about 48 h) from the last update, so an idle chat
// costs nothing.
func (k Keys) ChatDone(chat string) string { return k.user(chat, "tg:done") }

// ChatUpdates is the hash of the chat's updates not yet done: field
// <update_id> counts attempts (for poison detection), <update_id>:o holds
// replies not yet sent when an attempt failed, <update_id>:s how many groups
// of its replies are sent while they go out (so that a killed process's
// re-delivery skips them). A done update's fields are
// removed, so the hash is usually empty, i.e. gone. Written with a TTL.
func (k Keys) ChatUpdates(chat string) string { return k.user(chat, "tg:upd") }

// ChatMessages is the sorted set of the message IDs of a private chat — what
// the person sent and what the bot sent — scored by when they were recorded
// (Unix seconds), for the quick exit (/exit): Telegram lets a bot delete
// both for 48 hours. Only the newest ~200 are kept, none older than 48
// hours, and the set expires 48 hours after the last message. It holds no
// message text, but that the person wrote at all is personal: TTL, and
// /delete erases it with the rest.
func (k Keys) ChatMessages(chat string) string { return k.user(chat, "tg:msgs") }

// UpdateErased marks a Telegram update whose handling erased its person
// (/delete), as "<prefix>tg:erased:<update_id>". The chat's dedupe set
// (ChatDone) goes with everything else of the person, so a re-delivery of
// that update is recognised here instead. The key holds "1" and names no
// chat: an update_id is unique per bot and says nothing about whom it came
// from (rule 3). Written with a TTL (the dedupe TTL, about 48 h).
func (k Keys) UpdateErased(updateID int64) string {
	return k.prefix + "tg:erased:" + strconv.FormatInt(updateID, 10)
}

// Instance is the heartbeat of one bot process (its random instance ID),
// written every fraction of a second with a TTL of a little more: a lease
// whose holder's heartbeat is gone belongs to a dead process, and a
// re-delivery of the same update takes it over at once. Global, holds
// nothing personal.
func (k Keys) Instance(id string) string { return k.prefix + "tg:alive:" + escape(id) }

// Referral records and their delivery to staff (package referral).
//
// A case is not one person's key: it is shared by the person and the staff of
// a queue, and its record, its history, the person's index of cases and the
// outbox entry that delivers it must change in ONE Lua script (a referral is
// stored together with its delivery or not at all, and /delete rewrites a
// record and enqueues "the person withdrew" atomically). In Redis Cluster all
// keys of one script must live in one slot, so every referral key carries the
// same hash tag "{ref}":
//
//	<prefix>{ref}:<kind>:<id>
//
// The price is that all referral traffic lands on one slot (one master).
// Referrals and staff messages are a few per minute, not thousands per second,
// so that is acceptable; sessions and the Telegram bookkeeping — the hot path —
// stay spread over the cluster by their per-person tags. A tag per queue would
// split the load but not the person's index, which spans queues.
//
// The person-scoped referral keys (Person, Live) therefore do not match
// UserPattern: /delete reaches them through the referral package, which erases
// the person's cases and then these two keys. Every key here that holds
// personal data (Case, History, Payload, Person, Live) is written with a TTL
// by the referral scripts; the mapping keys (Topic, Message, Once) hold only
// codes and get a TTL too. Streams (Stream, Dead) hold only codes and event
// names — the personal part of an event lives in Payload — and have no TTL:
// expiring a queue would drop undelivered referrals.
//
// The builder is a separate type so that its func(string) string methods are
// not mistaken for per-person keys (see keys_test.go).

// Ready is written by every readiness probe (a keyed command proves that
// the master owning its slot accepts writes). Global, holds nothing.
func (k Keys) Ready() string { return k.prefix + "ready" }

// Referral returns the builder of referral keys.
func (k Keys) Referral() ReferralKeys { return ReferralKeys{prefix: k.prefix + "{ref}:"} }

// ReferralKeys builds the keys of package referral; all share the hash tag
// "{ref}". IDs in them are escaped like user IDs, so they contain no braces.
type ReferralKeys struct{ prefix string }

// Case is the hash holding one case (referral or handoff) by its code.
func (r ReferralKeys) Case(code string) string { return r.prefix + "case:" + escape(code) }

// History is the list of who did what when on a case.
func (r ReferralKeys) History(code string) string { return r.prefix + "hist:" + escape(code) }

// Payload is the hash of a case's pending outbox payloads (texts the person
// sent, message IDs to copy), by stream entry.
func (r ReferralKeys) Payload(code string) string { return r.prefix + "payload:" + escape(code) }

// Person is the set of codes of one person's cases (for /delete).
func (r ReferralKeys) Person(user string) string { return r.prefix + "person:" + escapeUser(user) }

// Live is the code of the person's open handoff (the chat with staff their
// messages are relayed to).
func (r ReferralKeys) Live(user string) string { return r.prefix + "live:" + escapeUser(user) }

// Topic maps a staff group's forum topic to the code of its case.
func (r ReferralKeys) Topic(group int64, thread int) string {
	return r.prefix + "topic:" + strconv.FormatInt(group, 10) + ":" + strconv.Itoa(thread)
}

// Message maps a message the bot posted in a staff group to the code of its
// case (for queues without a topic per case, where staff reply to it).
func (r ReferralKeys) Message(group int64, msgID int) string {
	return r.prefix + "msg:" + strconv.FormatInt(group, 10) + ":" + strconv.Itoa(msgID)
}

// Trace is the hash of where a case is shown in its staff group (group,
// topic, and the IDs of the bot's messages where the case has no topic of
// its own), so that they can be deleted on /delete and when the case's
// retention ends. It holds no personal data and outlives the case a little
// (TTL: the case's plus a grace period, extended by the sweep).
func (r ReferralKeys) Trace(code string) string { return r.prefix + "trace:" + escape(code) }

// Traces is the sorted set of the codes that have a Trace (scored by when
// it was made), which the sweep walks to find cases whose retention ended.
// It holds only codes and has no TTL, like the streams.
func (r ReferralKeys) Traces() string { return r.prefix + "traces" }

// Once marks an effect on a case as done (an input handled twice after a
// crash relays its message once).
func (r ReferralKeys) Once(code, token string) string {
	return r.prefix + "once:" + escape(code) + ":" + escape(token)
}

// Stream is an outbox stream ("tg:<group>" for a staff group, "hook:<service>"
// for a webhook).
func (r ReferralKeys) Stream(name string) string { return r.prefix + "outbox:" + escape(name) }

// Dead is the dead-letter stream of an outbox stream.
func (r ReferralKeys) Dead(name string) string { return r.prefix + "dead:" + escape(name) }

// Attempts counts failed deliveries of an outbox stream's entries.
func (r ReferralKeys) Attempts(name string) string { return r.prefix + "attempts:" + escape(name) }

// Lease is held by the one worker that delivers an outbox stream, so that
// entries go out in order and one group's rate limit is shared by replicas.
func (r ReferralKeys) Lease(name string) string { return r.prefix + "lease:" + escape(name) }

// Pattern matches every referral key (maintenance, tests).
func (r ReferralKeys) Pattern() string { return escapeGlob(r.prefix) + "*" }

// Anonymous usage statistics (package stats).

// StatsDay is the hash of one UTC day's usage counters, e.g.
// "putokaz:stats:2026-11-26". Its fields are names from the content (flows,
// steps, services, languages) and fixed words, never anything a person sent
// or who they are, so it holds no personal data and belongs to nobody
// (rule 3). It is written with a TTL (about 400 days) so old days age out.
func (k Keys) StatsDay(day time.Time) string {
	return k.prefix + "stats:" + day.UTC().Format(time.DateOnly)
}

// Unmatched words (package stats): what people typed that nobody understood,
// counted per language and UTC day without identifiers.

// StatsWords is the set of candidate words of one day and language, e.g.
// "putokaz:stats:words:2026-11-26:fa". It holds folded single words only
// (no numbers), kept a few days (TTL).
func (k Keys) StatsWords(day time.Time, lang string) string {
	return k.prefix + "stats:words:" + day.UTC().Format(time.DateOnly) + ":" + escape(lang)
}

// StatsWord is the HyperLogLog of the people who typed one word that day:
// it holds salted hashes of their keys, from which no key can be read back
// (TTL as StatsWords).
func (k Keys) StatsWord(day time.Time, lang, word string) string {
	return k.prefix + "stats:word:" + day.UTC().Format(time.DateOnly) + ":" + escape(lang) + ":" + escape(word)
}

// StatsSalt is the random salt of one day's word hashes; it expires soon
// after the day, and with it any way to test whether someone typed a word.
func (k Keys) StatsSalt(day time.Time) string {
	return k.prefix + "stats:salt:" + day.UTC().Format(time.DateOnly)
}

// Reminders for cases waiting unclaimed (package referral, issue 15).

// Waiting is the sorted set of the codes of cases not yet claimed (scored
// by when they were created; 0 for one the sweep found unindexed, opened
// before the index existed): the reminder pass and /waiting walk it, and
// drop codes whose case was claimed, closed, withdrawn or expired. It holds
// only codes (no personal data) and its TTL follows the newest case's.
func (r ReferralKeys) Waiting() string { return r.prefix + "waiting" }

// Supervisor console (package console). Its keys belong to staff members
// signed in to the web console, not to the people the bot serves, and to no
// case: they use <prefix>console:<kind>:<id> without a hash tag (rule 3). The
// builder is a separate type for the reason given at ReferralKeys.

// Console returns the builder of the console's keys.
func (k Keys) Console() ConsoleKeys { return ConsoleKeys{prefix: k.prefix + "console:"} }

// ConsoleKeys builds the keys of package console.
type ConsoleKeys struct{ prefix string }

// Session is one console session (JSON), by the SHA-256 of its cookie
// (so that a copy of Redis holds no cookie that signs anyone in). It holds
// the staff member's Telegram user ID and first name, the session's CSRF
// token and the staff groups they were found in. Written with a TTL (the
// session's lifetime).
func (c ConsoleKeys) Session(idHash string) string { return c.prefix + "session:" + escape(idHash) }

// LoginUsed marks signed Telegram login data as used (by its hash), so that
// a login link copied from a browser's history cannot sign in again. Holds
// "1"; written with a TTL (the age after which login data is refused anyway).
func (c ConsoleKeys) LoginUsed(hash string) string { return c.prefix + "login:" + escape(hash) }

// SignIn paces sign-in attempts from one client address, by its SHA-256
// (no address is kept in the clear), across every replica. Holds the
// theoretical arrival time of the next attempt (GCRA, Unix milliseconds);
// written with a TTL until then.
func (c ConsoleKeys) SignIn(addrHash string) string { return c.prefix + "signin:" + escape(addrHash) }

// Audit is the stream of what was done in the console: who (a staff
// member's Telegram user ID) viewed or acted on which case, when. It holds
// no message text. Entries older than the audit retention are trimmed on
// every write (XADD MINID) and the key expires that long after the last one.
func (c ConsoleKeys) Audit() string { return c.prefix + "audit" }

// CasePattern is a SCAN MATCH pattern for every case record (Case): the
// console lists cases with it. In a cluster all of them live on the master
// of the "{ref}" slot.
func (r ReferralKeys) CasePattern() string { return escapeGlob(r.prefix) + "case:*" }

// Urgent updates (package announce): announcements sent to the people
// subscribed to their topics.
//
// Every key of one announcement shares the hash tag "{ann:<id>}", so the Lua
// scripts that claim recipients, record results and check the sender's lease
// touch one slot in a cluster:
//
//	<prefix>{ann:<id>}:<kind>
//
// Meta and Lease hold no personal data. Recipients, Seen, Marks, Claimed,
// Sending and Requeued hold user keys (who is subscribed to the topic): the
// announce scripts give them a TTL (the announcement's expiry plus a day) and
// delete them as soon as the send ends (done, cancelled or expired); /delete
// removes the person from them through announce.Queue.Forget. Meta outlives
// the send a week for `putokaz announce status` and then expires. The index
// is global (rule 3) and holds only announcement IDs, scored by when they may
// be forgotten.

// Announce returns the builder of announcement keys.
func (k Keys) Announce() AnnounceKeys { return AnnounceKeys{prefix: k.prefix} }

// AnnounceKeys builds the keys of package announce. IDs in them are escaped
// like user IDs, so they contain no braces.
type AnnounceKeys struct{ prefix string }

// Index is the sorted set of every announcement ID, scored by the Unix ms
// after which its record may be forgotten.
func (a AnnounceKeys) Index() string { return a.prefix + "ann:index" }

func (a AnnounceKeys) key(id, kind string) string {
	return a.prefix + "{ann:" + escape(id) + "}:" + kind
}

// Meta is the hash of one announcement: texts, topics, expiry, approvals,
// state, counters and the position of the send.
func (a AnnounceKeys) Meta(id string) string { return a.key(id, "meta") }

// Lease is held (SET NX PX, a random token) by the one worker sending the
// announcement; every write of the send checks it.
func (a AnnounceKeys) Lease(id string) string { return a.key(id, "lease") }

// Recipients is the list of "<lang> <user>" snapshotted when the send starts.
func (a AnnounceKeys) Recipients(id string) string { return a.key(id, "rcpt") }

// Seen is the set of users already in Recipients (a person subscribed to two
// topics of one update is listed once).
func (a AnnounceKeys) Seen(id string) string { return a.key(id, "seen") }

// Marks is the set of users the update was (or was about to be) sent to: the
// idempotency mark per (announcement, person), written before the send.
func (a AnnounceKeys) Marks(id string) string { return a.key(id, "marks") }

// Claimed is the set of "<lang> <user>" entries a worker has taken from the
// queue and not yet handed to the Bot API: nothing was sent, so what a dead
// worker left here goes to Requeued and is sent later.
func (a AnnounceKeys) Claimed(id string) string { return a.key(id, "claimed") }

// Sending is the set of "<lang> <user>" entries whose request to the Bot API
// may have gone out and whose answer is not recorded: what a dead worker left
// here is counted unknown (maybe sent), never sent again.
func (a AnnounceKeys) Sending(id string) string { return a.key(id, "sending") }

// Requeued is the list of "<lang> <user>" entries a dead or stopped worker had
// claimed and not sent; they are claimed again before the rest of Recipients.
func (a AnnounceKeys) Requeued(id string) string { return a.key(id, "requeued") }

// Subscriptions to topic updates (package subscribe, issue 17).

// Subs is the person's own index of their subscriptions: a hash of topic →
// "<expiry unix seconds> <language>". Personal data: the key expires with
// its newest subscription, and /delete finds it with the rest (rule 1).
func (k Keys) Subs(user string) string { return k.user(user, "subs") }

// SubsTopic is the index of the people who follow one topic in one
// language, across people: a sorted set of user keys scored by the unix
// second their subscription expires, e.g. "putokaz:subs:shelter:fa". It
// names people, so entries past their score are dead and the key expires
// with its newest entry; erasing a person removes them from it before their
// own keys go (the person's index says which).
func (k Keys) SubsTopic(topic, lang string) string {
	return k.prefix + "subs:" + escape(topic) + ":" + escape(lang)
}

// SubsPattern is a SCAN MATCH pattern for every per-topic index.
func (k Keys) SubsPattern() string { return escapeGlob(k.prefix+"subs:") + "*" }
