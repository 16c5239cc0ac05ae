//go:build !linux

package gateway

import (
	"errors"
	"time"
)

// epollAvailable is false off Linux: the goroutine relay serves instead.
const epollAvailable = false

type epollRelay struct{}

func (g *Agent) startEpoll() error { return errors.New("epoll relay: Linux only") }

func (e *epollRelay) closeIdle(time.Time) {}
func (e *epollRelay) closeAll()           {}
