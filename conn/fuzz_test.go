package conn

import (
	"testing"
)

// FuzzConn feeds arbitrary bytes to a connection on a real engine, in two
// chunks: it must never panic and never produce output without input.
func FuzzConn(f *testing.F) {
	for _, tt := range append(append(textTranscripts()[:10], metaTranscripts()[:6]...), binTranscripts()[:6]...) {
		if len(tt.in) < 4096 {
			f.Add([]byte(tt.in), uint16(len(tt.in)/2), false)
		}
	}
	f.Add([]byte("set x 0 0 12\r\nalice secret\r\nget k\r\n"), uint16(5), true)
	f.Fuzz(func(t *testing.T, data []byte, cut uint16, auth bool) {
		if len(data) > 1<<15 {
			return
		}
		r := newRig(t, Settings{ASCIIAuth: auth, ReqsPerEvent: 3})
		c := int(cut) % (len(data) + 1)
		out := r.run(string(data[:c]), 0) + r.run(string(data[c:]), 0)
		if len(data) == 0 && out != "" {
			t.Fatalf("output %q without input", out)
		}
	})
}
