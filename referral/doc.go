// Package referral turns the engine's referral and handoff effects into cases
// that staff receive, and carries the conversation between a person and staff
// both ways. Its Desk implements conversation.EffectHandler (Desk.Apply) and
// conversation.StatusLookup (Desk.ReferralStatus). It knows no Telegram:
// where cases are shown is a Staff (the Telegram side is package
// referral/telegramstaff, wired in by the app), what a person's message came
// from arrives on the effect (engine.Origin), and the staff side's failures
// arrive as this package's errors (ErrRejected, ErrForbidden, ErrNotFound,
// ErrUnavailable, *RateLimitError).
//
// # Cases
//
// A case is a referral (consent, the service's answers) or a handoff (a live
// chat with staff). Each has a code (PK-XXXX). Its record (Case) holds the
// person's user ID, service, language, creation time, consent time and
// version, answers, status (received → claimed → closed, or withdrawn after
// /delete) and where staff see it (group, forum topic, card message); its
// history lists who did what when (staff user IDs are stored there, never
// logged). Every key holding personal data has a TTL: an open case lives
// Retention+SafetyMargin after its last activity (refreshed on activity), a
// closed or withdrawn one Retention after closing.
//
// # Nothing is lost: the outbox
//
// Everything that must reach staff (the case card and its edits when the
// case is claimed, closed or withdrawn, the person's messages, emergency
// alerts, "the person left", "the person withdrew", taking a case back),
// the person (claimed/closed notices that resume the conversation; for a
// referral, "staff wrote" and "closed", which start and end its
// conversation) or a webhook is an
// entry of a Redis stream, written by the SAME Lua script that changes the
// record. So a referral the person is told about always has its delivery
// queued: Apply returns before the person sees the code, and the script is
// all-or-nothing. Streams:
//
//	tg:<group>      one per staff group (Staff.Stream; "staff:<group>" with
//	                MemoryStaff): cards, card edits, relays, alerts, notices
//	person          claimed/closed notices to people in a handoff; replied/
//	                closed events of referrals (engine.EventCaseMessage,
//	                EventCaseClosed)
//	hook:<service>  webhook events of one service
//
// Each stream is consumed by a consumer group; one worker at a time holds the
// stream's lease (so entries go out in order, and one group's Telegram rate
// limit is not multiplied by the number of replicas). A worker first takes
// over entries a dead consumer left (XAUTOCLAIM after MinIdle; newer entries
// wait until then, to keep the order), then its own failed entries, then new
// ones. A failure is retried with backoff; after Attempts failures the entry
// moves to the dead-letter stream, an error is logged and counted.
//
// Delivery is idempotent where Telegram allows it: the topic ID and the card
// message ID are written to the record as soon as Telegram returns them, and
// a re-delivered "open" entry whose record has a card posts nothing. (Telegram
// has no idempotency key: a crash in the microseconds between Telegram's
// answer and that write would post the card again.) Inputs handled twice
// after a crash relay their message once (a per-update marker in the same
// script). Stream entries hold only the code and the event name; the personal
// part (a relayed text) lives in the case's Payload hash, which has a TTL and
// is erased by /delete, and the outbox reads the record at delivery time — so
// an erased referral's answers are never posted later.
//
// # Taking a case back from the staff group
//
// Where a case is shown — its group, its forum topic, and the bot's
// messages for it where it has no topic of its own (card, relays, notices)
// — is kept apart from the case in its trace (keys.ReferralKeys.Trace: no
// personal data, a TTL a week longer than the case's). On /delete the
// erase script queues "withdrawn" (an open case) or "erased" (a closed one
// staff saw); when a case's retention ends, the sweep (Desk.Sweep, every
// Config.SweepEvery, under Run) finds its trace without a case and queues
// "expired" — once, whichever replica sweeps. Their delivery deletes the
// case's topic (deleteForumTopic) or its messages (deleteMessages), forgets
// the trace, and after /delete tells staff, naming only the case's code, in
// the group's General topic (or the queue's shared topic). A refusal
// (the bot may not delete messages, the topic is gone) is counted
// (putokaz_referral_staff_erased_total{result="refused"}) and logged as an
// error, not retried; other failures are retried like any entry.
//
// # A referral's conversation
//
// Staff writing in a referral's topic reach the person under a header that
// names the service and the code (common.case_talk.from, in the person's
// language). The messages the person got are mapped to the case, so that a
// Telegram reply to one reaches it (Desk.ReplyCase, the conversation's
// CaseLookup), and the person's conversation is told (evReplied): until
// they leave it or staff close the case, what they type goes to the case
// (engine.EffectRelay with Code). When staff close a referral, its person's
// conversation is told (evClosed → engine.EventCaseClosed): it stops
// relaying and, for a service with notify_closed in the directory, tells
// the person in one message naming the code.
//
// # Staff
//
// Staff is where cases are shown: telegramstaff.Staff (forum topics in staff
// groups, through bot.Sender) or MemoryStaff (the playground and tests); it
// also names a staff group's outbox stream (Staff.Stream: "tg:<group>" on
// Telegram). The staff actions (Claim, Reply, Note, Close) are methods of
// Desk, called by telegramstaff.Handler for Telegram updates or by
// MemoryStaff programmatically. An open case's card
// says what writing in its topic does and how to add a note
// (staff.guide.card); a recorded /note is acknowledged with a ✍ reaction
// (setMessageReaction), not a message; /help in the group lists the staff
// commands (staff.guide.help).
//
// # Codes of live chats
//
// A handoff's code is drawn by the engine like a referral's
// (engine.EffectHandoff.Code) and shown to the person when the chat starts;
// startHandoff stores the case under it, or fails with
// conversation.ErrCodeTaken so that the input is handled again with a fresh
// one. Only a chat reopened by a message after its case was closed draws its
// own code (newCode): the person was shown none.
//
// # Nothing waits unseen: reminders and /waiting
//
// Every new case is indexed while unclaimed (keys.ReferralKeys.Waiting).
// The reminder pass (Desk.Remind, every Config.RemindEvery under Run)
// queues a reminder (evReminder, in the case's topic) once the case waited
// its service's claim_within (directory; working hours) unclaimed, and a
// second one (evReminder and evEscalate, the General topic) after the same
// time again — each once, by one script that checks the status and the
// count (store.remind), whatever the replicas and restarts; the outbox
// delivers them. Desk.Waiting lists the waiting cases, most overdue
// first, for /waiting in a staff group and other staff tools.
//
// # Without Telegram (the playground)
//
//	mem := referral.NewMemoryStaff()
//	svc, err := referral.New(referral.Options{Store: referral.NewMemoryStore(), Staff: mem,
//		Content: holder, Config: referral.Config{Queues: map[string]referral.Queue{referral.AnyService: {}}}})
//	mem.Bind(svc)
//	conv := conversation.New(sessions, eng, holder, svc, log)
//	conv.Statuses = svc
//	go svc.Run(ctx, conv)
//
// A staff pane shows mem.Topics() (case cards and what the person sent) and
// calls mem.Claim, Reply, Note and Close; what reaches the person from staff
// (replies, "a staff member is with you", "the chat ended") waits in
// mem.TakePerson(user).
//
// Logs never contain message text, answers, names or user IDs; codes and
// user IDs appear only as a salted hash.
package referral
