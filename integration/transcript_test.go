package integration

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// entry is what one synced step (or eof) got back, normalised.
type entry struct {
	line int
	src  string
	got  string
}

// syncOpaque marks the binary NOOP the harness sends to find the end of a
// response; scripts should not use it.
const syncOpaque = 0x5C5C5C5C

// replyTimeout bounds each read: a server that owes more bytes than it sends
// shows up as "<timeout>" in the transcript rather than a hung test.
const replyTimeout = 2 * time.Second

// casMap numbers CAS values in the order a session first sees them, so two
// servers with different CAS counters give comparable transcripts.
type casMap struct {
	index  map[uint64]int
	values []uint64
}

func (m *casMap) name(v uint64) string {
	if v == 0 {
		return "0"
	}
	if m.index == nil {
		m.index = map[uint64]int{}
	}
	n, ok := m.index[v]
	if !ok {
		m.values = append(m.values, v)
		n = len(m.values)
		m.index[v] = n
	}
	return "<cas" + strconv.Itoa(n) + ">"
}

func (m *casMap) value(n int) (uint64, error) {
	if n < 1 || n > len(m.values) {
		return 0, fmt.Errorf("$cas%d used but only %d CAS values seen so far", n, len(m.values))
	}
	return m.values[n-1], nil
}

type sessConn struct {
	c net.Conn
	r *bufio.Reader
	// mn counts the "mn" requests written since the last sync: each gets an
	// "MN", and the sync's own is the last.
	mn int
	// binary is set when the connection's first request was binary: memcached
	// picks the protocol per connection from the first byte.
	binary bool
	used   bool
}

// countMN counts request lines that are exactly "mn".
func countMN(data []byte) int {
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSuffix(line, "\r") == "mn" {
			n++
		}
	}
	return n
}

// session runs one script against one server.
type session struct {
	network, addr string
	conns         map[string]*sessConn
	cas           casMap
}

// runScript runs every step and returns the normalised responses.
func runScript(sc script, network, addr string) ([]entry, error) {
	s := &session{network: network, addr: addr, conns: map[string]*sessConn{}}
	defer func() {
		for _, c := range s.conns {
			c.c.Close()
		}
	}()
	var out []entry
	for _, st := range sc.steps {
		switch st.kind {
		case stepSleep:
			time.Sleep(st.sleep)
			continue
		case stepEOF:
			c, err := s.conn(st.conn)
			if err != nil {
				return out, err
			}
			var b strings.Builder
			if c.binary {
				s.readBinary(c, &b, false)
			} else {
				s.readText(c, &b, false)
			}
			out = append(out, entry{line: st.line, src: st.src, got: b.String()})
			s.drop(st.conn)
			continue
		}
		c, err := s.conn(st.conn)
		if err != nil {
			return out, err
		}
		var data []byte
		if st.binary {
			req, err := parseBinRequest(strings.Fields(st.body), func(v string) (string, error) { return expand(v, s.cas.value) })
			if err != nil {
				return out, fmt.Errorf("line %d: %w", st.line, err)
			}
			data = req.encode(nil)
		} else {
			text, err := expand(st.body, s.cas.value)
			if err != nil {
				return out, fmt.Errorf("line %d: %w", st.line, err)
			}
			data = []byte(text)
			if st.crlf {
				data = append(data, "\r\n"...)
			}
		}
		if st.sync {
			if st.binary {
				noop := binRequest{Magic: binReqMagic, Opcode: binOpcodes["noop"], Opaque: syncOpaque, BodyLen: -1}
				data = noop.encode(data)
			} else {
				data = append(data, "mn\r\n"...)
			}
		}
		if !c.used {
			c.used, c.binary = true, st.binary
		}
		if !st.binary {
			c.mn += countMN(data)
		}
		c.c.SetWriteDeadline(time.Now().Add(replyTimeout))
		if _, err := c.c.Write(data); err != nil {
			out = append(out, entry{line: st.line, src: st.src, got: "<write failed>\n"})
			s.drop(st.conn)
			continue
		}
		if !st.sync {
			continue
		}
		var b strings.Builder
		var closed bool
		if st.binary {
			closed = s.readBinary(c, &b, true)
		} else {
			closed = s.readText(c, &b, true)
		}
		out = append(out, entry{line: st.line, src: st.src, got: b.String()})
		if closed {
			// The server hung up (memcached does after a binary protocol
			// error); the next step on this name opens a new connection.
			s.drop(st.conn)
		}
	}
	return out, nil
}

func (s *session) drop(name string) {
	if c, ok := s.conns[name]; ok {
		c.c.Close()
		delete(s.conns, name)
	}
}

func (s *session) conn(name string) (*sessConn, error) {
	if c, ok := s.conns[name]; ok {
		return c, nil
	}
	nc, err := net.DialTimeout(s.network, s.addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connection %q: %w", name, err)
	}
	c := &sessConn{c: nc, r: bufio.NewReaderSize(nc, 64<<10)}
	s.conns[name] = c
	return c, nil
}

// endMarker names how a read ended when it was not the sync answer. A reset
// and an orderly close are the same to a client, so both are "<closed>".
func endMarker(err error) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "<timeout>\n"
	case isClosed(err):
		return "<closed>\n"
	}
	return "<error " + err.Error() + ">\n"
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || isReset(err)
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}

