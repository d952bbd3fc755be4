package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// LogRedisTo sends go-redis's own log lines (connection pool, cluster and
// sentinel state) to log as structured lines, instead of the plain text it
// writes to stderr by default, which breaks JSON log parsing exactly during
// outages. It is process-wide (go-redis has one logger).
func LogRedisTo(log *slog.Logger) {
	redis.SetLogger(redisLogger{log.With("part", "go-redis")})
}

// redisLogger adapts slog to go-redis's Printf-style logger. Its lines name
// servers and errors, never keys or values.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, v...))
	msg = strings.TrimPrefix(msg, "redis: ")
	l.log.WarnContext(ctx, "redis client", "detail", msg)
}
