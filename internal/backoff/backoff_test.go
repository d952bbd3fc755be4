package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	start := time.Now()
	if err := Wait(t.Context(), 20*time.Millisecond); err != nil || time.Since(start) < 20*time.Millisecond {
		t.Fatalf("Wait returned %v after %v, want nil after 20ms", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start = time.Now()
	if err := Wait(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("Wait on a cancelled context returned %v after %v", err, time.Since(start))
	}
	if err := Wait(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait(0) on a cancelled context = %v", err)
	}
	if err := Wait(t.Context(), -time.Second); err != nil {
		t.Fatalf("Wait(<0) = %v", err)
	}
}

func TestWindow(t *testing.T) {
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{1, 10 * time.Millisecond}, {2, 20 * time.Millisecond}, {4, 80 * time.Millisecond}, {5, 100 * time.Millisecond},
		{64, 100 * time.Millisecond}} {
		if got := Window(10*time.Millisecond, 100*time.Millisecond, c.n); got != c.want {
			t.Errorf("Window(10ms, 100ms, %d) = %v, want %v", c.n, got, c.want)
		}
	}
	// Doubling past the int64 range must not wrap to a negative pause.
	if got := Window(time.Duration(1)<<62, time.Hour, 3); got != time.Hour {
		t.Errorf("overflowing window = %v, want the cap", got)
	}
}
