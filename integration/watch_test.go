package integration

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/internal/testwire"
)

// watchLine drops what differs between servers and runs from a watch
// line: the time, the global id and the connection number.
var watchVolatile = regexp.MustCompile(`^ts=\d+\.\d+ gid=\d+ | cfd=\d+`)

// readWatch reads the watcher's lines until none has come for a while,
// keeping those whose type starts with typ, normalized.
func readWatch(t *testing.T, c net.Conn, r *bufio.Reader, typ string) []string {
	t.Helper()
	var out []string
	for {
		c.SetReadDeadline(time.Now().Add(2 * time.Second)) // memcached's logger thread sleeps up to a second
		line, err := r.ReadString('\n')
		if err != nil {
			return out
		}
		if strings.Contains(line, " type="+typ) {
			out = append(out, watchVolatile.ReplaceAllString(strings.TrimSuffix(line, "\n"), ""))
		}
	}
}

// TestWatchAsMemcached: the fetchers and mutations streams of "watch"
// carry the same lines as memcached's (up to the time, line number and
// connection number) for text and meta commands, including the lookups
// memcached logs for stores, deletes, arithmetic and touches, and an
// untrusted agent serves them on a plaintext connection.
func TestWatchAsMemcached(t *testing.T) {
	run := func(t *testing.T, s *testenv.Server) []string {
		w := s.Dial(t)
		wr := bufio.NewReader(w)
		w.SetDeadline(time.Now().Add(20 * time.Second))
		testwire.Exchange(t, w, wr, "watch fetchers mutations\r\n", "OK\r\n")
		c := s.Dial(t)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		cr := bufio.NewReader(c)
		testwire.Exchange(t, c, cr, "set k%201 0 100 3\r\nabc\r\nadd k%201 0 0 1\r\nx\r\nset n 5 0 2\r\nhi\r\nappend n 0 0 3\r\nabc\r\n"+
			"ms m 2 T0\r\nhi\r\nms m 2 MA\r\nyo\r\nms m 1 MR\r\nz\r\nset c 0 0 1\r\n5\r\nincr c 2\r\nincr nope 1\r\n"+
			"touch c 10\r\ntouch nope 10\r\ngat 10 c nope\r\nget k%201 nokey n\r\nmg m v\r\nmg zz v\r\n"+
			"delete k%201\r\ndelete k%201\r\nmd m\r\nmd m q\r\nreplace nope 0 0 1\r\nx\r\ncas n 0 0 1 999\r\nx\r\nmn\r\n",
			"STORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\nHD\r\nHD\r\nHD\r\nSTORED\r\n7\r\nNOT_FOUND\r\n"+
				"TOUCHED\r\nNOT_FOUND\r\nVALUE c 0 1\r\n7\r\nEND\r\nVALUE k%201 0 3\r\nabc\r\nVALUE n 5 5\r\nhiabc\r\nEND\r\nVA 1\r\nz\r\nEN\r\n"+
				"DELETED\r\nNOT_FOUND\r\nHD\r\nNF\r\nNOT_STORED\r\nEXISTS\r\nMN\r\n")
		return readWatch(t, w, wr, "item_")
	}
	mc := run(t, testenv.StartMemcached(t))
	if len(mc) < 20 {
		t.Fatalf("memcached gave %d lines: %q", len(mc), mc)
	}
	sc := run(t, testenv.StartSecurecached(t, "--untrusted"))
	if !slices.Equal(sc, mc) {
		t.Errorf("watch lines differ:\n%s", lineDiff(sc, mc))
	}
}

// lineDiff shows two line lists side by side where they differ.
func lineDiff(got, want []string) string {
	var b strings.Builder
	for i := range max(len(got), len(want)) {
		g, w := "", ""
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		mark := "  "
		if g != w {
			mark = "!="
		}
		fmt.Fprintf(&b, "%s securecached %q\n   memcached    %q\n", mark, g, w)
	}
	return b.String()
}

// TestWatchAndMetaDumpRefusedInClear: a trusted cache agent serves watch
// and metadump only over TLS; on plaintext, which passes the untrusted
// gateway, they are refused with the reason.
func TestWatchAndMetaDumpRefusedInClear(t *testing.T) {
	s := testenv.StartSecurecached(t)
	c := s.Dial(t)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	testwire.Exchange(t, c, r, "watch\r\n",
		"CLIENT_ERROR watch refused: this cache agent is trusted and the connection is not TLS; keys must not leave the enclave in clear\r\n")
	testwire.Exchange(t, c, r, "lru_crawler metadump all\r\n",
		"CLIENT_ERROR metadump refused: this cache agent is trusted and the connection is not TLS; keys must not leave the enclave in clear\r\n")
}

// TestMetaDumpAsMemcached: the same items give the same metadump lines,
// up to the times (each server's clock) and CAS numbering; -W refuses
// watch as memcached's does.
func TestMetaDumpAsMemcached(t *testing.T) {
	volatile := regexp.MustCompile(` exp=\d+| la=\d+`)
	dump := func(t *testing.T, s *testenv.Server) string {
		c := s.Dial(t)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		testwire.Exchange(t, c, r, "set a 0 0 1\r\nx\r\nset b%20c 3 100 2\r\nyy\r\nset big 0 0 3000\r\n"+strings.Repeat("z", 3000)+"\r\nget a\r\n",
			"STORED\r\nSTORED\r\nSTORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n")
		io.WriteString(c, "lru_crawler metadump all\r\n")
		var lines []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("metadump: %v after %q", err, lines)
			}
			if line == "END\r\n" {
				break
			}
			lines = append(lines, volatile.ReplaceAllString(line, ""))
		}
		// memcached's crawler interleaves the classes; the order is not
		// part of the format.
		slices.Sort(lines)
		testwire.Exchange(t, c, r, "watch\r\n", "CLIENT_ERROR watch commands not allowed\r\n")
		return strings.Join(lines, "")
	}
	want := dump(t, testenv.StartMemcached(t, "-W"))
	got := dump(t, testenv.StartSecurecached(t, "--untrusted", "-W"))
	if got != want {
		t.Errorf("metadump:\nsecurecached %q\nmemcached    %q", got, want)
	}
}

// TestWatchOverTLSOnTrustedAgent: over TLS, which ends inside the trusted
// cache agent, watch and metadump are served; the watcher gets the lines
// another TLS client's requests produce.
func TestWatchOverTLSOnTrustedAgent(t *testing.T) {
	s := testenv.StartSecurecached(t, "-Z", "--state-dir", t.TempDir())
	dial := func() (*tls.Conn, *bufio.Reader) {
		c, err := tls.Dial("tcp", s.Addr, &tls.Config{InsecureSkipVerify: true}) // the certificate is not what this test checks
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c, bufio.NewReader(c)
	}
	w, wr := dial()
	testwire.Exchange(t, w, wr, "watch mutations\r\n", "OK\r\n")
	c, cr := dial()
	testwire.Exchange(t, c, cr, "set secret 0 0 1\r\nx\r\n", "STORED\r\n")
	if got := readWatch(t, w, wr, "item_store"); !slices.Equal(got, []string{"type=item_store key=secret status=stored cmd=set ttl=0 clsid=1 size=1"}) {
		t.Errorf("watcher over TLS got %q", got)
	}
	io.WriteString(c, "lru_crawler metadump all\r\n")
	line, _ := cr.ReadString('\n')
	if !strings.HasPrefix(line, "key=secret exp=-1 ") {
		t.Errorf("metadump over TLS: %q", line)
	}
}
