package diggi

import (
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// Options are an agent's settings from the configuration file.
type Options map[string]string

// String returns the option or def.
func (o Options) String(key, def string) string {
	if v, ok := o[key]; ok {
		return v
	}
	return def
}

// Int parses an integer option, or returns def if it is absent.
func (o Options) Int(key string, def int) (int, error) {
	v, ok := o[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def, fmt.Errorf("option %s=%q: %w", key, v, err)
	}
	return n, nil
}

// Bool parses a boolean option, or returns def if it is absent.
func (o Options) Bool(key string, def bool) (bool, error) {
	v, ok := o[key]
	if !ok {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, fmt.Errorf("option %s=%q: %w", key, v, err)
	}
	return b, nil
}

// Duration parses a duration option ("1s"), or returns def if absent.
func (o Options) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := o[key]
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return def, fmt.Errorf("option %s=%q: %w", key, v, err)
	}
	return d, nil
}

// Context is what an agent gets from the runtime (the thesis's ctx): its
// identity and options, its scheduler, message manager and logger, and the
// directory of live agents.
type Context struct {
	info    Info
	options Options
	sched   *Scheduler
	mm      *Manager
	log     *slog.Logger
	dir     *Directory

	extMu  sync.Mutex
	ext    map[any]any
	stopMu sync.Mutex
	atStop []func()
}

// ID returns the agent's id.
func (c *Context) ID() AgentID { return c.info.ID }

// Name returns the agent's name within its instance.
func (c *Context) Name() string { return c.info.Name }

// Kind returns the agent's kind.
func (c *Context) Kind() string { return c.info.Kind }

// Trusted reports whether the agent is configured as trusted.
func (c *Context) Trusted() bool { return c.info.Trusted }

// Info returns the agent's directory entry.
func (c *Context) Info() Info { return c.info }

// Options returns the agent's configured options (do not modify).
func (c *Context) Options() Options { return c.options }

// Scheduler returns the agent's scheduler.
func (c *Context) Scheduler() *Scheduler { return c.sched }

// Messages returns the agent's message manager.
func (c *Context) Messages() *Manager { return c.mm }

// Log returns the agent's logger (with agent, id, kind attributes).
func (c *Context) Log() *slog.Logger { return c.log }

// Directory returns the directory of live agents.
func (c *Context) Directory() *Directory { return c.dir }

// Extension returns the per-agent value stored under key, creating it
// with make on first use. Layers on top of the runtime (the POSIX layer)
// keep their per-agent state here. Safe from any goroutine.
func (c *Context) Extension(key any, make func() any) any {
	c.extMu.Lock()
	defer c.extMu.Unlock()
	if v, ok := c.ext[key]; ok {
		return v
	}
	if c.ext == nil {
		c.ext = map[any]any{}
	}
	v := make()
	c.ext[key] = v
	return v
}

// AtStop registers fn to run under the baton after the agent's Stop
// (layers use it to close what the agent left open), latest first.
func (c *Context) AtStop(fn func()) {
	c.stopMu.Lock()
	c.atStop = append(c.atStop, fn)
	c.stopMu.Unlock()
}

func (c *Context) runAtStop() {
	c.stopMu.Lock()
	fns := c.atStop
	c.atStop = nil
	c.stopMu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}
