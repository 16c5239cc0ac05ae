package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
)

// proxyBackends is the size of the pool behind the proxy: enough that a
// multi-get is split across backends and reassembled by the proxy.
const proxyBackends = 3

// proxyStep is one request through the proxy. req builds the bytes to send
// from the CAS values this pool has handed out so far (in first-seen order,
// from 1), so a cas command can use a real one without knowing it.
// replies is how many answers the request gets (0 means 1).
type proxyStep struct {
	name    string
	req     func(cas func(n int) uint64) string
	replies int
}

func text(name, req string) proxyStep {
	return proxyStep{name: name, req: func(func(int) uint64) string { return req }}
}

// proxySession covers every memcached command twemproxy forwards (storage,
// retrieval across backends, arithmetic, touch, delete, noreply, version)
// plus a value over -I, whose error the proxy must pass through.
func proxySession() []proxyStep {
	var multiSet, multiGet strings.Builder
	multiGet.WriteString("get")
	for i := range 40 {
		fmt.Fprintf(&multiSet, "set multi%d %d 0 %d\r\nvalue-%d\r\n", i, i, len(strconv.Itoa(i))+6, i)
		fmt.Fprintf(&multiGet, " multi%d", i)
	}
	multiGet.WriteString(" missing\r\n")
	big := strings.Repeat("b", 500<<10)
	tooBig := strings.Repeat("t", 1536<<10)
	return []proxyStep{
		text("set", "set k 42 0 2\r\nv1\r\n"),
		text("get", "get k\r\n"),
		text("gets", "gets k\r\n"),
		{name: "cas win", req: func(cas func(int) uint64) string { return fmt.Sprintf("cas k 7 0 2 %d\r\nv2\r\n", cas(1)) }},
		{name: "cas stale", req: func(cas func(int) uint64) string { return fmt.Sprintf("cas k 7 0 2 %d\r\nv3\r\n", cas(1)) }},
		text("cas missing", "cas nokey 0 0 1 99\r\nx\r\n"),
		text("gets after cas", "gets k\r\n"),
		text("add existing", "add k 0 0 1\r\nx\r\n"),
		text("add new", "add a 0 0 1\r\n2\r\n"),
		text("replace missing", "replace none 0 0 1\r\nx\r\n"),
		text("replace", "replace a 0 0 1\r\n5\r\n"),
		text("append", "append a 0 0 1\r\n0\r\n"),
		text("prepend", "prepend a 0 0 1\r\n1\r\n"),
		text("append missing", "append none 0 0 1\r\nx\r\n"),
		text("get appended", "get a\r\n"),
		text("incr", "incr a 5\r\n"),
		text("decr", "decr a 200\r\n"),
		text("decr below zero", "decr a 1000\r\n"),
		text("incr missing", "incr none 1\r\n"),
		text("incr non-numeric", "incr k 1\r\n"),
		text("touch", "touch k 100\r\n"),
		text("touch missing", "touch none 100\r\n"),
		text("delete", "delete a\r\n"),
		text("delete missing", "delete a\r\n"),
		text("noreply set then get", "set q 3 0 1 noreply\r\nq\r\nget q\r\n"),
		text("noreply delete then get", "delete q noreply\r\nget q\r\n"),
		{name: "multi set", req: func(func(int) uint64) string { return multiSet.String() }, replies: 40},
		text("multi get across backends", multiGet.String()),
		text("large value", "set big 0 0 "+strconv.Itoa(len(big))+"\r\n"+big+"\r\n"),
		text("get large value", "get big\r\n"),
		text("value over -I", "set toobig 0 0 "+strconv.Itoa(len(tooBig))+"\r\n"+tooBig+"\r\n"),
		text("get after refused value", "get toobig k\r\n"),
		text("version", "version\r\n"),
	}
}

// TestTwemproxy puts twemproxy (Debian's nutcracker) with ketama
// distribution in front of a pool of memcached and a pool of securecached
// (trusted and untrusted), runs the same session through each proxy and
// requires the same answers, then checks that keys spread over every
// backend and land on the same-numbered backend in both pools.
func TestTwemproxy(t *testing.T) {
	want, wantPlacement := proxyRun(t, func(t *testing.T) *testenv.Server { return testenv.StartMemcached(t) })
	eachTrust(t, func(t *testing.T, trust []string) {
		got, gotPlacement := proxyRun(t, func(t *testing.T) *testenv.Server { return testenv.StartSecurecached(t, trust...) })
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("step %q through the proxy:\n memcached pool:    %s\n securecached pool: %s",
					proxySession()[i].name, clip(want[i]), clip(got[i]))
			}
		}
		for i := range wantPlacement {
			if !slices.Equal(gotPlacement[i], wantPlacement[i]) {
				t.Errorf("backend s%d holds %d keys, memcached's s%d holds %d: ketama placement differs",
					i, len(gotPlacement[i]), i, len(wantPlacement[i]))
			}
		}
	})
}

