package client

import (
	"context"
	"fmt"
	"sync"

	"github.com/securecached/securecached/protocol"
)

// GetMulti fetches many keys: one batch per server (quiet GETKQs ended by a
// NOOP, so misses cost nothing on the wire), the servers in parallel. Missing
// keys are absent from the map. With several servers failing, the first
// error is returned along with what the others answered.
func (c *Client) GetMulti(ctx context.Context, keys []string, opts ...CallOption) (map[string]*Item, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	o := collect(opts)
	byServer := map[*server][]string{}
	for _, k := range keys {
		s, err := c.pick(k, o)
		if err != nil {
			return nil, err
		}
		byServer[s] = append(byServer[s], k)
	}
	var (
		mu       sync.Mutex
		out      = make(map[string]*Item, len(keys))
		firstErr error
		wg       sync.WaitGroup
	)
	for s, ks := range byServer {
		wg.Go(func() {
			items, err := c.getBatch(ctx, s, ks)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			for _, it := range items {
				out[it.Key] = it
			}
		})
	}
	wg.Wait()
	return out, firstErr
}

// multiGetChunk bounds the keys of one get-multi request, keeping a text
// "gets" line well under what servers buffer; a server's chunks are all
// sent before any reply is awaited, so chunking costs no round trips.
const multiGetChunk = 100

func (c *Client) getBatch(ctx context.Context, s *server, keys []string) ([]*Item, error) {
	var (
		pending []*Pending
		items   []*Item
	)
	for start := 0; start < len(keys); start += multiGetChunk {
		chunk := keys[start:min(start+multiGetChunk, len(keys))]
		p, err := c.startOn(ctx, s, &request{op: protocol.OpGetKQ, keys: chunk})
		if err != nil {
			return items, err
		}
		p.decode = func(rs []protocol.BinResponse) (*Item, error) {
			for _, r := range rs {
				if r.Header.Opcode == protocol.OpNoop {
					continue
				}
				if r.Header.Status != protocol.StatusOK {
					if r.Header.Status == protocol.StatusKeyNotFound {
						continue
					}
					return nil, statusErr(s.cfg.Addr, r, false, false)
				}
				it, err := c.itemFrom(string(r.Key), r)
				if err != nil {
					return nil, err
				}
				items = append(items, it)
			}
			return nil, nil
		}
		pending = append(pending, p)
	}
	var firstErr error
	for _, p := range pending {
		if _, err := p.Wait(ctx); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return items, firstErr
}

// eachServer runs f on every server in parallel and joins the results by
// address. It fails with the first error.
func eachServer[T any](c *Client, f func(*server) (T, error)) (map[string]T, error) {
	var (
		mu       sync.Mutex
		out      = map[string]T{}
		firstErr error
		wg       sync.WaitGroup
	)
	for _, s := range c.servers {
		wg.Go(func() {
			v, err := f(s)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			out[s.cfg.Addr] = v
		})
	}
	wg.Wait()
	return out, firstErr
}

func (c *Client) simple(ctx context.Context, s *server, req *request) (protocol.BinResponse, error) {
	p, err := c.startOn(ctx, s, req)
	if err != nil {
		return protocol.BinResponse{}, err
	}
	var resp protocol.BinResponse
	p.decode = func(rs []protocol.BinResponse) (*Item, error) {
		resp = rs[0]
		return nil, statusErr(s.cfg.Addr, rs[0], false, false)
	}
	_, err = p.Wait(ctx)
	return resp, err
}

// FlushAll invalidates every item on every server, after delay seconds when
// delay > 0.
func (c *Client) FlushAll(ctx context.Context, delay int32) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	_, err := eachServer(c, func(s *server) (struct{}, error) {
		_, err := c.simple(ctx, s, &request{op: protocol.OpFlush, exptime: max(delay, 0)})
		return struct{}{}, err
	})
	return err
}

// Version returns each server's version string, by address.
func (c *Client) Version(ctx context.Context) (map[string]string, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	return eachServer(c, func(s *server) (string, error) {
		r, err := c.simple(ctx, s, &request{op: protocol.OpVersion})
		return string(r.Value), err
	})
}

// Stats returns each server's statistics of the given group ("" for the
// general ones, or "items", "slabs", "settings", ...), by address.
func (c *Client) Stats(ctx context.Context, group string) (map[string]map[string]string, error) {
	for i := 0; i < len(group); i++ {
		if group[i] < ' ' || group[i] == 0x7f {
			return nil, fmt.Errorf("memcache: stats group %q has control characters", group)
		}
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	return eachServer(c, func(s *server) (map[string]string, error) {
		p, err := c.startOn(ctx, s, &request{op: protocol.OpStat, group: group})
		if err != nil {
			return nil, err
		}
		stats := map[string]string{}
		p.decode = func(rs []protocol.BinResponse) (*Item, error) {
			for _, r := range rs {
				if r.Header.Status != protocol.StatusOK {
					return nil, fmt.Errorf("stats %q: %w", group, statusErr(s.cfg.Addr, r, false, false))
				}
				if len(r.Key) > 0 {
					stats[string(r.Key)] = string(r.Value)
				}
			}
			return nil, nil
		}
		_, err = p.Wait(ctx)
		return stats, err
	})
}
