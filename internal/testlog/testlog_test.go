package testlog_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"putokaz/internal/testlog"
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
