package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/securecached/securecached/config"
)

// ErrClosed is returned by Serve when it is called on a server that was
// already shut down.
var ErrClosed = errors.New("server: closed")

// Server is securecached on real sockets: listeners and a relay goroutine
// per client in front of one Cache.
type Server struct {
	set   config.Settings
	cache *Cache
	auth  *authFile
	log   *logger

	listeners []net.Listener

	mu        sync.Mutex // guards clients and wakeLoops; never held while waiting for the baton
	clients   map[uint64]*client
	wakeLoops func() // set by the epoll relay: tells its loops to look at done

	releaseLoops func()        // set by the epoll relay: closes the loops' descriptors
	stopped      chan struct{} // closed when Shutdown has done all its work

	nextID   atomic.Uint64
	curr     atomic.Int64
	total    atomic.Uint64
	rejected atomic.Uint64
	slots    chan struct{} // one token per allowed connection (-c)

	done     chan struct{} // closed by Shutdown
	stopOnce sync.Once
	served   atomic.Bool
	wg       sync.WaitGroup
}

// New validates what only the running system can check (the auth file, the
// engine's limits), builds the cache and opens the listeners. Log output
// (-v) goes to logOut.
func New(set config.Settings, logOut io.Writer) (*Server, error) {
	s := &Server{
		set:     set,
		log:     newLogger(logOut, set.Verbose),
		clients: map[uint64]*client{},
		slots:   make(chan struct{}, set.ConnLimit),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	if set.AuthFile != "" {
		a, err := loadAuthFile(set.AuthFile)
		if err != nil {
			return nil, err
		}
		s.auth = a
	}
	cache, err := NewCache(EngineConfig(&set), ConnSettings(&set), &host{s: s}, time.Now())
	if err != nil {
		return nil, err
	}
	s.cache = cache
	if err := s.listen(); err != nil {
		s.closeListeners()
		return nil, err
	}
	return s, nil
}

// listen opens the unix socket (-s), or otherwise a TCP listener per -l
// address unless -p is 0, as memcached does.
func (s *Server) listen() error {
	if s.set.UnixSocket != "" {
		l, err := listenUnix(s.set.UnixSocket, s.set.UnixMask, s.set.ListenBacklog)
		if err != nil {
			return err
		}
		s.listeners = append(s.listeners, l)
		return nil
	}
	if s.set.Port == 0 {
		return errors.New("nothing to listen on: -p 0 disables TCP and no -s unix socket was given")
	}
	addrs, err := s.set.ListenAddrs()
	if err != nil {
		return err
	}
	for _, a := range addrs {
		l, err := listenTCP(a, s.set.ListenBacklog)
		if err != nil {
			return err
		}
		s.listeners = append(s.listeners, l)
	}
	return nil
}

// Addrs returns the listeners' addresses.
func (s *Server) Addrs() []net.Addr {
	out := make([]net.Addr, len(s.listeners))
	for i, l := range s.listeners {
		out[i] = l.Addr()
	}
	return out
}

// Cache returns the cache agent behind the listeners.
func (s *Server) Cache() *Cache { return s.cache }

// Serve accepts and serves connections until Shutdown, then waits for every
// connection goroutine to finish. It returns nil after a shutdown.
func (s *Server) Serve() error {
	if !s.served.CompareAndSwap(false, true) {
		return fmt.Errorf("server: Serve called twice")
	}
	select {
	case <-s.done:
		return ErrClosed
	default:
	}
	s.wg.Add(1)
	go s.tick()
	if s.set.Extended.Relay == config.RelayEpoll && epollAvailable {
		if err := s.startEpoll(); err != nil {
			s.Shutdown()
			s.wg.Wait()
			return err
		}
		defer func() {
			<-s.stopped
			s.releaseLoops()
		}()
	} else {
		for _, l := range s.listeners {
			s.wg.Add(1)
			go s.acceptLoop(l, s.startClient)
		}
	}
	<-s.done
	s.wg.Wait()
	return nil
}

// Done is closed when the server starts shutting down (Shutdown, or the
// "shutdown" command with -A).
func (s *Server) Done() <-chan struct{} { return s.done }

// Shutdown stops accepting, closes every client connection and lets Serve
// return. It does not wait; it is safe to call more than once and from any
// goroutine.
func (s *Server) Shutdown() {
	s.stopOnce.Do(func() {
		close(s.done)
		s.closeListeners()
		s.mu.Lock()
		for _, c := range s.clients {
			if c.close != nil {
				c.close()
			}
		}
		if s.wakeLoops != nil {
			s.wakeLoops()
		}
		s.mu.Unlock()
		close(s.stopped)
	})
}

func (s *Server) closeListeners() {
	for _, l := range s.listeners {
		l.Close()
	}
}

// tick delivers the clock to the engine once a second (thesis §4: timers
// come from outside the agent).
func (s *Server) tick() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			s.cache.Tick(now)
		}
	}
}
