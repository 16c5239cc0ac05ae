package netconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/posix"
	"github.com/securecached/securecached/internal/testdiggi"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// agentFunc is an agent built from functions.
type agentFunc struct {
	start func(ctx *diggi.Context) error
	stop  func(ctx *diggi.Context)
}

func (a *agentFunc) Init(ctx *diggi.Context) error { posix.For(ctx); return nil }
func (a *agentFunc) Start(ctx *diggi.Context) error {
	if a.start != nil {
		return a.start(ctx)
	}
	return nil
}
func (a *agentFunc) Receive(*diggi.Message) {}
func (a *agentFunc) Stop(ctx *diggi.Context) {
	if a.stop != nil {
		a.stop(ctx)
	}
}

func boot(t *testing.T, agents map[string]*agentFunc, order ...string) *diggi.Instance {
	t.Helper()
	reg := diggi.NewRegistry()
	cfg := diggi.Config{Instance: "netconn-test"}
	for _, name := range order {
		a := agents[name]
		if err := reg.Register(name, func() diggi.Agent { return a }); err != nil {
			t.Fatal(err)
		}
		cfg.Agents = append(cfg.Agents, diggi.AgentConfig{Name: name, Kind: name})
	}
	return testdiggi.Start(t, cfg, diggi.InstanceOptions{Registry: reg})
}

// inAgent runs fn as a task of the named agent, with the baton released
// (Scheduler.Block): ordinary blocking Go code inside an agent.
func inAgent(t *testing.T, in *diggi.Instance, name string, fn func(sys *posix.Sys)) {
	t.Helper()
	ctx, _ := in.Context(name)
	done := make(chan struct{})
	if err := ctx.Scheduler().Schedule(func() {
		defer close(done)
		sys := posix.For(ctx)
		ctx.Scheduler().Block(func() { fn(sys) })
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("agent task timed out")
	}
}

func TestHTTPServerAndClientInsideAgents(t *testing.T) {
	hits := 0 // agent state of "web": touched only under its baton
	var srv *http.Server
	served := make(chan struct{})
	web := &agentFunc{
		start: func(ctx *diggi.Context) error {
			ln, err := Listen(posix.For(ctx), 80)
			if err != nil {
				return err
			}
			srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// net/http's goroutine: enter the agent to touch its state.
				n := 0
				_ = ctx.Scheduler().Run(func() { hits++; n = hits })
				fmt.Fprintf(w, "hello %s, visit %d", r.URL.Query().Get("name"), n)
			})}
			go func() {
				defer close(served)
				_ = srv.Serve(ln)
			}()
			return nil
		},
		stop: func(ctx *diggi.Context) {
			_ = srv.Close()
			// Wait without the baton: Serve may need it to finish Accept.
			ctx.Scheduler().Block(func() { <-served })
		},
	}
	in := boot(t, map[string]*agentFunc{"web": web, "browser": {}}, "web", "browser")
	inAgent(t, in, "browser", func(sys *posix.Sys) {
		tr := &http.Transport{DialContext: Dialer(sys)}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		for i := 1; i <= 3; i++ {
			resp, err := client.Get("http://web:80/?name=diggi")
			if err != nil {
				t.Error(err)
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("hello diggi, visit %d", i); err != nil || string(body) != want {
				t.Errorf("GET: %q, %v; want %q", body, err, want)
			}
		}
		// A large body exercises flow control through the adapters.
		resp, err := client.Post("http://web:80/?name=big", "text/plain", strings.NewReader(strings.Repeat("x", 1<<20)))
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}

// kvAgent speaks enough of memcached's text protocol (set, gets, delete)
// for gomemcache, from an ordinary blocking per-connection task.
type kvAgent struct {
	data map[string]string
	lfd  int
}

func (k *kvAgent) Init(ctx *diggi.Context) error {
	sys := posix.For(ctx)
	k.data = map[string]string{}
	fd, err := sys.Socket()
	if err != nil {
		return err
	}
	k.lfd = fd
	return sys.Listen(fd, 11211, 0)
}

func (k *kvAgent) Start(ctx *diggi.Context) error {
	sys := posix.For(ctx)
	return ctx.Scheduler().Schedule(func() {
		for {
			fd, _, err := sys.Accept(k.lfd)
			if err != nil {
				return
			}
			_ = ctx.Scheduler().Schedule(func() { k.serve(sys, fd) })
		}
	})
}

func (k *kvAgent) serve(sys *posix.Sys, fd int) {
	defer sys.Close(fd)
	r := bufio.NewReader(fdReader{sys, fd})
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		f := strings.Fields(line)
		var reply string
		switch {
		case len(f) == 5 && f[0] == "set":
			n, _ := strconv.Atoi(f[4])
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(r, buf); err != nil {
				return
			}
			k.data[f[1]] = f[2] + " " + string(buf[:n])
			reply = "STORED\r\n"
		case len(f) >= 2 && (f[0] == "get" || f[0] == "gets"):
			for _, key := range f[1:] {
				if v, ok := k.data[key]; ok {
					flags, val, _ := strings.Cut(v, " ")
					reply += fmt.Sprintf("VALUE %s %s %d 1\r\n%s\r\n", key, flags, len(val), val)
				}
			}
			reply += "END\r\n"
		case len(f) == 2 && f[0] == "delete":
			if _, ok := k.data[f[1]]; ok {
				delete(k.data, f[1])
				reply = "DELETED\r\n"
			} else {
				reply = "NOT_FOUND\r\n"
			}
		default:
			reply = "ERROR\r\n"
		}
		if _, err := sys.Write(fd, []byte(reply)); err != nil {
			return
		}
	}
}

func (k *kvAgent) Receive(*diggi.Message) {}
func (k *kvAgent) Stop(*diggi.Context)    {}

type fdReader struct {
	sys *posix.Sys
	fd  int
}

func (r fdReader) Read(p []byte) (int, error) { return r.sys.Read(r.fd, p) }

// agentSelector points gomemcache at Diggi agents (its own ServerList would
// try to resolve "kv" in DNS).
type agentSelector []net.Addr

func (s agentSelector) PickServer(string) (net.Addr, error) { return s[0], nil }
func (s agentSelector) Each(f func(net.Addr) error) error {
	for _, a := range s {
		if err := f(a); err != nil {
			return err
		}
	}
	return nil
}

func TestGomemcacheClientAgainstKVAgent(t *testing.T) {
	reg := diggi.NewRegistry()
	kv := &kvAgent{}
	reg.Register("kv", func() diggi.Agent { return kv })
	reg.Register("client", func() diggi.Agent { return &agentFunc{} })
	in := testdiggi.Start(t, diggi.Config{Instance: "mc", Agents: []diggi.AgentConfig{
		{Name: "kv", Kind: "kv"}, {Name: "app", Kind: "client"},
	}}, diggi.InstanceOptions{Registry: reg})
	kvInfo, _ := in.Directory().Lookup("kv")
	inAgent(t, in, "app", func(sys *posix.Sys) {
		mc := memcache.NewFromSelector(agentSelector{Addr{Agent: kvInfo.ID, Name: "kv", Port: 11211}})
		mc.DialContext = Dialer(sys)
		mc.Timeout = 5 * time.Second
		defer mc.Close()
		if err := mc.Set(&memcache.Item{Key: "greeting", Value: []byte("hello over diggi"), Flags: 7}); err != nil {
			t.Errorf("set: %v", err)
			return
		}
		it, err := mc.Get("greeting")
		if err != nil || string(it.Value) != "hello over diggi" || it.Flags != 7 {
			t.Errorf("get: %+v, %v", it, err)
		}
		big := strings.Repeat("v", 200_000)
		if err := mc.Set(&memcache.Item{Key: "big", Value: []byte(big)}); err != nil {
			t.Errorf("set big: %v", err)
		}
		if it, err := mc.Get("big"); err != nil || string(it.Value) != big {
			t.Errorf("get big: %v", err)
		}
		if err := mc.Delete("greeting"); err != nil {
			t.Errorf("delete: %v", err)
		}
		if _, err := mc.Get("greeting"); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Errorf("get after delete: %v, want miss", err)
		}
	})
}

