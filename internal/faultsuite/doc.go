// Package faultsuite is the fault suite of the Telegram transport on
// replicated Redis: a Redis Cluster whose masters have replicas, and a
// primary with a replica under three Sentinels, each on its own
// redis-servers on loopback (internal/redistest). Two replicas of the bot
// serve the real webhook (bot.Server with the client store.Connect gives
// for the deployment's REDIS_URL) while a driver sends updates the way
// Telegram does — one at a time per chat, each re-sent until it is answered
// 2xx — and a fake Bot API counts every reply; a master (or the primary)
// is killed mid-load. The tests fail on any lost or duplicated reply and
// print the figures: updates, re-sends, lost, duplicated, how long
// /readyz said not ready and how long the longest answer took.
//
// Everything is in the tests (go test ./internal/faultsuite); each scenario
// runs for a few tens of seconds at most.
package faultsuite
