// Package bot is the Telegram transport: it puts the conversation on Telegram
// with at-least-once delivery and an exactly-once effect, per-chat order across
// replicas, rate-limited sending, and the operational endpoints.
//
// It uses go-telegram/bot for its models (models.Update, ...) and error values,
// but none of its runtime: the library's webhook handler and poller confirm
// updates before handling them, run handlers unordered without recover, have
// no rate limiting or retries, and match commands by bytes instead of UTF-16
// units. Instead:
//
//   - webhook.go — our own http.Handler: constant-time secret check (401),
//     body limit, and 200 only after the update is handled (or safely
//     dropped); 503/500 make Telegram re-send.
//   - poll.go — our own getUpdates loop that confirms an offset only after
//     the updates below it are handled.
//   - dispatch.go — the one path both share (Dispatcher.Process →
//     handle): classify (input.go), wait for the chat, begin (dedupe on
//     update_id, the chat's Redis lease with a fencing token, renewed
//     while handling, and the person's session), run, reply, finish;
//     recover, shutdown. Per-chat serialisation is an in-process lock,
//     then the Redis lease (both from internal/lease).
//   - attempt.go — the steps of that path under the lease: the
//     conversation gets the session begin read as a conversation.Session
//     (Conversation.HandleSession) and stages the next one; the replies
//     go out; finish writes the session with the done mark; poison
//     updates are dropped after Limits.UpdateAttempts, unsent replies kept
//     for the re-delivery instead of asking the conversation twice.
//   - state.go — the two Lua scripts (begin, finish) that are the only Redis
//     round trips of an update, reading and writing the person's session too
//     (session.go: what finish writes, only while the lease is ours); a
//     memory version for running without Redis.
//   - recover.go — exactly once through crashes: ends of updates that Redis
//     could not record kept in memory and recorded before the chat's next
//     update; lease tokens that name their process and update, a heartbeat
//     per process, and the takeover of a dead handler's lease by the
//     re-delivery of its update; the reasons of 503/500 answers.
//   - recover_progress.go — a killed process repeats at most the message in
//     flight: the count of an update's reply groups sent is recorded after
//     each group, and the re-delivery that takes the lease over skips them.
//   - sender.go, limiter.go, lane.go, api.go — the one outbound path
//     (NewSender, built first: other packages send through it before the
//     Server exists, and it learns the bot's username from getMe):
//     per-chat pacing for every message, the global limit for bulk lanes
//     only (Lane: emergency, reply, staff, bulk — in that priority when
//     several wait), 429 retry_after honoured (a global one by every
//     lane), 5xx/network retries with backoff (internal/backoff, shared
//     with the referral outbox), 403 marks the chat inactive (inactive.go,
//     which also runs the app's BlockedHook when a person blocks the bot);
//     a small JSON client whose errors match the library's.
//   - input.go, command.go, render.go — update → engine.Input (with its
//     engine.Origin: the person's chat, message and update, which the
//     referral desk reads from the effects), UTF-16-correct command
//     parsing, engine.Message → sendMessage with our own keyboard JSON.
//   - exit.go — the quick exit (/exit): the private chat's message IDs are
//     recorded (keys.ChatMessages, 48 h) and deleted with deleteMessages
//     before the answer; and an update that erased its person (/delete)
//     leaves no key that names the chat (its done mark is keyed by
//     update_id alone). Effects wraps the conversation's effect handler.
//   - server.go — Server: New(sender, Handlers{Conversation, Staff,
//     Commands, Blocked}), everything given at construction; Run/Serve
//     with graceful drain, /healthz, /readyz, /metrics, setMyCommands,
//     setWebhook / deleteWebhook.
//
// Logs never contain message text, names, phone numbers or locations; chat IDs
// appear only as an HMAC pseudonym (Config.LogSalt).
//
// Package botapitest is a fake Bot API server for tests and the load tool.
package bot
