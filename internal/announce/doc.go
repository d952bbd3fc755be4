// Package announce sends urgent updates to the people subscribed to their
// topics: an editor's file is checked like the rest of the content, queued
// in Redis, approved by a second editor, and sent by one worker at a time
// at a bounded rate, at most once per person.
//
// Files:
//   - file.go: the update file (flows/updates/*.yaml), its check and the
//     message each language receives;
//   - html.go: the HTML Telegram accepts;
//   - queue.go: the queue in Redis and what the commands do to it (add,
//     approve, pause, resume, cancel, status, list, forget a person);
//   - scripts.go: the sender's steps, one Lua script each, all on one
//     announcement's hash slot and fenced by its lease;
//   - worker.go: the worker every `putokaz serve` runs, and the interfaces
//     it needs (Subscribers, Deliverer);
//   - metrics.go: its Prometheus metrics.
//
// The guarantee: a person's idempotency mark is written when they are claimed,
// and each claimed person is marked "sending" just before the request to the
// Bot API. A kill leaves the claimed ones to be sent by the next worker and
// only the ones being sent unknown (counted, never sent again): nobody gets
// one update twice.
package announce
