package ycsb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fieldsDB keeps a copy of every record written and every value a read
// returned, by operation, and a log of the calls.
type fieldsDB struct {
	*memDB
	mu                    sync.Mutex
	inserts, updates, got [][]byte
	log                   []string
}

func (f *fieldsDB) Read(ctx context.Context, key string) ([]byte, error) {
	v, err := f.memDB.Read(ctx, key)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, "read "+key)
	if err == nil {
		f.got = append(f.got, bytes.Clone(v))
	}
	return v, err
}

func (f *fieldsDB) Insert(ctx context.Context, key string, value []byte) error {
	f.mu.Lock()
	f.log = append(f.log, fmt.Sprintf("insert %s %q", key, value))
	f.inserts = append(f.inserts, bytes.Clone(value))
	f.mu.Unlock()
	return f.memDB.Insert(ctx, key, value)
}

func (f *fieldsDB) Update(ctx context.Context, key string, value []byte) error {
	f.mu.Lock()
	f.log = append(f.log, fmt.Sprintf("update %s %q", key, value))
	f.updates = append(f.updates, bytes.Clone(value))
	f.mu.Unlock()
	return f.memDB.Update(ctx, key, value)
}

// recordFields decodes a record and checks its field names and lengths.
func recordFields(t *testing.T, w *Workload, v []byte) []string {
	t.Helper()
	if err := w.CheckRecord(v); err != nil {
		t.Fatalf("%q: %v", v, err)
	}
	var rec map[string]string
	if err := json.Unmarshal(v, &rec); err != nil {
		t.Fatalf("%q: %v", v, err)
	}
	var names []string
	for name, val := range rec {
		if int64(len(val)) != w.FieldLength {
			t.Fatalf("%q: field %s has %d bytes, want %d", v, name, len(val), w.FieldLength)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

var fieldsProps = Properties{
	"recordcount": "20", "operationcount": "400", "fieldcount": "4", "fieldlength": "8",
	"readproportion": "0", "updateproportion": "0.4", "readmodifywriteproportion": "0.3",
	"insertproportion": "0.3", "requestdistribution": "uniform",
}

// runPipelined runs plan's client 0 as a pipelined client with a window
// of four, answering calls oldest first from db.
func runPipelined(t *testing.T, plan *Plan, db *fieldsDB) {
	t.Helper()
	q, err := plan.Pipeline(0, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var pending []*Call
	ctx := context.Background()
	for !q.Finished() {
		for {
			call, _ := q.Next(time.Now())
			if call == nil {
				break
			}
			pending = append(pending, call)
		}
		if len(pending) == 0 {
			t.Fatal("nothing outstanding and not finished")
		}
		call := pending[0]
		pending = pending[1:]
		var err error
		switch call.Op {
		case OpRead:
			_, err = db.Read(ctx, string(call.Key))
		case OpInsert:
			err = db.Insert(ctx, string(call.Key), call.Value)
		case OpUpdate:
			err = db.Update(ctx, string(call.Key), call.Value)
		}
		if next := q.Done(call, time.Now(), status(err)); next != nil {
			pending = append(pending, next)
		}
	}
}

// TestWriteAllFields: with writeallfields=true an update (alone or in a
// read-modify-write) writes every field; otherwise one field, chosen at
// random, as YCSB's CoreWorkload. Inserts write every field either way.
// Both client models are checked.
func TestWriteAllFields(t *testing.T) {
	all := []string{"field0", "field1", "field2", "field3"}
	for _, writeAll := range []bool{true, false} {
		for _, model := range []string{"blocking", "pipelined"} {
			t.Run(model+"/writeallfields="+strconv.FormatBool(writeAll), func(t *testing.T) {
				p := Properties{"writeallfields": strconv.FormatBool(writeAll)}
				p.Merge(fieldsProps)
				w := mustWorkload(t, p)
				if w.WriteAllFields != writeAll {
					t.Fatalf("WriteAllFields = %v", w.WriteAllFields)
				}
				db := &fieldsDB{memDB: newMemDB()}
				preload(t, w, db.memDB)
				plan, err := NewPlan(w, PhaseRun, 1, PlanOptions{Seed: 3})
				if err != nil {
					t.Fatal(err)
				}
				if model == "blocking" {
					if err := plan.RunClient(context.Background(), 0, db); err != nil {
						t.Fatal(err)
					}
				} else {
					runPipelined(t, plan, db)
				}
				if len(db.updates) < 200 || len(db.inserts) < 80 {
					t.Fatalf("%d updates, %d inserts", len(db.updates), len(db.inserts))
				}
				for _, v := range db.inserts {
					if got := recordFields(t, w, v); !slices.Equal(got, all) {
						t.Fatalf("insert wrote fields %v, want %v", got, all)
					}
				}
				chosen := map[string]int{}
				for _, v := range db.updates {
					got := recordFields(t, w, v)
					if writeAll && !slices.Equal(got, all) {
						t.Fatalf("update wrote fields %v, want %v", got, all)
					}
					if !writeAll && len(got) != 1 {
						t.Fatalf("update wrote fields %v, want one", got)
					}
					chosen[got[0]]++
				}
				if !writeAll {
					// About 70 updates per field; each field must be chosen.
					for _, f := range all {
						if chosen[f] < len(db.updates)/8 {
							t.Errorf("field %s updated %d times of %d", f, chosen[f], len(db.updates))
						}
					}
				}
			})
		}
	}
}

// TestReadAllFields: readallfields is accepted but changes nothing. A
// memcached item holds the whole record, so a read is a get of the key
// and returns every field whichever value the property has: the client
// makes the same calls with either, and each read returns the whole
// record.
func TestReadAllFields(t *testing.T) {
	var logs [2][]string
	for i, readAll := range []bool{true, false} {
		p := Properties{
			"readallfields": strconv.FormatBool(readAll), "writeallfields": "true",
			"readproportion": "0.5", "updateproportion": "0.2", "readmodifywriteproportion": "0.3", "insertproportion": "0",
		}
		for k, v := range fieldsProps {
			if _, ok := p[k]; !ok {
				p[k] = v
			}
		}
		w := mustWorkload(t, p)
		if w.ReadAllFields != readAll {
			t.Fatalf("ReadAllFields = %v, want %v", w.ReadAllFields, readAll)
		}
		db := &fieldsDB{memDB: newMemDB()}
		preload(t, w, db.memDB)
		plan, err := NewPlan(w, PhaseRun, 1, PlanOptions{Seed: 11})
		if err != nil {
			t.Fatal(err)
		}
		if err := plan.RunClient(context.Background(), 0, db); err != nil {
			t.Fatal(err)
		}
		if len(db.got) < 250 {
			t.Fatalf("readallfields=%v: %d reads", readAll, len(db.got))
		}
		for _, v := range db.got {
			if got := recordFields(t, w, v); len(got) != w.FieldCount {
				t.Fatalf("readallfields=%v: a read returned fields %v, want all %d", readAll, got, w.FieldCount)
			}
		}
		logs[i] = db.log
	}
	if !slices.Equal(logs[0], logs[1]) {
		t.Error("readallfields=false made different calls from readallfields=true")
	}
}
