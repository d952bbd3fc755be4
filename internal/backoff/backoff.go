// Package backoff holds the two pieces every retry loop needs: a pause that
// ends early when its context does, and the capped exponential window a
// retry's pause is drawn from. The transport (bot) and the referral outbox
// both use it, so neither reaches into the other for a sleep.
package backoff

import (
	"context"
	"time"
)

// Wait waits d, or until ctx is done (then it returns ctx's error). A d of
// zero or less returns at once, with ctx's error if it is done.
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Window is the pause window after the n-th failure (n ≥ 1): base doubled
// n-1 times, capped at max (also where doubling overflows). Callers draw
// their jitter from it.
func Window(base, max time.Duration, n int) time.Duration {
	d := base << min(n-1, 20)
	if d > max || d <= 0 {
		d = max
	}
	return d
}
