package conn

import (
	"strings"
	"testing"

	"github.com/securecached/securecached/memcache"
)

// FuzzConn feeds arbitrary bytes to a connection on a real engine, in two
// chunks: it must never panic, never produce output without input, and
// hold no item pin once closed. The engine holds "big", a value sent from
// its item, for the inputs that ask for it.
func FuzzConn(f *testing.F) {
	for _, tt := range append(append(textTranscripts()[:10], metaTranscripts()[:6]...), binTranscripts()[:6]...) {
		if len(tt.in) < 4096 {
			f.Add([]byte(tt.in), uint16(len(tt.in)/2), false)
		}
	}
	f.Add([]byte("set x 0 0 12\r\nalice secret\r\nget k\r\n"), uint16(5), true)
	f.Add([]byte("get big big\r\nmg big v\r\nget big "+strings.Repeat("k", 251)+"\r\nquit\r\n"), uint16(9), false)
	f.Fuzz(func(t *testing.T, data []byte, cut uint16, auth bool) {
		if len(data) > 1<<15 {
			return
		}
		r := newRig(t, Settings{ASCIIAuth: auth, ReqsPerEvent: 3})
		big := strings.Repeat("B", sendFromItemMin)
		if _, _, err := r.cache.Store(memcache.ModeSet, []byte("big"), 0, 0, []byte(big), memcache.StoreOptions{}); err != nil {
			t.Fatal(err)
		}
		c := int(cut) % (len(data) + 1)
		out := r.run(string(data[:c]), 0) + r.run(string(data[c:]), 0)
		if len(data) == 0 && out != "" {
			t.Fatalf("output %q without input", out)
		}
		r.conn.Close()
		checkNoPins(t, r)
	})
}
