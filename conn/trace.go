package conn

import "strconv"

// TraceKind says how memcached introduces a line of its -vv log.
type TraceKind uint8

// Trace kinds, by the prefix memcached prints before the line.
const (
	// TraceIn is "<ID line": what the client asked (a text request line,
	// a binary header dump or memcached's summary of a binary request).
	TraceIn TraceKind = iota
	// TraceOut is ">ID line": what the connection answers.
	TraceOut
	// TraceNote is "ID: line": a note about the connection.
	TraceNote
	// TracePlain is the line alone: memcached prints no connection ID.
	TracePlain
)

// Tracer receives the conversation memcached logs at -vv, line by line,
// in memcached's words. The connection only reports; whether and where the
// lines go is the host's business.
type Tracer interface {
	// Tracing reports whether lines are wanted now. The connection asks
	// once per Feed or Process (and again after a "verbosity" command),
	// so a tracer that says no costs one call per batch of requests.
	Tracing() bool
	// Trace receives one line without its prefix or newline. id is the
	// one given to SetTracer; line is valid only during the call.
	Trace(id int, kind TraceKind, line []byte)
}

// SetTracer makes the connection report its conversation to t, naming
// itself id (memcached names connections by descriptor). A nil t stops it.
func (c *Conn) SetTracer(t Tracer, id int) {
	c.tracer, c.traceID = t, id
	c.tracing = false
}

// refreshTracing asks the tracer whether lines are wanted.
func (c *Conn) refreshTracing() {
	c.tracing = c.tracer != nil && c.tracer.Tracing()
}

// traceLine reports a line; the caller has checked c.tracing.
func (c *Conn) traceLine(kind TraceKind, line []byte) {
	c.tracer.Trace(c.traceID, kind, line)
}

// traceString reports s through the scratch buffer, so a string reply
// need not be converted (and allocated) per line.
func (c *Conn) traceString(kind TraceKind, prefix, s string) {
	c.traceBuf = append(append(c.traceBuf[:0], prefix...), s...)
	c.traceLine(kind, c.traceBuf)
}

// traceRequestLine reports a text request's command line, as memcached's
// process_command_ascii does before it tokenizes it (data block excluded).
func (c *Conn) traceRequestLine(req []byte) {
	line := req
	for i, b := range req {
		if b == '\n' {
			line = req[:i]
			break
		}
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	c.traceLine(TraceIn, line)
}

// traceBinHeader dumps a 24-byte binary header the way memcached does:
// a title line, then four bytes per line. indent is what memcached prints
// between the ID and the bytes, less the one space every traced line gets
// (two for requests, one for responses).
func (c *Conn) traceBinHeader(kind TraceKind, title, indent string, hdr []byte) {
	c.traceString(kind, "", title)
	for i := 0; i+4 <= len(hdr); i += 4 {
		b := append(c.traceBuf[:0], indent...)
		for _, x := range hdr[i : i+4] {
			b = append(b, " 0x"...)
			if x < 0x10 {
				b = append(b, '0')
			}
			b = strconv.AppendUint(b, uint64(x), 16)
		}
		c.traceBuf = b
		c.traceLine(kind, b)
	}
}