// readText reads text/meta responses, normalising them into b, until the
// "MN" answer to the sync (untilMN) or until the connection ends. It reports
// whether the server closed the connection.
func (s *session) readText(c *sessConn, b *strings.Builder, untilMN bool) (closed bool) {
	c.c.SetReadDeadline(time.Now().Add(replyTimeout))
	var prefixes []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			if line != "" {
				b.WriteString(render([]byte(line)) + "\n")
			}
			b.WriteString(endMarker(err))
			return isClosed(err)
		}
		body := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if untilMN && body == "MN" && strings.HasSuffix(line, "\r\n") {
			if c.mn--; c.mn <= 0 {
				c.mn = 0
				return false
			}
		}
		if strings.HasPrefix(body, "PREFIX ") {
			// memcached dumps prefixes in its hash table's order, which
			// says nothing a client can use; compare them sorted.
			prefixes = append(prefixes, render([]byte(body)))
			continue
		}
		if len(prefixes) > 0 {
			sort.Strings(prefixes)
			for _, p := range prefixes {
				b.WriteString(p + "\n")
			}
			prefixes = prefixes[:0]
		}
		norm, dataLen := s.normaliseLine(body)
		b.WriteString(norm)
		if !strings.HasSuffix(line, "\r\n") {
			b.WriteString(`\n`) // a bare LF is a difference worth seeing
		}
		b.WriteByte('\n')
		if dataLen >= 0 {
			data := make([]byte, dataLen+2)
			n, err := io.ReadFull(c.r, data)
			b.WriteString("  data " + render(data[:n]) + "\n")
			if err != nil {
				b.WriteString(endMarker(err))
				return isClosed(err)
			}
		}
	}
}

// normaliseLine rewrites the parts of a response line that legitimately
// differ between servers, and returns the length of the data block that
// follows it (-1 for none).
func (s *session) normaliseLine(line string) (string, int) {
	f := strings.Split(line, " ")
	switch f[0] {
	case "VALUE":
		if len(f) >= 4 {
			n, err := strconv.Atoi(f[3])
			if err != nil {
				return render([]byte(line)), -1
			}
			if len(f) == 5 {
				if v, err := strconv.ParseUint(f[4], 10, 64); err == nil {
					f[4] = s.cas.name(v)
				}
			}
			return render([]byte(strings.Join(f, " "))), n
		}
	case "VERSION":
		return "VERSION <version>", -1
	case "STAT":
		if len(f) >= 3 {
			return "STAT " + f[1] + " <value>", -1
		}
	case "ME":
		if len(f) >= 2 {
			return "ME " + f[1] + " <debug>", -1
		}
	case "VA", "HD", "EN", "NF", "NS", "EX":
		start, n := 1, -1
		if f[0] == "VA" && len(f) >= 2 {
			v, err := strconv.Atoi(f[1])
			if err == nil {
				n = v
			}
			start = 2
		}
		for i := start; i < len(f); i++ {
			tok := f[i]
			if len(tok) < 2 {
				continue
			}
			v, err := strconv.ParseInt(tok[1:], 10, 64)
			if err != nil {
				continue
			}
			switch tok[0] {
			case 'c':
				f[i] = "c" + s.cas.name(uint64(v))
			case 't':
				if v > 0 {
					f[i] = "t<ttl>" // seconds left can tick between set and get
				}
			case 'l':
				f[i] = "l<secs>"
			}
		}
		return render([]byte(strings.Join(f, " "))), n
	}
	return render([]byte(line)), -1
}

// readBinary reads binary responses until the sync NOOP (untilSync) or the
// end of the connection, rendering each. It reports whether the server closed
// the connection or the stream could not be framed.
func (s *session) readBinary(c *sessConn, b *strings.Builder, untilSync bool) (closed bool) {
	c.c.SetReadDeadline(time.Now().Add(replyTimeout))
	for {
		res, err := readBinResponse(c.r)
		if err != nil {
			if errors.Is(err, errBadFrame) {
				b.WriteString("<unframed " + err.Error() + ">\n")
				return true
			}
			b.WriteString(endMarker(err))
			return isClosed(err)
		}
		if untilSync && res.Opcode == binOpcodes["noop"] && res.Opaque == syncOpaque {
			return false
		}
		b.WriteString(s.renderBin(res) + "\n")
	}
}

func (s *session) renderBin(r binResponse) string {
	name, ok := binOpNames[r.Opcode]
	if !ok {
		name = fmt.Sprintf("0x%02x", r.Opcode)
	}
	value := render(r.Value)
	switch name {
	case "version":
		value = "<version>"
	case "stat":
		if len(r.Key) > 0 {
			value = "<value>"
		}
	}
	return fmt.Sprintf("RES %s status=0x%04x opaque=%d cas=%s datatype=%d extras=%x key=%s value=%s",
		name, r.Status, r.Opaque, s.cas.name(r.CAS), r.DataType, r.Extras, render(r.Key), value)
}

// render shows bytes readably: printable ASCII as is, other bytes escaped,
// and long runs of one byte in the scripts' own ${rep:C:N} form.
func render(p []byte) string {
	var b strings.Builder
	for i := 0; i < len(p); {
		j := i
		for j < len(p) && p[j] == p[i] {
			j++
		}
		if j-i >= 16 && p[i] >= 0x21 && p[i] < 0x7f {
			fmt.Fprintf(&b, "${rep:%c:%d}", p[i], j-i)
			i = j
			continue
		}
		c := p[i]
		switch {
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\\':
			b.WriteString(`\\`)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
		i++
	}
	return b.String()
}
