package store

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

// go-redis's log lines come out as JSON like every other line.
func TestRedisLoggerWritesJSON(t *testing.T) {
	var buf bytes.Buffer
	l := redisLogger{slog.New(slog.NewJSONHandler(&buf, nil))}
	l.Printf(context.Background(), "redis: %s:%d: connection pool: failed to dial: %s", "10.0.0.1", 6379, "connection refused")
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("not one JSON line: %q (%v)", buf.String(), err)
	}
	if line["msg"] != "redis client" || line["level"] != "WARN" ||
		line["detail"] != "10.0.0.1:6379: connection pool: failed to dial: connection refused" {
		t.Errorf("line = %v", line)
	}
}
