//go:build !linux

package gateway

import (
	"errors"
	"net"
	"time"

	"github.com/securecached/securecached/diggi/posix"
)

// epollAvailable is false off Linux: the goroutine relay serves instead.
const epollAvailable = false

type epollRelay struct{}

func (g *Agent) startEpoll() error { return errors.New("epoll relay: Linux only") }

func (e *epollRelay) handoff(net.Conn, *slot)        {}
func (e *epollRelay) adopt(int, posix.Origin, *slot) {}
func (e *epollRelay) closeIdle(time.Time)            {}
func (e *epollRelay) clients() int                   { return 0 }
func (e *epollRelay) closeAll()                      {}
func (e *epollRelay) closeFDs()                      {}
