package link

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/securecached/securecached/diggi"
)

// Frame kinds. A frame is a 4-byte big-endian length (of the kind byte and
// the body), the kind, and the body.
const (
	kindHello  = 1 // JSON Hello, once each way before anything else
	kindMsg    = 2 // diggi.Header wire form, then the payload
	kindCredit = 3 // destination AgentID (8 bytes), messages (4 bytes)
	kindGossip = 4 // an opaque membership packet
)

// maxFrame bounds a frame's length: the largest message with its header.
const maxFrame = 1 + diggi.HeaderSize + diggi.MaxPayload + 1024

// maxHello bounds a hello frame (an instance's agent list).
const maxHello = 1 << 20

// ErrProtocol marks a peer that broke the framing or credit rules.
var ErrProtocol = errors.New("link: protocol violation")

// Hello is what each side says about itself once the TLS handshake is
// done: its instance, the address its link listens on, the credit window
// it grants per destination agent, and its agents.
type Hello struct {
	Instance string           `json:"instance"`
	ID       diggi.InstanceID `json:"id"`
	Address  string           `json:"address"`
	Window   int              `json:"window"`
	Agents   []AgentInfo      `json:"agents"`
}

// AgentInfo is one agent in a Hello.
type AgentInfo struct {
	Local   uint32 `json:"local"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Trusted bool   `json:"trusted,omitempty"`
}

// HelloFor describes the local agents of in.
func HelloFor(in *diggi.Instance, address string, window int) Hello {
	h := Hello{Instance: in.Name(), ID: in.ID(), Address: address, Window: window}
	for _, a := range in.Directory().All() {
		if a.ID.Instance() == in.ID() {
			h.Agents = append(h.Agents, AgentInfo{Local: a.ID.Local(), Name: a.Name, Kind: a.Kind, Trusted: a.Trusted})
		}
	}
	return h
}

func (h *Hello) validate() error {
	if h.Instance == "" || h.ID == 0 || h.Window <= 0 || h.Window > 1<<16 {
		return fmt.Errorf("%w: hello: instance %q id %d window %d", ErrProtocol, h.Instance, h.ID, h.Window)
	}
	seen := map[uint32]bool{}
	for _, a := range h.Agents {
		if a.Local == 0 || a.Name == "" || seen[a.Local] {
			return fmt.Errorf("%w: hello: bad agent %d %q", ErrProtocol, a.Local, a.Name)
		}
		seen[a.Local] = true
	}
	return nil
}

// appendFrameHeader appends the length and kind of a frame whose body is n
// bytes.
func appendFrameHeader(b []byte, kind byte, n int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(1+n))
	return append(b, kind)
}

// readFrameHeader reads a frame's length and kind and returns the body
// length.
func readFrameHeader(r *bufio.Reader) (kind byte, n int, err error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, 0, err
	}
	l := binary.BigEndian.Uint32(h[:4])
	if l < 1 || l > maxFrame {
		return 0, 0, fmt.Errorf("%w: frame length %d", ErrProtocol, l)
	}
	return h[4], int(l - 1), nil
}

func writeHello(w io.Writer, h Hello) error {
	body, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = w.Write(append(appendFrameHeader(nil, kindHello, len(body)), body...))
	return err
}

func readHello(r *bufio.Reader) (Hello, error) {
	kind, n, err := readFrameHeader(r)
	if err != nil {
		return Hello{}, err
	}
	if kind != kindHello || n > maxHello {
		return Hello{}, fmt.Errorf("%w: expected hello, got kind %d of %d bytes", ErrProtocol, kind, n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return Hello{}, err
	}
	var h Hello
	if err := json.Unmarshal(body, &h); err != nil {
		return Hello{}, fmt.Errorf("%w: hello: %v", ErrProtocol, err)
	}
	return h, h.validate()
}
