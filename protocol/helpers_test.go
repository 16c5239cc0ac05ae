package protocol

import (
	"fmt"
	"strings"
)

// describe renders a parsed request canonically, so tests compare requests
// parsed from differently split input.
func describe(r *Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", r.Cmd)
	if r.Close {
		b.WriteString(" CLOSE")
	}
	if r.Err != "" {
		fmt.Fprintf(&b, " err=%q forced=%v", r.Err, r.ErrForced)
	}
	if r.Swallow > 0 {
		fmt.Fprintf(&b, " swallow=%d", r.Swallow)
	}
	if r.Key != nil {
		fmt.Fprintf(&b, " key=%q", r.Key)
	}
	if len(r.Keys) > 0 {
		fmt.Fprintf(&b, " keys=%q", r.Keys)
	}
	if r.Cmd.IsStorage() && r.Err == "" {
		fmt.Fprintf(&b, " flags=%d exp=%d value=%q ok=%v", r.Flags, r.Exptime, r.Value, r.ValueOK)
	}
	if r.HasExptime && !r.Cmd.IsStorage() {
		fmt.Fprintf(&b, " exp=%d", r.Exptime)
	}
	if r.Cas != 0 {
		fmt.Fprintf(&b, " cas=%d", r.Cas)
	}
	if r.Delta != 0 {
		fmt.Fprintf(&b, " delta=%d", r.Delta)
	}
	if r.Noreply {
		b.WriteString(" noreply")
	}
	if len(r.Args) > 0 && r.Err == "" {
		fmt.Fprintf(&b, " args=%q", r.Args)
	}
	if len(r.Meta.Order) > 0 {
		fmt.Fprintf(&b, " meta=%q", r.Meta.Order)
	}
	return b.String()
}

// textStream parses chunks the way a connection drives the parser (see
// parseStream) and describes each request.
func textStream(chunks [][]byte, maxItem int) ([]string, int) {
	p := TextParser{MaxItemSize: maxItem}
	var req Request
	return parseStream(chunks, func(buf []byte) (int, int, streamed) {
		n, need := p.Parse(buf, &req)
		if n == 0 {
			return 0, need, streamed{}
		}
		return n, 0, streamed{describe(&req), req.Close, req.Swallow}
	})
}

// streamed is what parseStream needs to know of one parsed request.
type streamed struct {
	desc    string
	close   bool
	swallow int
}

// parseStream drives a parser the way a connection does: it buffers
// input, waits for the length parse asks for, drops what requests use and
// what they swallow. parse returns the bytes used (0: need more, at least
// need bytes in all) and, when it used some, the request. parseStream
// returns one description per request and the largest buffer it held.
func parseStream(chunks [][]byte, parse func(buf []byte) (n, need int, r streamed)) ([]string, int) {
	var buf []byte
	var out []string
	need, swallow, peak := 0, 0, 0
	for _, ch := range chunks {
		buf = append(buf, ch...)
		peak = max(peak, len(buf))
		for {
			if swallow > 0 {
				n := min(swallow, len(buf))
				buf, swallow = buf[n:], swallow-n
				if swallow > 0 {
					break
				}
			}
			if len(buf) == 0 || len(buf) < need {
				break
			}
			n, nd, r := parse(buf)
			if n == 0 {
				need = nd
				break
			}
			need = 0
			out = append(out, r.desc)
			if r.close {
				return out, peak
			}
			swallow = r.swallow
			buf = buf[n:]
		}
	}
	return out, peak
}

// splitAt cuts data at the given offsets.
func splitAt(data []byte, cuts ...int) [][]byte {
	var out [][]byte
	prev := 0
	for _, c := range cuts {
		if c > prev && c < len(data) {
			out = append(out, data[prev:c])
			prev = c
		}
	}
	return append(out, data[prev:])
}

// bytewise cuts data into single bytes.
func bytewise(data []byte) [][]byte {
	out := make([][]byte, len(data))
	for i := range data {
		out[i] = data[i : i+1]
	}
	return out
}
