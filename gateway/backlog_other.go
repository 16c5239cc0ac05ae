//go:build !unix

package gateway

import "syscall"

// setBacklog leaves the listener's backlog as Go set it: without listen(2)
// on a listening socket there is no portable way to change it, so -b has
// no effect here.
func setBacklog(l syscall.Conn, backlog int) error { return nil }
