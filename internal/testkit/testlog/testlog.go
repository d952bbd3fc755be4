// Package testlog captures what code under test writes from its own
// goroutines (logs, a child process's output) for assertions and failure
// messages.
package testlog

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
)

// Buffer is a bytes.Buffer safe for concurrent writers and readers.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// T is a writer to t.Log, quiet unless the test runs with -v (a failing
// test's log then shows what was written).
func T(t testing.TB) io.Writer { return tWriter{t} }

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// Names reports whether logs name secret: a message text, a name, or a
// number such as a chat id or a coordinate. A number counts only where it
// stands alone (not inside a longer run of digits or hex letters), so that a
// timestamp ("18:24:44.815…" holds both "501"-like digits and "44.81") or a
// salted hash that happens to contain it does not fail a test one run in a
// few hundred.
func Names(logs, secret string) bool {
	if !isNumber(secret) {
		return strings.Contains(logs, secret)
	}
	for i := 0; ; {
		j := strings.Index(logs[i:], secret)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(secret)
		if (start == 0 || !isWordByte(logs[start-1])) && (end == len(logs) || !isWordByte(logs[end])) {
			return true
		}
		i = start + 1
	}
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

func isWordByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
