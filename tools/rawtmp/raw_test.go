package rawtmp

import (
	"bufio"
	"io"
	"net"
	"testing"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/protocol"
)

func BenchmarkRaw(b *testing.B) {
	srv := testenv.StartMemcached(b)
	nc, _ := net.Dial("tcp", srv.Addr)
	defer nc.Close()
	br := bufio.NewReader(nc)
	val := make([]byte, 1024)
	nc.Write(protocol.AppendBinStore(nil, protocol.OpSet, 1, 0, 0, 0, []byte("bench"), val))
	hdr := make([]byte, 24)
	io.ReadFull(br, hdr)
	b.Run("binary", func(b *testing.B) {
		req := protocol.AppendBinRequest(nil, protocol.OpGetK, 1, 0, nil, []byte("bench"), nil)
		for b.Loop() {
			nc.Write(req)
			io.ReadFull(br, hdr)
			h := protocol.DecodeBinHeader(hdr)
			io.CopyN(io.Discard, br, int64(h.BodyLen))
		}
	})
	b.Run("text", func(b *testing.B) {
		req := []byte("gets bench\r\n")
		for b.Loop() {
			nc.Write(req)
			br.ReadSlice('\n')
			io.CopyN(io.Discard, br, 1026)
			br.ReadSlice('\n')
		}
	})
}
