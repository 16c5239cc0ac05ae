package cacheagent

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/proctime"
	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/sealstream"
)

func warmSpec(config string) trust.LaunchSpec {
	return trust.LaunchSpec{
		Identity: trust.CodeIdentity{BinaryHash: [32]byte{7}, Kind: Kind},
		Config:   []byte(config),
		Signer:   trust.SignerFromKey([]byte("warm test signer")),
	}
}

func newWarmEngine(t testing.TB, mb int64) *memcache.Cache {
	t.Helper()
	cfg := memcache.DefaultConfig()
	cfg.MaxBytes = mb << 20
	c, err := memcache.New(cfg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSealedItemsRoundTrip: items come back through the sealed stream with
// flags and CAS, the sealed bytes never hold a key or value in clear, and
// an enclave of another measurement cannot read them.
func TestSealedItemsRoundTrip(t *testing.T) {
	w := testsim.New(t)
	enc := w.Launch(t, warmSpec("-m 64"))
	c := newWarmEngine(t, 64)
	canaryKey, canaryValue := "canary:key:5be1", strings.Repeat("canary-value-77c0 ", 20)
	_, cas, err := c.Store(memcache.ModeSet, []byte(canaryKey), 9, 0, []byte(canaryValue), memcache.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5000 {
		c.Store(memcache.ModeSet, []byte("k"+strconv.Itoa(i)), 0, 0, bytes.Repeat([]byte{'x'}, i%900), memcache.StoreOptions{})
	}
	var buf bytes.Buffer
	n, err := saveSealed(c, &buf, enc, trust.SealToMeasurement)
	if err != nil || n != 5001 {
		t.Fatalf("saved %d: %v", n, err)
	}
	if bytes.Contains(buf.Bytes(), []byte("canary")) || bytes.Contains(buf.Bytes(), bytes.Repeat([]byte{'x'}, 32)) {
		t.Fatal("plaintext in the sealed stream")
	}
	d := newWarmEngine(t, 64)
	st, err := restoreSealed(d, bytes.NewReader(buf.Bytes()), w.Launch(t, warmSpec("-m 64")))
	if err != nil || st.Restored != 5001 {
		t.Fatalf("restore: %+v %v", st, err)
	}
	if v, ok := d.Get([]byte(canaryKey)); !ok || string(v.Value) != canaryValue || v.Flags != 9 || v.CAS != cas {
		t.Fatalf("canary after restore: %v %+v", ok, v)
	}
	_, err = restoreSealed(newWarmEngine(t, 64), bytes.NewReader(buf.Bytes()), w.Launch(t, warmSpec("-m 65")))
	if !errors.Is(err, sealstream.ErrIdentity) || !strings.Contains(warmReason(err), "measurement") {
		t.Fatalf("other measurement: %v", err)
	}
}

// warmEngine fills an engine with n items of size bytes.
func warmEngine(b *testing.B, n, size int) (*memcache.Cache, int64) {
	b.Helper()
	mb := int64(n)*int64(size+128)>>20 + 64
	c := newWarmEngine(b, mb)
	val := bytes.Repeat([]byte{'v'}, size)
	for i := range n {
		if res, _, err := c.Store(memcache.ModeSet, []byte("key:"+strconv.Itoa(i)), 0, 0, val, memcache.StoreOptions{}); err != nil || res != memcache.Stored {
			b.Fatalf("store %d: %v %v", i, res, err)
		}
	}
	return c, mb
}

// saveFile writes c sealed to a new file and returns its path.
func saveFile(b *testing.B, c *memcache.Cache, enc trust.Enclave, dir string) string {
	b.Helper()
	path := filepath.Join(dir, "warm.sealed")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := saveSealed(c, f, enc, trust.SealToMeasurement); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkWarmSave1MItems1KB is a graceful stop's work with -e: one
// million 1 KB items sealed to a file.
func BenchmarkWarmSave1MItems1KB(b *testing.B) {
	enc := testsim.New(b).Launch(b, warmSpec("bench"))
	c, _ := warmEngine(b, 1_000_000, 1024)
	dir := b.TempDir()
	for b.Loop() {
		saveFile(b, c, enc, dir)
	}
}

// BenchmarkWarmRestore1MItems1KB is the restore of a warm restart file of
// one million 1 KB items: open, unseal, decrypt and link every item into
// an empty engine. Run it with -benchtime=3x (each iteration builds a
// fresh 1.2 GB engine).
func BenchmarkWarmRestore1MItems1KB(b *testing.B) {
	const n = 1_000_000
	enc := testsim.New(b).Launch(b, warmSpec("bench"))
	c, mb := warmEngine(b, n, 1024)
	path := saveFile(b, c, enc, b.TempDir())
	var cpu time.Duration // the process's CPU time: wall time drifts with a shared machine's load
	for b.Loop() {
		b.StopTimer()
		d := newWarmEngine(b, mb)
		b.StartTimer()
		before, _ := proctime.Total()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		st, err := restoreSealed(d, f, enc)
		f.Close()
		if err != nil || st.Restored != n {
			b.Fatalf("restored %d: %v", st.Restored, err)
		}
		after, _ := proctime.Total()
		cpu += after - before
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}
