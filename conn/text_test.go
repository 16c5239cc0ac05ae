package conn

import (
	"strings"
	"testing"
)

type transcript struct {
	name, in, want string
	closed         bool
	// whole: the reply depends on the input arriving in one read (memcached
	// discards unsent replies in some error paths), so only the unsplit
	// input is checked.
	whole bool
	// ours: memcached behaves differently on purpose (see the comment at
	// the transcript); skip the reference run.
	ours bool
}

func runTranscripts(t *testing.T, set Settings, tests []transcript) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			splits := []int{0, 1, 7}
			if len(tt.in) > 1<<16 {
				// Byte-at-a-time feeding of megabytes only costs time.
				splits = []int{0, 4093}
			}
			for _, split := range splits {
				if tt.whole && split != 0 {
					continue
				}
				r := newRig(t, set)
				got := r.run(tt.in, split)
				if got != tt.want {
					t.Fatalf("split %d:\ngot  %q\nwant %q", split, got, tt.want)
				}
				if r.conn.Closed() != tt.closed {
					t.Fatalf("split %d: closed = %v, want %v", split, r.conn.Closed(), tt.closed)
				}
			}
		})
	}
}

func TestTextCommands(t *testing.T) {
	runTranscripts(t, Settings{}, textTranscripts())
}

