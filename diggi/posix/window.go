package posix

// Receive windows, tuned the way TCP's receive buffer autotuning tunes
// them, so that a socket's window is what its reader drains rather than a
// fixed size for every socket.
//
// A socket starts with a small window: minWindow, or Sys.RecvBuffer if
// that is smaller. A sender that stops writing because the window is
// exhausted while it has more to write marks its last segment
// (windowLimited). Each time the reader empties the receive buffer, the
// window is tuned by what happened since the buffer last emptied:
//
//   - it doubles, up to Sys.RecvBuffer, when the sender was held back by
//     it: the reader keeps up with a sender the window slows, so a bulk
//     flow to a draining reader gets the window it needs;
//   - it halves, down to the start, after shrinkAfter drains in a row
//     without the sender held back: the flow no longer needs it, and the
//     window is given back as the reader consumes (below).
//
// Growth past the start comes from one budget per agent (Sys.WindowBudget),
// as Linux's tcp_mem stops socket buffers from growing under memory
// pressure: once the grown windows of an agent's sockets add up to it, no
// window grows further until others shrink or close. The bytes a socket
// buffers (and has in flight towards it) are bounded by its window, so
// clients that stop reading hold at most the starting window each plus
// the budget in all, however many they are.
//
// Shrinking never takes back credit the peer holds: it withholds part of
// the next grants instead (consumed bytes are not returned), so the peer's
// credit plus what is in flight and buffered never exceeds the window, and
// onSegment's overrun check stays exact.

// minWindow is a new socket's window: one full segment.
const minWindow = maxChunk

// shrinkAfter is how many drains in a row with the sender not held back
// halve a grown window: enough that a flow of large replies that fits its
// window (and so is never held back) keeps it between replies.
const shrinkAfter = 64

// DefaultWindowBudget is the default Sys.WindowBudget.
const DefaultWindowBudget = 8 << 20

// initWindow gives a new socket its starting window.
func (s *Sys) initWindow(sk *socket) {
	sk.rcvMax = max(s.RecvBuffer, 1)
	sk.rcvBuf = baseWindow(sk)
	sk.rcvWant = sk.rcvBuf
}

func baseWindow(sk *socket) int { return min(minWindow, sk.rcvMax) }

// tuneWindow grows sk's window, or decides to shrink it, once its reader
// has emptied the receive buffer (see the rules above). Growth is granted
// with the next window update, which credit then sends at once (the grown
// part alone is at least a quarter of the window); a shrink is carried out
// by withholding (withhold).
func (s *Sys) tuneWindow(sk *socket) {
	if sk.limited {
		sk.limited, sk.quiet = false, 0
		if d := min(sk.rcvBuf, sk.rcvMax-sk.rcvBuf, s.WindowBudget-s.grown); d > 0 {
			sk.rcvBuf += d
			sk.consumed += d
			s.grown += d
		}
		sk.rcvWant = sk.rcvBuf
		return
	}
	if sk.rcvWant <= baseWindow(sk) {
		return
	}
	if sk.quiet++; sk.quiet >= shrinkAfter {
		sk.quiet = 0
		sk.rcvWant = max(sk.rcvWant/2, baseWindow(sk))
	}
}

// withhold shrinks sk's window towards rcvWant by keeping consumed bytes
// from the next grant.
func (s *Sys) withhold(sk *socket) {
	if cut := min(sk.consumed, sk.rcvBuf-sk.rcvWant); cut > 0 {
		sk.rcvBuf -= cut
		sk.consumed -= cut
		s.grown -= cut
	}
}

// releaseWindow returns sk's grown window to the budget when the
// connection ends; calling it again does nothing.
func (s *Sys) releaseWindow(sk *socket) {
	if base := baseWindow(sk); sk.rcvBuf > base {
		s.grown -= sk.rcvBuf - base
		sk.rcvBuf, sk.rcvWant = base, base
	}
}
