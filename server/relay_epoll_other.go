//go:build !linux

package server

import "errors"

// epollAvailable is false off Linux: the goroutine relay serves instead.
const epollAvailable = false

func (s *Server) startEpoll() error { return errors.New("epoll relay: Linux only") }
