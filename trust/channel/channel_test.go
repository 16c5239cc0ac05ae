package channel

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/securecached/securecached/internal/testenv"
)

func TestSealOpenAssociatedData(t *testing.T) {
	w := newWorld(t)
	a, b := trustedPair(t, w, Config{})
	rec, _ := a.Seal(nil, []byte("v"), []byte("src=1 dst=2 type=regular"))
	if _, err := b.Open(nil, rec, []byte("src=1 dst=3 type=regular")); !errors.Is(err, ErrTampered) {
		t.Fatalf("redirected record: %v", err)
	}
	// The refused record did not advance the receiver.
	if got, err := b.Open(nil, rec, []byte("src=1 dst=2 type=regular")); err != nil || string(got) != "v" {
		t.Fatalf("genuine record after refusal: %q, %v", got, err)
	}
}

func TestReflectionAndCrossChannelRefused(t *testing.T) {
	w := newWorld(t)
	a, b := trustedPair(t, w, Config{})
	c, _ := trustedPair(t, w, Config{})
	rec, _ := a.Seal(nil, []byte("x"), nil)
	if _, err := a.Open(nil, rec, nil); !errors.Is(err, ErrTampered) {
		t.Fatalf("reflected record: %v", err)
	}
	if _, err := c.Open(nil, rec, nil); !errors.Is(err, ErrTampered) {
		t.Fatalf("record from another channel: %v", err)
	}
	if _, err := b.Open(nil, rec, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRekey(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		name string
		cfg  Config
		size int
	}{
		{"by messages", Config{RekeyMessages: 7}, 10},
		{"by bytes", Config{RekeyBytes: 100}, 33},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := trustedPair(t, w, c.cfg)
			var old [][]byte
			for i := range 100 {
				msg := bytes.Repeat([]byte{byte(i)}, c.size)
				rec, err := a.Seal(nil, msg, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, err := b.Open(nil, rec, nil)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("message %d: %v", i, err)
				}
				old = append(old, rec)
			}
			sa, sb := a.Stats(), b.Stats()
			if sa.Rekeys < 10 || sa.Rekeys != sb.Rekeys {
				t.Fatalf("rekeys: sender %d receiver %d", sa.Rekeys, sb.Rekeys)
			}
			// Records from erased epochs are refused as replays.
			for _, rec := range old[:5] {
				if _, err := b.Open(nil, rec, nil); !errors.Is(err, ErrReplay) {
					t.Fatalf("old-epoch record: %v", err)
				}
			}
		})
	}
}

func TestLimitsAreClamped(t *testing.T) {
	c := Config{RekeyMessages: 1 << 40, RekeyBytes: 1 << 50}
	if m, b := c.limits(); m != DefaultRekeyMessages || b != DefaultRekeyBytes {
		t.Fatalf("limits not clamped: %d %d", m, b)
	}
}

func TestInPlaceSealOpenDoesNotAllocate(t *testing.T) {
	w := newWorld(t)
	a, b := trustedPair(t, w, Config{})
	payload := bytes.Repeat([]byte("p"), 1024)
	buf := make([]byte, 0, len(payload)+Overhead)
	aad := []byte("header")
	allocs := testing.AllocsPerRun(200, func() {
		buf = append(buf[:0], payload...)
		rec, err := a.Seal(buf[:0], buf, aad)
		if err != nil {
			t.Fatal(err)
		}
		if &rec[0] != &buf[0] {
			t.Fatal("in-place Seal moved the record")
		}
		pt, err := b.Open(rec[:0], rec, aad)
		if err != nil || !bytes.Equal(pt, payload) {
			t.Fatalf("in-place round trip: %v", err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per in-place seal+open", allocs)
	}
}

func TestOverlapIsAnErrorNotAPanic(t *testing.T) {
	w := newWorld(t)
	a, b := trustedPair(t, w, Config{})
	buf := make([]byte, 64, 128)
	if _, err := a.Seal(buf[:2], buf[:10], nil); !errors.Is(err, ErrOverlap) {
		t.Fatalf("Seal overlap: %v", err)
	}
	rec, _ := a.Seal(make([]byte, 0, 128), []byte("0123456789"), nil)
	if _, err := b.Open(rec[:2], rec, nil); !errors.Is(err, ErrOverlap) {
		t.Fatalf("Open overlap: %v", err)
	}
	if _, err := a.Seal(nil, make([]byte, MaxPlaintext+1), nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
}

func TestRefusalsAreLoggedAndCounted(t *testing.T) {
	w := newWorld(t)
	var logs testenv.SyncBuffer
	a, b := trustedPair(t, w, Config{Logger: newLogger(&logs), Name: "A->B"})
	r1, _ := a.Seal(nil, []byte("1"), nil)
	r2, _ := a.Seal(nil, []byte("2"), nil)
	r3, _ := a.Seal(nil, []byte("3"), nil)
	steps := []struct {
		rec  []byte
		want error
	}{
		{[]byte{1}, ErrMalformed},
		{r1, nil},
		{r1, ErrReplay},
		{flipped(r2, 1), ErrTampered},
		{r3, ErrGap},
		{r2, ErrBroken},
	}
	for i, s := range steps {
		_, err := b.Open(nil, s.rec, nil)
		if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Fatalf("step %d: err = %v, want %v", i, err, s.want)
		}
		if broken := errors.Is(err, ErrGap) || errors.Is(err, ErrBroken); b.Broken() != broken {
			t.Fatalf("step %d: Broken() = %v", i, b.Broken())
		}
	}
	st := b.Stats()
	want := Stats{Opened: 1, Malformed: 1, Replayed: 1, Tampered: 1, Gaps: 1, Broken: 1}
	st.Sealed, st.Rekeys = 0, 0
	if st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
	if n := strings.Count(logs.String(), "record refused"); n != 5 {
		t.Fatalf("%d refusals logged, want 5:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "A->B") {
		t.Fatal("log lines do not name the channel")
	}
}

func flipped(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0x20
	return b
}

func TestConcurrentDirections(t *testing.T) {
	w := newWorld(t)
	a, b := trustedPair(t, w, Config{RekeyMessages: 50})
	const n = 500
	ab, ba := make(chan []byte, n), make(chan []byte, n)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	send := func(c *Channel, out chan<- []byte) {
		defer wg.Done()
		for i := range n {
			rec, err := c.Seal(nil, fmt.Appendf(nil, "m%d", i), nil)
			if err != nil {
				errs <- err
				return
			}
			out <- rec
		}
		close(out)
	}
	recv := func(c *Channel, in <-chan []byte) {
		defer wg.Done()
		i := 0
		for rec := range in {
			got, err := c.Open(nil, rec, nil)
			if err != nil || string(got) != fmt.Sprintf("m%d", i) {
				errs <- fmt.Errorf("record %d: %q, %v", i, got, err)
				return
			}
			i++
		}
	}
	wg.Add(4)
	go send(a, ab)
	go send(b, ba)
	go recv(b, ab)
	go recv(a, ba)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func FuzzOpen(f *testing.F) {
	w := newWorld(f)
	a, b := trustedPair(f, w, Config{})
	genuine, _ := a.Seal(nil, []byte("genuine"), nil)
	f.Add(genuine)
	f.Add([]byte{Version, typeData, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, rec []byte) {
		if bytes.Equal(rec, genuine) {
			return
		}
		if pt, err := b.Open(nil, rec, nil); err == nil {
			t.Fatalf("forged record opened to %q", pt)
		}
	})
}
