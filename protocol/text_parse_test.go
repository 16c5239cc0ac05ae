package protocol

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestTextParse(t *testing.T) {
	long := strings.Repeat("k", 251)
	tests := []struct {
		name, in string
		want     []string
	}{
		{"get", "get a b\r\n", []string{`get key="a" keys=["a" "b"] args=["a" "b"]`}},
		{"get bare newline", "get a\n", []string{`get key="a" keys=["a"] args=["a"]`}},
		{"gets", "gets a\r\n", []string{`gets key="a" keys=["a"] args=["a"]`}},
		{"bget", "bget a\r\n", []string{`get key="a" keys=["a"] args=["a"]`}},
		{"get no key", "get\r\n", []string{`none err="ERROR" forced=false`}},
		{"gat", "gat 10 a b\r\n", []string{`gat key="a" keys=["a" "b"] exp=10 args=["10" "a" "b"]`}},
		{"gat bad exptime", "gat x a\r\n", []string{`gat err="CLIENT_ERROR invalid exptime argument" forced=false`}},
		{"get long key", "get a " + long + " b\r\n", []string{`get err="CLIENT_ERROR bad command line format" forced=false key="a" keys=["a"]`}},
		{"set", "set k 5 10 2\r\nhi\r\n", []string{`set key="k" flags=5 exp=10 value="hi" ok=true args=["k" "5" "10" "2"]`}},
		{"set bare newline data", "set k 0 0 2\nhi\r\n", []string{`set key="k" flags=0 exp=0 value="hi" ok=true args=["k" "0" "0" "2"]`}},
		{"set bad chunk", "set k 0 0 2\r\nhiXX\r\n", []string{`set key="k" flags=0 exp=0 value="hi" ok=false args=["k" "0" "0" "2"]`, `none err="ERROR" forced=false`}},
		{"set noreply", "set k 0 0 1 noreply\r\nx\r\n", []string{`set key="k" flags=0 exp=0 value="x" ok=true noreply args=["k" "0" "0" "1" "noreply"]`}},
		{"set bad flags then data as command", "set k x 0 1\r\nx\r\n", []string{`set err="CLIENT_ERROR bad command line format" forced=false key="k"`, `none err="ERROR" forced=false`}},
		{"set negative length", "set k 0 0 -1\r\n", []string{`set err="CLIENT_ERROR bad command line format" forced=false key="k"`}},
		{"set too few tokens", "set k 0 0\r\n", []string{`none err="ERROR" forced=false`}},
		{"set long key", "set " + long + " 0 0 1\r\n", []string{`set err="CLIENT_ERROR bad command line format" forced=false`}},
		{"set too large swallows", "set k 0 0 2000\r\n" + strings.Repeat("x", 2002) + "version\r\n", []string{
			`set err="SERVER_ERROR object too large for cache" forced=false swallow=2002 key="k"`, `version`}},
		{"cas", "cas k 0 0 1 77\r\nx\r\n", []string{`cas key="k" flags=0 exp=0 value="x" ok=true cas=77 args=["k" "0" "0" "1" "77"]`}},
		{"cas bad unique", "cas k 0 0 1 x\r\n", []string{`cas err="CLIENT_ERROR bad command line format" forced=false key="k"`}},
		{"incr", "incr k 5\r\n", []string{`incr key="k" delta=5 args=["k" "5"]`}},
		{"decr noreply", "decr k 5 noreply\r\n", []string{`decr key="k" delta=5 noreply args=["k" "5" "noreply"]`}},
		{"incr bad delta", "incr k -1\r\n", []string{`incr err="CLIENT_ERROR invalid numeric delta argument" forced=false key="k"`}},
		{"touch", "touch k 10\r\n", []string{`touch key="k" exp=10 args=["k" "10"]`}},
		{"touch bad", "touch k x\r\n", []string{`touch err="CLIENT_ERROR invalid exptime argument" forced=false key="k"`}},
		{"delete", "delete k\r\n", []string{`delete key="k" args=["k"]`}},
		{"delete 0", "delete k 0\r\n", []string{`delete key="k" args=["k" "0"]`}},
		{"delete bad", "delete k 1\r\n", []string{`delete err="CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]" forced=false`}},
		{"delete bad noreply", "delete k 1 noreply\r\n", []string{`delete err="CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]" forced=false noreply`}},
		{"flush_all", "flush_all 10\r\n", []string{`flush_all exp=10 args=["10"]`}},
		{"verbosity missing", "verbosity\r\n", []string{`none err="ERROR" forced=false`}},
		{"empty line", "\r\n", []string{`none err="ERROR" forced=false`}},
		{"one char", "g\r\n", []string{`none err="ERROR" forced=false`}},
		{"unknown", "foo bar\r\n", []string{`none err="ERROR" forced=false`}},
		{"http", "GET / HTTP/1.1\r\nHost: x\r\n", []string{`none CLOSE args=["/" "HTTP/1.1"]`}},
		{"nul truncates", "get a\x00b c\r\n", []string{`get key="a" keys=["a"] args=["a"]`}},
		{"junk line closes", strings.Repeat("x", 3000), []string{`none CLOSE`}},
		{"long multiget", "get " + strings.Repeat("k ", 1500) + "\r\n", nil},
		{"mn", "mn\r\n", []string{`mn`}},
		{"mg flags", "mg k s v f t c k O123 q\r\n", []string{`mg key="k" noreply args=["k" "s" "v" "f" "t" "c" "k" "O123" "q"] meta="svftckOq"`}},
		{"mg dup", "mg k v v\r\n", []string{`mg err="CLIENT_ERROR duplicate flag" forced=true key="k" meta="v"`}},
		{"mg bad flag", "mg k E5 Z\r\n", []string{`mg err="CLIENT_ERROR invalid flag" forced=true key="k" meta="E"`}},
		{"mg base64", "mg aGVsbG8= b k v\r\n", []string{`mg key="hello" args=["aGVsbG8=" "b" "k" "v"] meta="bkv"`}},
		{"mg bad base64", "mg !!! b\r\n", []string{`mg err="CLIENT_ERROR error decoding key" forced=true key="!!!" meta="b"`}},
		{"mg no key", "mg\r\n", []string{`mg err="ERROR" forced=false`}},
		{"mg too many flags", "mg k a b c d e f g h i j k l m n o p q r s t u v w x y z\r\n", []string{`mg err="CLIENT_ERROR options flags are too long" forced=true`}},
		{"ms", "ms k 2 T0 F5 c k O1\r\nhi\r\n", []string{`ms key="k" flags=5 exp=0 value="hi" ok=true args=["k" "2" "T0" "F5" "c" "k" "O1"] meta="TFckO"`}},
		{"ms no length", "ms k\r\n", []string{`ms err="CLIENT_ERROR bad command line format" forced=true`}},
		{"ms bad length", "ms k abc\r\nhi\r\n", []string{`ms err="CLIENT_ERROR bad command line format" forced=true`, `none err="ERROR" forced=false`}},
		{"ms bad flag swallows", "ms k 2 Z\r\nhi\r\nmn\r\n", []string{`ms err="CLIENT_ERROR invalid flag" forced=true swallow=4 key="k"`, `mn`}},
		{"ms bad mode", "ms k 2 MX\r\nhi\r\n", []string{`ms err="CLIENT_ERROR invalid mode for ms M token" forced=true swallow=4 key="k" meta="M"`}},
		{"ms dup", "ms k 2 T0 T1\r\nhi\r\n", []string{`ms err="CLIENT_ERROR duplicate flag" forced=true swallow=4 key="k" meta="T"`}},
		{"ms bad token", "ms k 2 Tx\r\nhi\r\n", []string{`ms err="CLIENT_ERROR bad token in command line format" forced=true swallow=4 key="k" meta="T"`}},
		{"md bad flag", "md k Zz\r\n", []string{`md err="CLIENT_ERROR invalid or duplicate flag" forced=true key="k"`}},
		{"ma bad mode", "ma k MX\r\n", []string{`ma err="CLIENT_ERROR invalid mode for ma M token" forced=true key="k" meta="M"`}},
		{"mg long key", "mg " + long + " v\r\n", []string{`mg err="CLIENT_ERROR bad command line format" forced=true`}},
		{"ms no key", "ms\r\n", []string{`ms err="ERROR" forced=false`}},
		{"ms long key", "ms " + long + " 2\r\nhi\r\n", []string{`ms err="CLIENT_ERROR bad command line format" forced=true`, `none err="ERROR" forced=false`}},
		{"ms too many flags", "ms k 2 a b c d e f g h i j k l m n o p q r s t u v w x y z\r\n", []string{`ms err="CLIENT_ERROR options flags too long" forced=true`}},
		{"md no key", "md\r\n", []string{`md err="ERROR" forced=false`}},
		{"md long key", "md " + long + "\r\n", []string{`md err="CLIENT_ERROR bad command line format" forced=false`}},
		{"md too many flags", "md k a b c d e f g h i j k l m n o p q r s t u v w x y z\r\n", []string{`md err="CLIENT_ERROR options flags too long" forced=false`}},
		{"ma long key", "ma " + long + "\r\n", []string{`ma err="CLIENT_ERROR bad command line format" forced=false`}},
		{"mg long opaque", "mg k O" + strings.Repeat("o", 40) + "\r\n", []string{`mg err="CLIENT_ERROR opaque token too long" forced=true key="k" meta="O"`}},
		{"ms long opaque", "ms k 2 O" + strings.Repeat("o", 40) + "\r\nhi\r\n", []string{`ms err="CLIENT_ERROR opaque token too long" forced=true swallow=4 key="k" meta="O"`}},
		{"incr long key", "incr " + long + " 1\r\n", []string{`incr err="CLIENT_ERROR bad command line format" forced=false`}},
		{"touch long key", "touch " + long + " 1\r\n", []string{`touch err="CLIENT_ERROR bad command line format" forced=false`}},
		{"me", "me k\r\n", []string{`me key="k" args=["k"]`}},
		{"me no key", "me\r\n", []string{`me err="CLIENT_ERROR bad command line format" forced=false`}},
		{"pipeline", "get a\r\nset b 0 0 1\r\nx\r\nmn\r\n", []string{`get key="a" keys=["a"] args=["a"]`,
			`set key="b" flags=0 exp=0 value="x" ok=true args=["b" "0" "0" "1"]`, `mn`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := textStream([][]byte{[]byte(tt.in)}, 1024)
			if tt.want == nil {
				if len(got) != 1 || !strings.HasPrefix(got[0], "get ") {
					t.Fatalf("got %q, want one get", got)
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// textCorpus is a pipeline exercising every framing path: lines, data
// blocks, swallowed values, meta commands, errors.
var textCorpus = []string{
	"get a b c\r\ngets d\r\nset k 1 2 3\r\nabc\r\nmn\r\n",
	"set k 0 0 5 noreply\r\nhello\r\nappend k 0 0 1\r\nx\r\ncas k 0 0 1 9\r\ny\r\n",
	"set big 0 0 3000\r\n" + strings.Repeat("v", 3002) + "get big\r\n",
	"ms k 2 T0 F5 c k O1\r\nhi\r\nms k 2 Z\r\nhi\r\nmg k v\r\nmd k q\r\nma k D5\r\nme k\r\n",
	"set k 0 0 2\r\nhiXXget k\r\n\r\nfoo\r\n",
	"get " + strings.Repeat("key ", 700) + "\r\nversion\r\n",
	"gat 0 " + strings.Repeat("key ", 700) + "\r\ngats 0 " + strings.Repeat("k ", 1100) + "\r\n",
	"incr a 1\r\ndecr a 1 noreply\r\ntouch a 1\r\ndelete a 0\r\nflush_all\r\nverbosity 1\r\nstats items\r\n",
	"gat 10 a\r\ngats 10 b\r\nquit\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	strings.Repeat("y", 2100) + "\r\n",
}

// TestTextSplitEquivalence checks that every split of the corpus parses as
// the unsplit input does: at each single cut, and byte by byte.
func TestTextSplitEquivalence(t *testing.T) {
	for i, in := range textCorpus {
		data := []byte(in)
		want, _ := textStream([][]byte{data}, 2048)
		if got, _ := textStream(bytewise(data), 2048); !slices.Equal(got, want) {
			t.Fatalf("corpus %d bytewise:\ngot  %q\nwant %q", i, got, want)
		}
		for cut := 1; cut < len(data); cut++ {
			if got, _ := textStream(splitAt(data, cut), 2048); !slices.Equal(got, want) {
				t.Fatalf("corpus %d cut at %d:\ngot  %q\nwant %q", i, cut, got, want)
			}
		}
	}
}

// TestTextSwallowNotBuffered checks that a refused large value is never
// buffered: the parser answers after the line alone.
func TestTextSwallowNotBuffered(t *testing.T) {
	line := []byte("set k 0 0 100000000\r\n")
	var req Request
	p := TextParser{MaxItemSize: 1 << 20}
	n, _ := p.Parse(line, &req)
	if n != len(line) || req.Swallow != 100000002 || req.Err != ReplyTooLarge {
		t.Fatalf("n=%d swallow=%d err=%q", n, req.Swallow, req.Err)
	}
}

// TestTextNeedSkipsRescans checks that a partial value reports the full
// length it needs, so a caller does not reparse on every read.
func TestTextNeedSkipsRescans(t *testing.T) {
	in := []byte("set k 0 0 1000\r\n" + strings.Repeat("x", 10))
	var req Request
	p := TextParser{}
	n, need := p.Parse(in, &req)
	if n != 0 || need != len("set k 0 0 1000\r\n")+1002 {
		t.Fatalf("n=%d need=%d", n, need)
	}
}

func TestTextLineBounded(t *testing.T) {
	var req Request
	p := TextParser{}
	in := bytes.Repeat([]byte("a"), MaxLineLength)
	if n, _ := p.Parse(in, &req); n != 0 {
		t.Fatalf("2048 bytes without newline: n=%d, want need more", n)
	}
	in = append(in, 'a')
	if n, _ := p.Parse(in, &req); n == 0 || !req.Close {
		t.Fatalf("2049 bytes without newline: n=%d close=%v, want close", n, req.Close)
	}
	get := append([]byte("get "), bytes.Repeat([]byte("k "), MaxGetLineLength/2)...)
	if n, _ := p.Parse(get, &req); n == 0 || !req.Close {
		t.Fatalf("multiget over %d bytes: n=%d close=%v, want close", MaxGetLineLength, n, req.Close)
	}
}
