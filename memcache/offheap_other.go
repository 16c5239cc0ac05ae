//go:build !linux

package memcache

import "errors"

// Elsewhere the pages stay in the Go heap.
func mapAnon(int) ([]byte, error) { return nil, errors.New("no anonymous mappings") }

func unmapAnon([]byte) {}
