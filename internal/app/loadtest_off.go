//go:build !loadtest

package app

import (
	"context"
	"fmt"
)

const loadtestUsage = "load-test the Telegram transport (only in a build with -tags loadtest)"

// loadtestCmd answers `putokaz loadtest` in the production build, which
// leaves out the load tool and its fake Bot API (loadtest.go).
func loadtestCmd(_ context.Context, env Env, _ []string) int {
	fmt.Fprintln(env.Stderr, "putokaz loadtest: not in this build; run it from a checkout with `go run -tags loadtest . loadtest ...` (or `go build -tags loadtest .`)")
	return 2
}
