package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
)

// logger is -v in memcached's spirit, on slog: -v warnings and errors, -vv
// connection opens and closes, -vvv every request line. Each method checks
// the level before building anything, so logging costs one atomic load per
// call when it is off.
type logger struct {
	level atomic.Int32 // memcached's verbosity, 0..3
	out   *slog.Logger
}

func newLogger(w io.Writer, verbose int) *logger {
	l := &logger{out: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	l.level.Store(int32(min(verbose, 3)))
	return l
}

func (l *logger) set(level uint32) { l.level.Store(int32(min(level, 3))) }

func (l *logger) verbosity() int { return int(l.level.Load()) }

func (l *logger) warn(msg string, err error) {
	if l.level.Load() >= 1 {
		l.out.Warn(msg, "err", err)
	}
}

func (l *logger) connNew(id uint64) {
	if l.level.Load() >= 2 {
		l.out.Info(fmt.Sprintf("<%d new auto-negotiating client connection", id))
	}
}

func (l *logger) connClosed(id uint64) {
	if l.level.Load() >= 2 {
		l.out.Info(fmt.Sprintf("<%d connection closed.", id))
	}
}

func (l *logger) connRejected() {
	if l.level.Load() >= 1 {
		l.out.Warn("Too many open connections")
	}
}

func (l *logger) idleClose(id uint64) {
	if l.level.Load() >= 2 {
		l.out.Info(fmt.Sprintf("<%d closing idle connection", id))
	}
}

// input logs the request lines of what a client sent (first 200 bytes of
// each line; binary requests as a length).
func (l *logger) input(id uint64, p []byte) {
	if l.level.Load() < 3 {
		return
	}
	if len(p) > 0 && p[0] == 0x80 {
		l.out.Debug(fmt.Sprintf("<%d binary request bytes=%d", id, len(p)))
		return
	}
	for _, line := range bytes.Split(p, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		if len(line) > 200 {
			line = line[:200]
		}
		l.out.Debug(fmt.Sprintf("<%d %q", id, line))
	}
}
