package testlog_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"putokaz/internal/testkit/testlog"
)

func TestBufferTakesConcurrentWriters(t *testing.T) {
	var b testlog.Buffer
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { fmt.Fprintf(&b, "line %d\n", i); _ = b.String() })
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 50 {
		t.Fatalf("%d lines, want 50", n)
	}
}

func TestTWriterReportsFullLength(t *testing.T) {
	if n, err := testlog.T(t).Write([]byte("log line\n")); n != 9 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
}

// TestNames: a number is found where it stands alone (a JSON value, after
// "tg:"), never inside a timestamp's digits or a hash; text anywhere.
func TestNames(t *testing.T) {
	line := `{"time":"2026-12-02T18:24:30.550189714Z","chat":"c7c231e145014","text":"Zdravo"}`
	for _, c := range []struct {
		logs, secret string
		want         bool
	}{
		{line, "501", false},
		{line, "Zdravo", true},
		{`{"chat":501,"x":1}`, "501", true},
		{`user tg:501 wrote`, "501", true},
		{`501`, "501", true},
		{`5010 15010`, "501", false},
		{`x5014 501`, "501", true},
		{`"time":"2026-12-02T18:24:44.815Z"`, "44.81", false},
		{`"lat":44.81,`, "44.81", true},
	} {
		if got := testlog.Names(c.logs, c.secret); got != c.want {
			t.Errorf("Names(%q, %q) = %v, want %v", c.logs, c.secret, got, c.want)
		}
	}
}