// proxyRun starts a pool of proxyBackends servers behind nutcracker, runs
// proxySession through the proxy and returns the normalised answers, then
// writes 300 keys through the proxy and returns which of them each backend
// holds, read from the backends directly.
func proxyRun(t *testing.T, start func(t *testing.T) *testenv.Server) (answers []string, placement [][]string) {
	t.Helper()
	var backends []*testenv.Server
	var addrs []string
	for range proxyBackends {
		s := start(t)
		backends = append(backends, s)
		addrs = append(addrs, s.Addr)
	}
	proxy := testenv.StartNutcracker(t, addrs)

	c, r := dialLines(t, proxy.Addr)
	var cas casMap
	casOf := func(n int) uint64 {
		v, err := cas.value(n)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, st := range proxySession() {
		if _, err := io.WriteString(c, st.req(casOf)); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		var a strings.Builder
		for range max(st.replies, 1) {
			a.WriteString(readAnswer(t, r, st.name, &cas))
		}
		answers = append(answers, a.String())
	}

	const keys = 300
	var sets strings.Builder
	for i := range keys {
		fmt.Fprintf(&sets, "set spread%d 0 0 1\r\nx\r\n", i)
	}
	// Pipelined, but each STORED is read: a noreply set would race the
	// direct reads below, since the proxy sends each key to its own backend.
	if _, err := io.WriteString(c, sets.String()); err != nil {
		t.Fatal(err)
	}
	for i := range keys {
		if a := readAnswer(t, r, "spread set", &cas); a != "STORED\r\n" {
			t.Fatalf("set spread%d through the proxy: %q", i, a)
		}
	}

	total := 0
	for i, b := range backends {
		bc, br := dialLines(t, b.Addr)
		var get strings.Builder
		get.WriteString("get")
		for k := range keys {
			fmt.Fprintf(&get, " spread%d", k)
		}
		get.WriteString("\r\n")
		if _, err := io.WriteString(bc, get.String()); err != nil {
			t.Fatal(err)
		}
		held := valueKeys(readAnswer(t, br, "backend get", &cas))
		if len(held) == 0 {
			t.Errorf("backend s%d (%s) got none of %d keys: the proxy did not spread them", i, b.Addr, keys)
		}
		total += len(held)
		placement = append(placement, held)
	}
	if total != keys {
		t.Errorf("the backends hold %d keys in all, want %d (each key exactly once)", total, keys)
	}
	return answers, placement
}

func dialLines(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReaderSize(c, 1<<20)
}

// readAnswer reads one answer: VALUE blocks up to their END, or a single
// line. CAS values are replaced by their first-seen order and the version
// string by a placeholder, so two servers' answers compare equal.
func readAnswer(t *testing.T, r *bufio.Reader, what string, cas *casMap) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: reading the answer: %v (so far %q)", what, err, clip(b.String()))
		}
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "VALUE" {
			n, err := strconv.Atoi(f[3])
			if err != nil {
				t.Fatalf("%s: bad VALUE line %q", what, line)
			}
			if len(f) == 5 {
				v, _ := strconv.ParseUint(f[4], 10, 64)
				f[4] = cas.name(v)
			}
			data := make([]byte, n+2)
			if _, err := io.ReadFull(r, data); err != nil {
				t.Fatalf("%s: value of %d bytes: %v", what, n, err)
			}
			fmt.Fprintf(&b, "%s [%d bytes, sum %d]\n", strings.Join(f, " "), n, byteSum(data[:n]))
			continue
		}
		if len(f) == 2 && f[0] == "VERSION" {
			line = "VERSION <v>\r\n"
		}
		b.WriteString(line)
		return b.String()
	}
}

func byteSum(p []byte) (s uint64) {
	for i, c := range p {
		s += uint64(i+1) * uint64(c)
	}
	return s
}

// valueKeys lists the keys of the VALUE lines of an answer, sorted.
func valueKeys(answer string) []string {
	var keys []string
	for _, line := range strings.Split(answer, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VALUE" {
			keys = append(keys, f[1])
		}
	}
	slices.Sort(keys)
	return keys
}
