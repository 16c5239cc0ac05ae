package experiments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/diggi"
)

func startBench(t testing.TB, s Setup) *Bench {
	t.Helper()
	b, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return b
}

// inAgent runs fn as a task of agent a that blocks without the baton, as
// agent code calling ordinary blocking Go code does.
func inAgent(t *testing.T, a *ClientAgent, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	sched := a.ctx.Scheduler()
	if err := sched.Schedule(func() { sched.Block(func() { done <- fn() }) }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("agent task did not finish")
		return nil
	}
}

// exercise makes every call of the client once and checks the answers.
func exercise(ctx context.Context, c *client.Client, trusted bool) error {
	check := func(what string, err error, want error) error {
		if !errors.Is(err, want) {
			return &checkError{what: what, got: err, want: want}
		}
		return nil
	}
	val := bytes.Repeat([]byte("v"), 1024)
	steps := []func() error{
		func() error { return check("set", c.Set(ctx, &client.Item{Key: "k", Value: val, Flags: 7}), nil) },
		func() error {
			it, err := c.Get(ctx, "k")
			if err != nil || !bytes.Equal(it.Value, val) || it.Flags != 7 {
				return &checkError{what: "get", got: err}
			}
			stale := *it
			it.Value = []byte("swapped")
			if err := c.CompareAndSwap(ctx, it); err != nil {
				return &checkError{what: "cas", got: err}
			}
			// CompareAndSwap updated it.CAS; stale still has the old one.
			return check("stale cas", c.CompareAndSwap(ctx, &stale), client.ErrCASConflict)
		},
		func() error {
			return check("add existing", c.Add(ctx, &client.Item{Key: "k", Value: val}), client.ErrNotStored)
		},
		func() error {
			return check("replace missing", c.Replace(ctx, &client.Item{Key: "nope", Value: val}), client.ErrNotStored)
		},
		func() error { return check("replace", c.Replace(ctx, &client.Item{Key: "k", Value: []byte("b")}), nil) },
		func() error { return check("append", c.Append(ctx, &client.Item{Key: "k", Value: []byte("c")}), nil) },
		func() error { return check("prepend", c.Prepend(ctx, &client.Item{Key: "k", Value: []byte("a")}), nil) },
		func() error {
			it, err := c.GetAndTouch(ctx, "k", 100)
			if err != nil || string(it.Value) != "abc" {
				return &checkError{what: "gat", got: err}
			}
			return check("touch", c.Touch(ctx, "k", 0), nil)
		},
		func() error { return check("add", c.Add(ctx, &client.Item{Key: "n", Value: []byte("10")}), nil) },
		func() error {
			if v, err := c.Increment(ctx, "n", 5); err != nil || v != 15 {
				return &checkError{what: "incr", got: err}
			}
			if v, err := c.Decrement(ctx, "n", 20); err != nil || v != 0 {
				return &checkError{what: "decr", got: err}
			}
			return check("incr non-numeric", func() error { _, err := c.Increment(ctx, "k", 1); return err }(), client.ErrNonNumeric)
		},
		func() error {
			// memcached keeps a decremented value's length, padding with spaces.
			m, err := c.GetMulti(ctx, []string{"k", "n", "missing"})
			if err != nil || len(m) != 2 || string(m["k"].Value) != "abc" || strings.TrimSpace(string(m["n"].Value)) != "0" {
				return &checkError{what: fmt.Sprintf("get multi %v", m), got: err}
			}
			return nil
		},
		func() error {
			// The thesis's asynchronous form (Listing 4.5), pipelined on the
			// agent's one connection.
			var ps []*client.Pending
			for _, k := range []string{"a1", "a2", "a3"} {
				p, err := c.SetAsync(ctx, &client.Item{Key: k, Value: []byte(k)})
				if err != nil {
					return &checkError{what: "set async", got: err}
				}
				ps = append(ps, p)
			}
			g, err := c.GetAsync(ctx, "a3")
			if err != nil {
				return &checkError{what: "get async", got: err}
			}
			d, err := c.DeleteAsync(ctx, "a1")
			if err != nil {
				return &checkError{what: "delete async", got: err}
			}
			for _, p := range ps {
				if _, err := p.Wait(ctx); err != nil {
					return &checkError{what: "set async wait", got: err}
				}
			}
			if it, err := g.Wait(ctx); err != nil || string(it.Value) != "a3" {
				return &checkError{what: "get async wait", got: err}
			}
			_, err = d.Wait(ctx)
			return check("delete async wait", err, nil)
		},
		func() error { return check("delete", c.Delete(ctx, "k"), nil) },
		func() error { return check("delete missing", c.Delete(ctx, "k"), client.ErrCacheMiss) },
		func() error {
			err := c.Set(ctx, &client.Item{Key: "secret", Value: []byte("s")}, client.Sensitive())
			if trusted {
				return check("sensitive set", err, nil)
			}
			return check("sensitive set", err, client.ErrNoTrustedServer)
		},
		func() error {
			st, err := c.Stats(ctx, "")
			if err != nil || len(st) != 1 {
				return &checkError{what: "stats", got: err}
			}
			for _, s := range st {
				if s["cmd_set"] == "" || s["curr_connections"] == "" {
					return &checkError{what: "stats fields"}
				}
			}
			v, err := c.Version(ctx)
			if err != nil || len(v) != 1 {
				return &checkError{what: "version", got: err}
			}
			return nil
		},
		func() error { return check("flush", c.FlushAll(ctx, 0), nil) },
		func() error {
			return check("get after flush", func() error { _, err := c.Get(ctx, "n"); return err }(), client.ErrCacheMiss)
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

type checkError struct {
	what      string
	got, want error
}

func (e *checkError) Error() string {
	return e.what + ": got " + errString(e.got) + ", want " + errString(e.want)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestClientInAgent drives every client call from inside a client agent,
// over a Diggi socket, against the cache agent of the same instance.
func TestClientInAgent(t *testing.T) {
	for _, m := range trustModes {
		t.Run(m.name, func(t *testing.T) {
			b := startBench(t, Setup{Clients: 1, Trusted: m.trusted})
			a := b.Agents()[0]
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := inAgent(t, a, func() error { return exercise(ctx, a.Client(), m.trusted) }); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTrustedTrafficIsSealed taps every message between agents: with
// trusted agents a value the client stores never crosses in the clear;
// with untrusted ones it does (so the tap sees what it should).
func TestTrustedTrafficIsSealed(t *testing.T) {
	canary := []byte("canary-7d1f0a5e-the-value")
	for _, m := range trustModes {
		t.Run(m.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []byte
			tap := diggi.RouterFunc(func(msg *diggi.Message, f diggi.Forwarder) {
				mu.Lock()
				seen = append(seen, msg.Payload()...)
				mu.Unlock()
				f.Forward(msg)
			})
			b := startBench(t, Setup{Clients: 1, Trusted: m.trusted, Router: tap})
			a := b.Agents()[0]
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := inAgent(t, a, func() error {
				if err := a.Client().Set(ctx, &client.Item{Key: "x", Value: canary}); err != nil {
					return err
				}
				it, err := a.Client().Get(ctx, "x")
				if err == nil && !bytes.Equal(it.Value, canary) {
					err = &checkError{what: "get canary"}
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			leaked := bytes.Contains(seen, canary)
			mu.Unlock()
			if leaked == m.trusted {
				t.Fatalf("trusted=%v: canary in the clear = %v", m.trusted, leaked)
			}
		})
	}
}
