package cacheagent

import (
	"bufio"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/securecached/securecached/internal/testwire"
)

// logRecorder keeps the message of every log record, and the whole record
// (attributes included, the handler's own too) as text.
type logRecorder struct {
	mu    *sync.Mutex
	msgs  *[]string
	full  *[]string
	attrs []slog.Attr
}

func newLogRecorder() *logRecorder {
	return &logRecorder{mu: &sync.Mutex{}, msgs: new([]string), full: new([]string)}
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *l
	c.attrs = append(slices.Clone(l.attrs), as...)
	return &c
}
func (l *logRecorder) WithGroup(string) slog.Handler { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	text := r.Message
	for _, a := range l.attrs {
		text += " " + a.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		text += " " + a.String()
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.msgs = append(*l.msgs, r.Message)
	*l.full = append(*l.full, text)
	return nil
}

func (l *logRecorder) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(*l.msgs)
}

// records returns every record as text, attributes included.
func (l *logRecorder) records() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(*l.full)
}

// TestVerboseLogsConversation: at -vv the agent logs each request line
// and reply as memcached 1.6.18 prints them at -vv (observed with
// /usr/bin/memcached -vv), one log message per memcached line; at -v it
// logs none of it.
func TestVerboseLogsConversation(t *testing.T) {
	steps := []struct{ req, resp string }{
		{"set a 0 0 1\r\nx\r\n", "STORED\r\n"},
		{"set b 0 0 1 noreply\r\ny\r\nget a zz b\r\n", "VALUE a 0 1\r\nx\r\nVALUE b 0 1\r\ny\r\nEND\r\n"},
		{"delete b\r\n", "DELETED\r\n"},
		{"delete b\r\n", "NOT_FOUND\r\n"},
	}
	want := []string{
		"<1 new auto-negotiating client connection",
		"1: Client using the ascii protocol",
		"<1 set a 0 0 1",
		">1 STORED",
		"<1 set b 0 0 1 noreply",
		">1 NOREPLY STORED",
		"<1 get a zz b",
		">1 sending key a",
		">1 sending key b",
		">1 END",
		"<1 delete b",
		">1 DELETED",
		"<1 delete b",
		">1 NOT_FOUND",
	}
	for _, level := range []string{"-v", "-vv"} {
		t.Run(level, func(t *testing.T) {
			rec := newLogRecorder()
			st := newStack(t, stackOptions{args: level, logger: slog.New(rec)})
			c := st.dial(t)
			r := bufio.NewReader(c)
			for _, s := range steps {
				testwire.Exchange(t, c, r, s.req, s.resp)
			}
			// Each line is logged before its reply is sent, so all are in.
			var got []string
			for _, m := range rec.messages() {
				if strings.HasPrefix(m, "<") || strings.HasPrefix(m, ">") || strings.HasPrefix(m, "1:") {
					got = append(got, m)
				}
			}
			exp := want
			if level == "-v" {
				exp = nil
			}
			if !slices.Equal(got, exp) {
				t.Errorf("%s logged\n%s\nwant\n%s", level, strings.Join(got, "\n"), strings.Join(exp, "\n"))
			}
		})
	}
}

// TestVerboseNamesProtocol: with -B (or -Y) memcached announces the
// protocol a client will speak, and negotiates nothing.
func TestVerboseNamesProtocol(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"-vv", "<1 new auto-negotiating client connection"},
		{"-vv -B ascii", "<1 new ascii client connection."},
		{"-vv -B binary", "<1 new binary client connection."},
	} {
		t.Run(tc.args, func(t *testing.T) {
			rec := newLogRecorder()
			st := newStack(t, stackOptions{args: tc.args, logger: slog.New(rec)})
			c := st.dial(t)
			if strings.HasSuffix(tc.args, "binary") {
				noop := []byte{0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
				testwire.Exchange(t, c, bufio.NewReader(c), string(noop), string(append([]byte{0x81}, noop[1:]...)))
			} else {
				testwire.Exchange(t, c, bufio.NewReader(c), "mn\r\n", "MN\r\n")
			}
			msgs := rec.messages()
			if !slices.Contains(msgs, tc.want) {
				t.Errorf("no %q in\n%s", tc.want, strings.Join(msgs, "\n"))
			}
			negotiated := slices.ContainsFunc(msgs, func(m string) bool { return strings.HasPrefix(m, "1: Client using the ") })
			if auto := tc.args == "-vv"; negotiated != auto {
				t.Errorf("logged negotiation %v, want %v:\n%s", negotiated, auto, strings.Join(msgs, "\n"))
			}
		})
	}
}

// TestVerboseNeverLogsPassword: with -Y, memcached at -vv and -vvv logs
// the authentication replies but never the "set" that carries the
// password; after it, requests are logged as usual.
func TestVerboseNeverLogsPassword(t *testing.T) {
	auth := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(auth, []byte("alice:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := newLogRecorder()
	st := newStack(t, stackOptions{args: "-vvv -Y " + auth, logger: slog.New(rec)})
	c := st.dial(t)
	r := bufio.NewReader(c)
	testwire.Exchange(t, c, r, "set a 0 0 12\r\nalice s3cre7\r\n", "CLIENT_ERROR authentication failure\r\n")
	testwire.Exchange(t, c, r, "set a 0 0 12\r\nalice s3cret\r\n", "STORED\r\n")
	testwire.Exchange(t, c, r, "mn\r\n", "MN\r\n")
	msgs := rec.messages()
	for _, m := range msgs {
		if strings.Contains(m, "s3cre") {
			t.Errorf("password logged: %q", m)
		}
	}
	for _, want := range []string{"<1 new ascii client connection.", ">1 CLIENT_ERROR authentication failure", ">1 STORED", "<1 mn", ">1 MN"} {
		if !slices.Contains(msgs, want) {
			t.Errorf("no %q in\n%s", want, strings.Join(msgs, "\n"))
		}
	}
}

// TestTrustedAgentLogsNoContent: at -vvv a trusted agent logs connections
// but no command, key or value: its log lines leave the enclave. The same
// conversation with an untrusted agent shows the sentinel, so the test
// would see a leak.
func TestTrustedAgentLogsNoContent(t *testing.T) {
	const canary = "CANARYKEY9"
	for _, trusted := range []bool{false, true} {
		rec := newLogRecorder()
		st := newStack(t, stackOptions{trusted: trusted, args: "-vvv", logger: slog.New(rec)})
		c := st.dial(t)
		r := bufio.NewReader(c)
		testwire.Exchange(t, c, r, "set "+canary+" 0 0 6\r\n"+canary[:6]+"\r\n", "STORED\r\n")
		testwire.Exchange(t, c, r, "get "+canary+"\r\n", "VALUE "+canary+" 0 6\r\n"+canary[:6]+"\r\nEND\r\n")
		testwire.Exchange(t, c, r, "mg "+canary+" v\r\n", "VA 6\r\n"+canary[:6]+"\r\n")
		testwire.Exchange(t, c, r, "incr "+canary+" 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
		var leaked, opened, warned bool
		for _, m := range rec.records() {
			leaked = leaked || strings.Contains(m, canary[:6])
			opened = opened || strings.Contains(m, "new auto-negotiating client connection")
			warned = warned || strings.Contains(m, "only from an untrusted cache agent")
		}
		if leaked != !trusted || !opened || warned != trusted {
			t.Errorf("trusted=%v: content in the log %v, connection logged %v, warning %v", trusted, leaked, opened, warned)
		}
	}
}
