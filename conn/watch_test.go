package conn

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/protocol"
)

// twoConns is a watcher and a client on one cache and one Shared.
func twoConns(t *testing.T, set Settings, mut func(*memcache.Config)) (watcher, client *rig) {
	t.Helper()
	w := newRig(t, set)
	if mut != nil {
		w.cache = newCache(t, mut)
		w.conn = New(w.cache, w.host, w.shared, set)
	}
	w.cache.SetEvictionHook(w.shared.WatchEviction)
	w.cache.SetFetchHook(w.shared.WatchFetch)
	cl := &rig{cache: w.cache, host: w.host, shared: w.shared}
	cl.conn = New(w.cache, w.host, w.shared, set)
	w.conn.SetWaker(1, func() {})
	cl.conn.SetWaker(2, func() {})
	return w, cl
}

var watchPrefix = regexp.MustCompile(`(?m)^ts=\d+\.\d+ gid=\d+ `)

func TestWatchStreams(t *testing.T) {
	w, cl := twoConns(t, Settings{}, nil)
	if got := w.run("watch fetchers mutations deletions connevents\r\n", 0); got != "OK\r\n" {
		t.Fatalf("watch: %q", got)
	}
	cl.conn.Opened("127.0.0.1", 40000, "tcp")
	cl.run("set k 0 0 2\r\nhi\r\nget k x\r\ndelete k\r\ndelete k\r\n", 0)
	cl.conn.Close()
	got := watchPrefix.ReplaceAllString(w.run("ignored input\r\n", 0), "")
	// As memcached's, the fetch lines include the lookups the set and the
	// deletes make.
	want := "type=conn_new rip=127.0.0.1 rport=40000 transport=tcp cfd=2\n" +
		"type=item_get key=k status=not_found clsid=0 cfd=2 size=0\n" +
		"type=item_store key=k status=stored cmd=set ttl=0 clsid=1 cfd=2 size=2\n" +
		"type=item_get key=k status=found clsid=1 cfd=2 size=2\n" +
		"type=item_get key=x status=not_found clsid=0 cfd=2 size=0\n" +
		"type=item_get key=k status=found clsid=1 cfd=2 size=2\n" +
		"type=deleted key=k cmd=delete clsid=1 size=2\n" +
		"type=item_get key=k status=not_found clsid=0 cfd=2 size=0\n" +
		"type=conn_close rip=127.0.0.1 rport=40000 transport=tcp reason=normal cfd=2\n"
	if got != want {
		t.Errorf("watcher got\n%s\nwant\n%s", got, want)
	}
	// Closing the watcher removes it: nothing is produced for nobody.
	w.conn.Close()
	cl2 := New(cl.cache, cl.host, cl.shared, Settings{})
	cl2.Feed([]byte("get k\r\n"))
	if cl.shared.watch.flags != 0 || len(cl.shared.watch.watchers) != 0 {
		t.Errorf("watcher still registered: %+v", cl.shared.watch)
	}
}

func TestWatchEvictionsAndSkipped(t *testing.T) {
	w, cl := twoConns(t, Settings{}, func(cfg *memcache.Config) { cfg.MaxBytes = 2 << 20; cfg.ItemSizeMax = 1 << 20 })
	w.run("watch evictions\r\n", 0)
	val := strings.Repeat("v", 100000)
	var in strings.Builder
	for i := range 200 {
		in.WriteString("set key" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + " 0 0 100000 noreply\r\n" + val + "\r\n")
	}
	cl.run(in.String(), 0)
	// The watcher has not read anything: once its buffer is full, lines
	// are dropped and counted, as memcached's watcher_logbuf_size does.
	out := string(w.conn.Output())
	if !strings.Contains(out, " type=eviction key=key") || !strings.Contains(out, " fetch=no ttl=-1 la=0 clsid=") {
		t.Fatalf("no eviction lines: %.300q", out)
	}
	if len(out) > watcherBufferSize {
		t.Errorf("watcher holds %d bytes, over its %d", len(out), watcherBufferSize)
	}
}

func TestWatchBufferLimit(t *testing.T) {
	w, cl := twoConns(t, Settings{}, nil)
	w.run("watch fetchers\r\n", 0)
	get := "get " + strings.Repeat("k", 200) + "\r\n"
	cl.run(strings.Repeat(get, 3000), 0) // ~3000 lines of ~290 bytes, over 256 KB
	n := len(w.conn.Output())
	if n > watcherBufferSize {
		t.Fatalf("watcher holds %d bytes", n)
	}
	w.conn.Sent(n) // the watcher's client read everything
	cl.run(get, 0)
	if out := string(w.conn.Output()); !strings.HasPrefix(out, "skipped=") {
		t.Errorf("after drops, the next line does not say how many: %.80q", out)
	}
}

func TestWatchAndMetaDumpTrustRule(t *testing.T) {
	trusted := Settings{Trusted: true}
	r := newRig(t, trusted)
	if got := r.run("watch\r\nlru_crawler metadump all\r\n", 0); got != replyWatchPlaintext+"\r\n"+replyMetaDumpPlaintext+"\r\n" {
		t.Errorf("plaintext to a trusted agent: %q", got)
	}
	r = newRig(t, trusted)
	r.conn.SetTLS(true)
	r.cache.Store(memcache.ModeSet, []byte("a"), 0, 0, []byte("x"), memcache.StoreOptions{})
	if got := r.run("lru_crawler metadump all\r\n", 0); !strings.HasPrefix(got, "key=a exp=-1 la=") || !strings.HasSuffix(got, "END\r\n") {
		t.Errorf("metadump over TLS to a trusted agent: %q", got)
	}
	if got := r.run("watch\r\n", 0); got != "OK\r\n" {
		t.Errorf("watch over TLS to a trusted agent: %q", got)
	}
	if got := newRig(t, Settings{WatchDisabled: true, Trusted: true}).run("watch\r\n", 0); got != replyWatchOff+"\r\n" {
		t.Errorf("-W: %q", got)
	}
	if got := newRig(t, Settings{DumpDisabled: true}).run("lru_crawler metadump all\r\n", 0); got != "ERROR metadump not allowed\r\n" {
		t.Errorf("-X: %q", got)
	}
}

