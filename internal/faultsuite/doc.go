// Package faultsuite is the fault suite of issue 16: the one place to run
// to see the Telegram transport keep its promises under faults, each
// scenario on its own redis-servers on loopback (internal/testkit/redistest), with
// two replicas of the bot serving the real webhook (bot.Server with the
// client store.Connect gives for the deployment's REDIS_URL), a driver
// that sends updates the way Telegram does — one at a time per chat, each
// re-sent until it is answered 2xx — and a fake Bot API that counts every
// reply:
//
//   - TestRedisRestart: Redis (append-only file on) killed mid-load and
//     started again 3 s later;
//   - TestReplicaKilled: a bot replica, a real process (internal/testkit/proctest),
//     killed with SIGKILL mid-answer and restarted, its chats' re-sends
//     taken over by the other replica;
//   - TestSameUpdateToBothReplicas: every update delivered to both
//     replicas at once;
//   - TestClusterMasterFailover: a master of a Redis Cluster of 3 masters
//     and 3 replicas killed mid-load;
//   - TestSentinelFailover: the primary under three Sentinels killed
//     mid-load;
//   - TestCrisisSpike: 300 people writing within 10 s to the bot with its
//     production limits, with and without a fake 429 limit at the Bot API
//     (the load tool's spike, internal/loadtest).
//
// Each fails on any lost or duplicated reply (or a lost session write) and
// logs its figures: `go test -race -v ./internal/faultsuite` (about two
// minutes on 2 cores). Proven elsewhere, with the finer points a load test
// cannot pin: bot/recover_test.go (a restart between "replies sent" and
// "update recorded", lease takeover rules), bot/recover_kill_test.go (a
// four-message answer cut by SIGKILL), bot/e2e_test.go (forged updates),
// bot/state_test.go (/readyz), internal/store (go-redis logs as JSON,
// /delete with a master down).
package faultsuite
