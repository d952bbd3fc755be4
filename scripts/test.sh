#!/usr/bin/env bash
# The one test command (README): sets up what a fresh machine lacks, then runs
# every check CI runs. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
FUZZTIME="${FUZZTIME:-15s}"

step() { printf '\n== %s\n' "$*"; }

# Redis: tests use the real server; start one if nothing answers.
redis_up() { redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG; }
if ! redis_up; then
  step "starting redis-server (nothing answered at $REDIS_URL)"
  if ! command -v redis-server >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/putokaz-test-redis.log
  for _ in $(seq 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "redis-server did not start; see /tmp/putokaz-test-redis.log" >&2; exit 1; }
fi

step "gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"
if [ -n "$unformatted" ]; then
  echo "these files need gofmt -w:" >&2
  echo "$unformatted" >&2
  exit 1
fi

step "go vet"
go vet ./...
# The load tool is built only with -tags loadtest (not in the production
# binary); vet that build too, so it keeps compiling.
go vet -tags loadtest ./...

step "putokaz check (default content)"
go run . check

step "fuzz (bounded, $FUZZTIME each)"
go test -run='^$' -fuzz='^FuzzLoad$' -fuzztime="$FUZZTIME" ./internal/content/
go test -run='^$' -fuzz='^FuzzInput$' -fuzztime="$FUZZTIME" ./internal/engine/
go test -run='^$' -fuzz='^FuzzFold$' -fuzztime="$FUZZTIME" ./internal/textnorm/

# Chromium: the playground's browser test (internal/playground) drives
# Debian's headless chromium and fails, never skips, without it. The emoji
# font only makes its screenshots readable.
if ! command -v chromium >/dev/null; then
  step "installing chromium (the playground's browser test needs it)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
fi

step "go test -race"
go test -race -count=1 ./...
