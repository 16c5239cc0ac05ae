package ycsb

import (
	"context"
	"errors"
)

// DB is the store under test, as YCSB's DB binding sees it, reduced to what
// a memcached-style cache offers. Each client goroutine gets its own DB.
type DB interface {
	// Read fetches key; it returns ErrNotFound when the key is absent.
	Read(ctx context.Context, key string) ([]byte, error)
	// Insert stores a new record.
	Insert(ctx context.Context, key string, value []byte) error
	// Update overwrites a record.
	Update(ctx context.Context, key string, value []byte) error
}

// ErrNotFound is what DB.Read returns for a missing key.
var ErrNotFound = errors.New("ycsb: not found")