// TestMetaDumpIsBounded: a dump of many items leaves the connection a
// share at a time, like a large multi-get, and ends with END.
func TestMetaDumpIsBounded(t *testing.T) {
	r := newRig(t, Settings{})
	for i := range 20000 {
		r.cache.Store(memcache.ModeSet, fmt.Appendf(nil, "%0100d", i), 0, 0, []byte("v"), memcache.StoreOptions{})
	}
	more := r.conn.Feed([]byte("lru_crawler metadump all\r\n"))
	total, lines, rounds := 0, 0, 0
	for {
		o := r.conn.Output()
		if len(o) > maxPendingOutput+4096 {
			t.Fatalf("one share holds %d bytes", len(o))
		}
		total += len(o)
		lines += strings.Count(string(o), "\n")
		r.conn.Sent(len(o))
		if !more {
			break
		}
		rounds++
		more = r.conn.Process()
	}
	if lines != 20001 || rounds < 2 {
		t.Errorf("%d lines in %d rounds (%d bytes); want 20000 items and END over several rounds", lines, rounds, total)
	}
}

// TestWatchBinary: binary gets, sets and deletes give the same lines as
// their text counterparts.
func TestWatchBinary(t *testing.T) {
	w, cl := twoConns(t, Settings{}, nil)
	w.run("watch fetchers mutations deletions\r\n", 0)
	cl.run(breq(protocol.OpSet, "k", setExt(0, 0), "hi")+breq(protocol.OpGet, "k", "", "")+
		breq(protocol.OpGet, "x", "", "")+breq(protocol.OpDelete, "k", "", ""), 0)
	got := watchPrefix.ReplaceAllString(string(w.conn.Output()), "")
	want := "type=item_get key=k status=not_found clsid=0 cfd=2 size=0\n" +
		"type=item_store key=k status=stored cmd=set ttl=0 clsid=1 cfd=2 size=2\n" +
		"type=item_get key=k status=found clsid=1 cfd=2 size=2\n" +
		"type=item_get key=x status=not_found clsid=0 cfd=2 size=0\n" +
		"type=item_get key=k status=found clsid=1 cfd=2 size=2\n" +
		"type=deleted key=k cmd=delete clsid=1 size=2\n"
	if got != want {
		t.Errorf("watcher got\n%s\nwant\n%s", got, want)
	}
}

// TestWatcherBufferStaysBounded: a watcher whose client takes all but the
// last byte each time never empties its buffer; the lines it was sent
// must not pile up.
func TestWatcherBufferStaysBounded(t *testing.T) {
	w, cl := twoConns(t, Settings{}, nil)
	w.run("watch fetchers\r\n", 0)
	get := "get " + strings.Repeat("k", 200) + "\r\n"
	for range 20000 {
		cl.run(get, 0)
		w.conn.Sent(len(w.conn.Output()) - 1)
	}
	if c := cap(w.conn.out); c > 2*watcherBufferSize {
		t.Errorf("watcher's buffer grew to %d bytes", c)
	}
}

// TestWatcherWriteKeepsStreamedValue: a watcher never streams a value
// (watch starts only with nothing pending), but watchWrite must not rest
// on that: with a value streamed from its item behind half-sent output,
// it neither compacts the buffer under the stream nor miscounts what is
// pending, and the bytes go out in order.
func TestWatcherWriteKeepsStreamedValue(t *testing.T) {
	w, cl := twoConns(t, Settings{}, nil)
	w.run("watch fetchers\r\n", 0)
	big := strings.Repeat("B", sendFromItemMin)
	cl.setValue(t, "big", big)
	v, ok := w.cache.Get([]byte("big"))
	if !ok {
		t.Fatal("big missing")
	}
	p, ok := w.cache.Pin(v)
	if !ok {
		t.Fatal("pin refused")
	}
	w.conn.out = append(w.conn.out[:0], "line1\nline2\n"...)
	w.conn.sent, w.conn.flushed = 6, len(w.conn.out)
	w.conn.st = stream{pin: p, at: len(w.conn.out)}
	before := w.conn.pending()
	w.conn.watchWrite([]byte("x\n"))
	if w.conn.pending() != before+2 || w.conn.st.at != 12 {
		t.Fatalf("pending %d -> %d, stream at %d", before, w.conn.pending(), w.conn.st.at)
	}
	var got []byte
	for o := w.conn.Output(); len(o) > 0; o = w.conn.Output() {
		got = append(got, o...)
		w.conn.Sent(len(o))
	}
	if want := "line2\n" + big + "x\n"; string(got) != want {
		t.Fatalf("watcher sent %d bytes, want %d in order", len(got), len(want))
	}
	w.conn.Close()
	if n := w.cache.PinsHeld(); n != 0 {
		t.Fatalf("%d pins held", n)
	}
}