func TestConnDeadlinesAndClose(t *testing.T) {
	var ln *Listener
	srv := &agentFunc{start: func(ctx *diggi.Context) error {
		var err error
		ln, err = Listen(posix.For(ctx), 9)
		return err
	}}
	in := boot(t, map[string]*agentFunc{"srv": srv, "cli": {}}, "srv", "cli")
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	inAgent(t, in, "cli", func(sys *posix.Sys) {
		c, err := Dial(context.Background(), sys, "srv:9")
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		start := time.Now()
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read past deadline: %v", err)
		}
		if time.Since(start) < 40*time.Millisecond {
			t.Error("deadline fired early")
		}
		var ne net.Error
		c.SetReadDeadline(time.Now().Add(-time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("read with past deadline: %v, want a timeout net.Error", err)
		}
		c.SetReadDeadline(time.Time{})
		sc := <-accepted
		if sc == nil {
			t.Error("no accepted conn")
			return
		}
		sc.Write([]byte("ok"))
		buf := make([]byte, 2)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ok" {
			t.Errorf("read after clearing deadline: %q %v", buf, err)
		}
		// Close while a read waits: the read ends with net.ErrClosed.
		errc := make(chan error, 1)
		go func() { _, err := c.Read(buf); errc <- err }()
		time.Sleep(20 * time.Millisecond)
		c.Close()
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Errorf("read during close: %v", err)
		}
		// The server sees EOF.
		sc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := sc.Read(buf); err != io.EOF {
			t.Errorf("server read after client close: %v, want EOF", err)
		}
		sc.Close()
		if _, err := Dial(context.Background(), sys, "nobody:1"); err == nil {
			t.Error("dial to unknown agent succeeded")
		}
		if _, err := Dial(context.Background(), sys, "srv:10"); !errors.Is(err, posix.ECONNREFUSED) {
			t.Errorf("dial to closed port: %v", err)
		}
	})
	ln.Close()
}

// CloseWrite passes a half-close through: the peer reads EOF and can still
// answer, as a gateway relaying TCP needs.
func TestConnCloseWriteHalfClose(t *testing.T) {
	var ln *Listener
	srv := &agentFunc{start: func(ctx *diggi.Context) error {
		var err error
		ln, err = Listen(posix.For(ctx), 5)
		return err
	}}
	in := boot(t, map[string]*agentFunc{"srv": srv, "cli": {}}, "srv", "cli")
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		req, err := io.ReadAll(c) // until the client's half-close
		if err != nil {
			t.Error(err)
			return
		}
		fmt.Fprintf(c, "got %d bytes", len(req))
	}()
	inAgent(t, in, "cli", func(sys *posix.Sys) {
		c, err := Dial(context.Background(), sys, "srv:5")
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		c.Write([]byte(strings.Repeat("r", 100_000)))
		if err := c.CloseWrite(); err != nil {
			t.Error(err)
		}
		resp, err := io.ReadAll(c)
		if err != nil || string(resp) != "got 100000 bytes" {
			t.Errorf("response %q, %v", resp, err)
		}
	})
	<-served
	ln.Close()
}