// textTranscripts are checked against our Conn and, by
// TestTextMatchesMemcached, against memcached itself.
func textTranscripts() []transcript {
	long := strings.Repeat("k", 251)
	return []transcript{
		{name: "set get", in: "set k 5 0 5\r\nhello\r\nget k\r\n", want: "STORED\r\nVALUE k 5 5\r\nhello\r\nEND\r\n"},
		{name: "get miss", in: "get a b\r\n", want: "END\r\n"},
		{name: "multi get", in: "set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nget a x b\r\n",
			want: "STORED\r\nSTORED\r\nVALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nEND\r\n"},
		{name: "noreply", in: "set k 0 0 5 noreply\r\nhello\r\nget k\r\n", want: "VALUE k 0 5\r\nhello\r\nEND\r\n"},
		{name: "bad format then data as command", in: "set k 0 0 abc\r\nhello\r\n",
			want: "CLIENT_ERROR bad command line format\r\nERROR\r\n"},
		{name: "negative length", in: "set k 0 0 -1\r\nget k\r\n", want: "CLIENT_ERROR bad command line format\r\nEND\r\n"},
		{name: "long key", in: "set " + long + " 0 0 5\r\nhello\r\n", want: "CLIENT_ERROR bad command line format\r\nERROR\r\n"},
		{name: "too large swallowed", in: "set k 0 0 2000000\r\n" + strings.Repeat("x", 2000000) + "\r\nget k\r\n",
			want: "SERVER_ERROR object too large for cache\r\nEND\r\n"},
		{name: "too large drops old value", in: "set keep 0 0 1\r\nx\r\nset keep 0 0 2000000\r\n" + strings.Repeat("x", 2000000) + "\r\nget keep\r\n",
			want: "STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n"},
		{name: "too large add keeps old value", in: "set keep 0 0 1\r\nx\r\nadd keep 0 0 2000000\r\n" + strings.Repeat("x", 2000000) + "\r\nget keep\r\n",
			want: "STORED\r\nSERVER_ERROR object too large for cache\r\nVALUE keep 0 1\r\nx\r\nEND\r\n"},
		{name: "too large noreply", in: "set k 0 0 2000000 noreply\r\n" + strings.Repeat("x", 2000000) + "\r\nversion\r\n",
			want: "VERSION 1.6.18\r\n"},
		{name: "bad data chunk", in: "set k 0 0 5\r\nhelloXX\r\nget k\r\n", want: "CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n"},
		{name: "bad data chunk noreply", in: "set k 0 0 5 noreply\r\nhelloXX\r\nget k\r\n", want: "ERROR\r\nEND\r\n"},
		{name: "wrong token count", in: "set k 0 0\r\nset k 0 0 5 6 7\r\n", want: "ERROR\r\nERROR\r\n"},
		{name: "http closes", in: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", want: "", closed: true},
		{name: "junk closes", in: strings.Repeat("x", 3000), want: "", closed: true},
		{name: "long multiget", in: "get " + strings.Repeat("k ", 1500) + "\r\n", want: "END\r\n"},
		{name: "unknown", in: "foo bar\r\n\r\ng\r\nget\r\n", want: "ERROR\r\nERROR\r\nERROR\r\nERROR\r\n"},
		{name: "incr decr", in: "set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nset t 0 0 1\r\nx\r\nincr t 1\r\n",
			want: "STORED\r\n15\r\n0\r\nSTORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"},
		{name: "incr errors", in: "incr k abc\r\nincr nokey 1 noreply\r\nincr nokey 1\r\nincr k -1\r\n",
			want: "CLIENT_ERROR invalid numeric delta argument\r\nNOT_FOUND\r\nCLIENT_ERROR invalid numeric delta argument\r\n"},
		{name: "touch", in: "set k 0 0 1\r\nx\r\ntouch k 0 noreply\r\ntouch k 0\r\ntouch k abc\r\ntouch no 1\r\n",
			want: "STORED\r\nTOUCHED\r\nCLIENT_ERROR invalid exptime argument\r\nNOT_FOUND\r\n"},
		{name: "delete", in: "set k 0 0 1\r\nx\r\ndelete k 0\r\ndelete k 1\r\ndelete k noreply\r\ndelete k 0 noreply\r\ndelete k\r\nversion\r\n",
			want: "STORED\r\nDELETED\r\nCLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\nNOT_FOUND\r\nVERSION 1.6.18\r\n"},
		{name: "flush verbosity", in: "flush_all abc\r\nflush_all noreply\r\nflush_all 0\r\nverbosity\r\nverbosity 1\r\nverbosity x\r\n",
			want: "CLIENT_ERROR invalid exptime argument\r\nOK\r\nERROR\r\nOK\r\nCLIENT_ERROR bad command line format\r\n"},
		{name: "flush removes", in: "set k 0 0 1\r\nx\r\nflush_all\r\nget k\r\n", want: "STORED\r\nOK\r\nEND\r\n"},
		{name: "shutdown disabled then quit", in: "shutdown\r\nquit\r\nversion\r\n", want: "ERROR: shutdown not enabled\r\n", closed: true},
		{name: "cas", in: "set k 0 0 1\r\nx\r\ngets k\r\ncas k 0 0 1 999\r\ny\r\ncas no 0 0 1 1\r\ny\r\ncas k 0 0 1 abc\r\nx\r\n",
			want: "STORED\r\nVALUE k 0 1 1\r\nx\r\nEND\r\nEXISTS\r\nNOT_FOUND\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n"},
		{name: "gat", in: "gat abc k\r\ngat 10 k\r\nset k 3 0 1\r\nx\r\ngats 100 k\r\n",
			want: "CLIENT_ERROR invalid exptime argument\r\nEND\r\nSTORED\r\nVALUE k 3 1 1\r\nx\r\nEND\r\n"},
		{name: "get long key discards", whole: true, in: "set a 0 0 1\r\n1\r\nget a " + long + "\r\n",
			want: "CLIENT_ERROR bad command line format\r\n"},
		{name: "get long key after flush", in: "set a 0 0 1\r\n1\r\nget a\r\nget a " + long + "\r\n",
			want: "STORED\r\nVALUE a 0 1\r\n1\r\nEND\r\nCLIENT_ERROR bad command line format\r\n"},
		{name: "append prepend", in: "append k 0 0 1\r\nx\r\nset k 0 0 1\r\nb\r\nappend k 0 0 1\r\nc\r\nprepend k 0 0 1\r\na\r\nget k\r\n",
			want: "NOT_STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nVALUE k 0 3\r\nabc\r\nEND\r\n"},
		{name: "add replace", in: "add k 0 0 1\r\nx\r\nadd k 0 0 1\r\ny\r\nreplace no 0 0 1\r\nx\r\nreplace k 0 0 1\r\nz\r\nget k\r\n",
			want: "STORED\r\nNOT_STORED\r\nNOT_STORED\r\nSTORED\r\nVALUE k 0 1\r\nz\r\nEND\r\n"},
		{name: "flags truncate like memcached", in: "set k 4294967297 0 1\r\nx\r\nget k\r\n", want: "STORED\r\nVALUE k 1 1\r\nx\r\nEND\r\n"},
		{name: "bare newlines", in: "set k 0 0 5\nhello\r\nget k\n", want: "STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n"},
		{name: "stats detail", in: "stats detail on\r\nset a:b 0 0 1\r\nx\r\nget a:b\r\nget a:c\r\ndelete a:b\r\nstats detail dump\r\nstats detail off\r\n",
			want: "OK\r\nSTORED\r\nVALUE a:b 0 1\r\nx\r\nEND\r\nEND\r\nDELETED\r\nPREFIX a get 2 hit 1 set 1 del 1\r\nEND\r\nOK\r\n"},
		{name: "cachedump", in: "set k 0 0 5\r\nhello\r\nstats cachedump 1 10\r\nstats cachedump 2 10\r\n",
			// A fresh item sits in HOT; cachedump walks COLD, as 1.6.18.
			want: "STORED\r\nEND\r\nEND\r\n"},
		{name: "bget gat http", in: "bget k\r\ngat 10\r\nHTTP/1.1\r\nversion\r\n", want: "END\r\nEND\r\n", closed: true},
		{name: "repeated keys", in: "set k 0 0 1\r\nx\r\nget k k k\r\n",
			want: "STORED\r\nVALUE k 0 1\r\nx\r\nVALUE k 0 1\r\nx\r\nVALUE k 0 1\r\nx\r\nEND\r\n"},
		{name: "token counts", in: "set k 0 0 1 x y\r\nx\r\nincr\r\nincr k\r\ntouch k\r\ndelete\r\ndelete k 0 noreply extra\r\nflush_all 1 2 3\r\n",
			want: strings.Repeat("ERROR\r\n", 8)},
		{name: "empty stats families", in: "stats items\r\nstats sizes\r\nstats slabs\r\n",
			want: "END\r\nSTAT sizes_status disabled\r\nEND\r\nSTAT active_slabs 0\r\nSTAT total_malloced 0\r\nEND\r\n"},
		{name: "version", in: "version\r\n", want: "VERSION 1.6.18\r\n"},
		// memcached turns the connection into a log stream; we have no
		// logger to stream, so we answer as memcached does with watchers
		// disabled.
		{name: "watch", in: "watch\r\n", want: "OK\r\n"},
		// A fresh cache has no spare page to move.
		{name: "lru slabs", ours: true, in: "lru tune 10 25 0.1 2.0\r\nslabs reassign 1 2\r\nslabs automove 1\r\nslabs\r\n",
			want: "OK\r\nNOSPARE source class has no spare pages\r\nOK\r\nERROR\r\n"},
	}
}
