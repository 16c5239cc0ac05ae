package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/ycsb"
	"github.com/securecached/securecached/ycsb/memcachedb"
)

// parseTargets reads "--target tcp://HOST:PORT[,tcp://HOST:PORT...]", or
// the same with tls:// (useTLS; the client has one TLS configuration, so
// the schemes cannot be mixed). A server may carry "?weight=N" and
// "?trusted=1".
func parseTargets(s string) (servers []client.ServerConfig, useTLS bool, err error) {
	var out []client.ServerConfig
	scheme := ""
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		u, err := url.Parse(part)
		if err != nil {
			return nil, false, fmt.Errorf("target %q: %w", part, err)
		}
		if u.Scheme != "tcp" && u.Scheme != "tls" {
			return nil, false, fmt.Errorf("target %q: scheme must be tcp:// or tls:// (or the whole target is \"inproc\")", part)
		}
		if scheme != "" && u.Scheme != scheme {
			return nil, false, fmt.Errorf("target %q: all targets must use %s://", part, scheme)
		}
		scheme = u.Scheme
		if u.Port() == "" || u.Hostname() == "" {
			return nil, false, fmt.Errorf("target %q: want %s://HOST:PORT", part, u.Scheme)
		}
		sc := client.ServerConfig{Addr: u.Host, Weight: 1}
		if w := u.Query().Get("weight"); w != "" {
			n, err := strconv.ParseUint(w, 10, 32)
			if err != nil || n == 0 {
				return nil, false, fmt.Errorf("target %q: bad weight %q", part, w)
			}
			sc.Weight = uint32(n)
		}
		sc.Trusted = u.Query().Get("trusted") == "1"
		out = append(out, sc)
	}
	if len(out) == 0 {
		return nil, false, errors.New("no --target servers given")
	}
	return out, scheme == "tls", nil
}

// dbFactory opens one client per YCSB client goroutine, as the thesis gives
// each client agent its own connection, or one per share goroutines, which
// then pipeline their requests on its connection.
type dbFactory struct {
	cfg     client.Config
	table   string
	share   int // goroutines per client; 0 is 1
	clients []*client.Client
}

// open is called for goroutines 0, 1, 2 ... in order (ycsb.Options.NewDB).
func (f *dbFactory) open(i int) (ycsb.DB, error) {
	if f.share > 1 && i%f.share != 0 && len(f.clients) > 0 {
		return memcachedb.New(f.clients[len(f.clients)-1], f.table), nil
	}
	c, err := client.New(f.cfg)
	if err != nil {
		return nil, err
	}
	f.clients = append(f.clients, c)
	return memcachedb.New(c, f.table), nil
}

func (f *dbFactory) close() {
	for _, c := range f.clients {
		c.Close()
	}
	f.clients = nil
}
