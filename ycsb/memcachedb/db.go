package memcachedb

import (
	"context"
	"errors"

	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/ycsb"
)

// DB is one YCSB client's view of a memcached deployment.
type DB struct {
	c     *client.Client
	table string
}

// New returns a DB storing records of table through c. Several DBs may
// share one client (its connections are pipelined).
func New(c *client.Client, table string) *DB { return &DB{c: c, table: table} }

func (d *DB) key(k string) string { return d.table + "-" + k }

// Read implements ycsb.DB.
func (d *DB) Read(ctx context.Context, key string) ([]byte, error) {
	it, err := d.c.Get(ctx, d.key(key))
	if errors.Is(err, client.ErrCacheMiss) {
		return nil, ycsb.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return it.Value, nil
}

// Insert implements ycsb.DB with an add, as YCSB's binding does.
func (d *DB) Insert(ctx context.Context, key string, value []byte) error {
	return d.c.Add(ctx, &client.Item{Key: d.key(key), Value: value})
}

// Update implements ycsb.DB with a replace: updating a missing record is
// NOT_FOUND, as in YCSB's binding.
func (d *DB) Update(ctx context.Context, key string, value []byte) error {
	err := d.c.Replace(ctx, &client.Item{Key: d.key(key), Value: value})
	if errors.Is(err, client.ErrNotStored) {
		return ycsb.ErrNotFound
	}
	return err
}
