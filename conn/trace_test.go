package conn

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// traceRecorder formats traced lines as memcached prints them, naming
// the connection by its id.
type traceRecorder struct {
	on    bool
	lines []string
}

func (t *traceRecorder) Tracing() bool { return t.on }

func (t *traceRecorder) Trace(id int, kind TraceKind, line []byte) {
	switch kind {
	case TraceIn:
		t.lines = append(t.lines, fmt.Sprintf("<%d %s", id, line))
	case TraceOut:
		t.lines = append(t.lines, fmt.Sprintf(">%d %s", id, line))
	case TraceNote:
		t.lines = append(t.lines, fmt.Sprintf("%d: %s", id, line))
	default:
		t.lines = append(t.lines, string(line))
	}
}

type traceStep struct{ name, req string }

// readTraceSteps reads testdata/vv_steps.txt: protocol, name and Go-quoted
// request, tab separated.
func readTraceSteps(t *testing.T) map[string][]traceStep {
	t.Helper()
	f, err := os.Open("testdata/vv_steps.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	steps := map[string][]traceStep{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			t.Fatalf("vv_steps.txt: bad line %q", line)
		}
		req, err := strconv.Unquote(f[2])
		if err != nil {
			t.Fatalf("vv_steps.txt: %s: %v", f[1], err)
		}
		steps[f[0]] = append(steps[f[0]], traceStep{f[1], req})
	}
	return steps
}

// readTraceGolden reads what memcached printed per step ("=== name"
// sections).
func readTraceGolden(t *testing.T, path string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := map[string][]string{}
	var name string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if n, ok := strings.CutPrefix(line, "=== "); ok {
			name = n
			golden[name] = []string{}
			continue
		}
		golden[name] = append(golden[name], line)
	}
	return golden
}

// TestTraceMatchesMemcached replays the requests of testdata/vv_steps.txt
// and compares the traced lines, step by step, with what memcached 1.6.18
// printed at -vv for the same requests (testdata/vv_*.golden, made by
// testdata/gen_vv.py).
func TestTraceMatchesMemcached(t *testing.T) {
	steps := readTraceSteps(t)
	for _, proto := range []string{"text", "binary"} {
		t.Run(proto, func(t *testing.T) {
			golden := readTraceGolden(t, "testdata/vv_"+proto+".golden")
			r := newRig(t, Settings{})
			tr := &traceRecorder{on: true}
			r.conn.SetTracer(tr, 24)
			if len(steps[proto]) == 0 {
				t.Fatal("no steps")
			}
			for _, s := range steps[proto] {
				want, ok := golden[s.name]
				if !ok {
					t.Fatalf("%s: not in the golden file", s.name)
				}
				tr.lines = tr.lines[:0]
				r.run(s.req, 0)
				if !slices.Equal(tr.lines, want) {
					t.Errorf("%s: traced\n%s\nmemcached -vv printed\n%s", s.name,
						strings.Join(tr.lines, "\n"), strings.Join(want, "\n"))
				}
			}
		})
	}
}

// TestTraceOff: a tracer that says no hears nothing, and one that stops
// wanting lines ("verbosity 1" at -vv) hears nothing after the command
// that turned it off, as memcached prints nothing after it.
func TestTraceOff(t *testing.T) {
	r := newRig(t, Settings{})
	tr := &traceRecorder{}
	r.conn.SetTracer(tr, 7)
	r.run("set a 0 0 1\r\nx\r\nget a\r\n", 0)
	if len(tr.lines) != 0 {
		t.Fatalf("traced while off: %q", tr.lines)
	}
	tr.on = true
	r.run("get a\r\n", 0)
	if len(tr.lines) != 3 {
		t.Fatalf("traced %q, want the get, its key and END", tr.lines)
	}
	tr.lines = nil
	r.conn.host = &verbosityHost{fakeHost: r.host, tr: tr}
	r.run("verbosity 1\r\nget a\r\n", 0)
	want := []string{"<7 verbosity 1"}
	if !slices.Equal(tr.lines, want) {
		t.Fatalf("traced %q, want %q", tr.lines, want)
	}
}

// verbosityHost turns the tracer off below -vv, as the cache agent does.
type verbosityHost struct {
	*fakeHost
	tr *traceRecorder
}

func (h *verbosityHost) SetVerbosity(level uint32) {
	h.fakeHost.SetVerbosity(level)
	h.tr.on = level >= 2
}
