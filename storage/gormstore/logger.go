package gormstore

import (
	"context"
	"log/slog"
	"time"

	"gorm.io/gorm/logger"
	"gorm.io/gorm/utils"
)

// slowQueryLogger is gorm's logger: it reports slow statements at warn
// level, without their SQL or parameters (only the calling line), and
// nothing else. Errors are returned to callers, who decide what to log.
type slowQueryLogger struct {
	log       *slog.Logger
	threshold time.Duration
}

func (l slowQueryLogger) LogMode(logger.LogLevel) logger.Interface { return l }
func (l slowQueryLogger) Info(context.Context, string, ...any)     {}
func (l slowQueryLogger) Warn(context.Context, string, ...any)     {}
func (l slowQueryLogger) Error(context.Context, string, ...any)    {}

func (l slowQueryLogger) Trace(ctx context.Context, begin time.Time, _ func() (string, int64), _ error) {
	if elapsed := time.Since(begin); elapsed >= l.threshold {
		l.log.WarnContext(ctx, "gormstore: slow query", "elapsed", elapsed, "source", utils.FileWithLineNum())
	}
}
