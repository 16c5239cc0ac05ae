package main

import (
	"bufio"
	"bytes"
	"context"
	"image/png"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi/linkbench"
	"github.com/securecached/securecached/internal/testenv"
	"go.uber.org/goleak"
)

// The test binary doubles as fig5.2's instances and as fig5.3's and
// fig5.5's cache instance and client machines (see main).
func TestMain(m *testing.M) {
	linkbench.ChildMain()
	cacheChildMain()
	clientHostMain()
	goleak.VerifyTestMain(m)
}

func TestParseTargets(t *testing.T) {
	got, useTLS, err := parseTargets("tcp://127.0.0.1:11211,tcp://[::1]:11212?weight=3&trusted=1")
	if err != nil || useTLS {
		t.Fatal(err, useTLS)
	}
	if len(got) != 2 || got[0].Addr != "127.0.0.1:11211" || got[0].Weight != 1 ||
		got[1].Addr != "[::1]:11212" || got[1].Weight != 3 || !got[1].Trusted {
		t.Errorf("parseTargets = %+v", got)
	}
	if got, useTLS, err := parseTargets("tls://127.0.0.1:11211,tls://localhost:11212"); err != nil || !useTLS || len(got) != 2 {
		t.Errorf("tls:// targets: %+v, %v, %v", got, useTLS, err)
	}
	for _, bad := range []string{"", "udp://h:1", "tcp://h", "tcp://:1", "tcp://h:1?weight=0", "diggi://agent", "tcp://h:1,tls://h:2"} {
		if _, _, err := parseTargets(bad); err == nil {
			t.Errorf("parseTargets(%q) accepted", bad)
		}
	}
}

func TestParseClients(t *testing.T) {
	if got, err := parseClients("1, 2,4"); err != nil || len(got) != 3 || got[2] != 4 {
		t.Errorf("parseClients = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "x", "1,,2", "5000"} {
		if _, err := parseClients(bad); err == nil {
			t.Errorf("parseClients(%q) accepted", bad)
		}
	}
}

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	writeProgress(&b, "run", 50, 100, 2*time.Second)
	if s := b.String(); !strings.Contains(s, "50/100 ops (50%)") || !strings.Contains(s, "25 ops/s") || !strings.Contains(s, "ETA 2s") {
		t.Errorf("progress line %q", s)
	}
}

func workloadPath(t *testing.T) string {
	p, err := filepath.Abs("../../workloads/workloadb")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestYCSBEndToEnd loads and runs a tiny YCSB-B against Debian's memcached
// and checks YCSB's report lines come out with the right counts.
func TestYCSBEndToEnd(t *testing.T) {
	srv := testenv.StartMemcached(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	common := []string{"-P", workloadPath(t), "-p", "recordcount=200", "-p", "operationcount=400",
		"--target", "tcp://" + srv.Addr, "--threads", "2", "--no-progress"}
	checkReport(t, scbench(t, ctx, append([]string{"ycsb", "load"}, common...)...), "[INSERT], Return=OK, 200\n")
	checkReport(t, scbench(t, ctx, append([]string{"ycsb", "run"}, common...)...),
		"[OVERALL], RunTime(ms), ", "[OVERALL], Throughput(ops/sec), ", "[READ], AverageLatency(us), ", "[UPDATE], Operations, ")
	var out, errb bytes.Buffer
	for _, proto := range []string{"text", "meta"} {
		out.Reset()
		if err := run(ctx, append([]string{"ycsb", "run", "--protocol", proto, "--format", "csv"}, common...), &out, &errb); err != nil {
			t.Fatalf("run over %s: %v", proto, err)
		}
		if !strings.Contains(out.String(), "READ,Return=OK,") || strings.Contains(out.String(), "Return=ERROR") {
			t.Errorf("%s run:\n%s", proto, out.String())
		}
	}
	out.Reset()
	if err := run(ctx, append([]string{"ycsb", "run", "--format", "json"}, common...), &out, &errb); err != nil {
		t.Fatalf("run json: %v", err)
	}
	if !strings.Contains(out.String(), `"operations": 400`) {
		t.Errorf("json report:\n%s", out.String())
	}
}

// TestYCSBPipelinedSharesConnections: with --pipeline K against TCP
// servers, K client goroutines share one connection and pipeline on it:
// 8 goroutines with K = 4 open 2 connections (and the preflight's one),
// and every operation succeeds.
func TestYCSBPipelinedSharesConnections(t *testing.T) {
	srv := testenv.StartMemcached(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	common := []string{"-P", workloadPath(t), "-p", "recordcount=200", "-p", "operationcount=2000",
		"--target", "tcp://" + srv.Addr, "--threads", "8", "--pipeline", "4", "--no-progress"}
	before := totalConnections(t, srv.Addr)
	checkReport(t, scbench(t, ctx, append([]string{"ycsb", "load"}, common...)...), "[INSERT], Return=OK, 200\n")
	checkReport(t, scbench(t, ctx, append([]string{"ycsb", "run"}, common...)...), "[OVERALL], Throughput(ops/sec), ")
	// Two phases, each a preflight connection and 8/4 shared ones, and
	// the stats connection that reads the count. An operation that times
	// out on a loaded machine closes its connection and the next one
	// dials again, so allow two redials; one connection per thread would
	// be 2*(1+8).
	if got := totalConnections(t, srv.Addr) - before - 1; got < 2*(1+2) || got > 2*(1+2)+2 {
		t.Errorf("the two phases opened %d connections, want %d (%d with no sharing)", got, 2*(1+2), 2*(1+8))
	}
	var out, errb bytes.Buffer
	if err := run(ctx, append([]string{"ycsb", "run", "--window", "4"}, common...), &out, &errb); err == nil {
		t.Error("--window against tcp:// targets was accepted")
	}
}

// totalConnections reads memcached's total_connections stat.
func totalConnections(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("stats\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "END\r\n" {
			t.Fatal("no total_connections stat")
		}
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "STAT total_connections "); ok {
			v, err := strconv.Atoi(n)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
}

// TestSweepPNG sweeps two client counts against a memcached it starts and
// checks the chart is a decodable PNG of the expected size.
func TestSweepPNG(t *testing.T) {
	mc := testenv.Require(t, "memcached")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	pngPath, csvPath := filepath.Join(dir, "sweep.png"), filepath.Join(dir, "sweep.csv")
	args := []string{"sweep", "--clients", "1,2", "--memcached", mc, "-P", workloadPath(t),
		"-p", "recordcount=100", "--ops-per-client", "200", "--png", pngPath, "--csv", csvPath, "--no-progress"}
	if os.Geteuid() == 0 {
		args = append(args, "--memcached-arg=-u", "--memcached-arg=root")
	}
	var out, errb bytes.Buffer
	if err := run(ctx, args, &out, &errb); err != nil {
		t.Fatalf("sweep: %v\n%s", err, errb.String())
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 400 {
		t.Errorf("chart is %v", b)
	}
	csvData, err := os.ReadFile(csvPath)
	if err != nil || strings.Count(string(csvData), "\nmemcached,") != 2 {
		t.Errorf("csv:\n%s (%v)", csvData, err)
	}
}

// TestCompareTwoServers runs compare with Debian's memcached on both sides
// (standing in for securecached) and checks the side-by-side table.
func TestCompareTwoServers(t *testing.T) {
	mc := testenv.Require(t, "memcached")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"compare", "--memcached", mc, "--securecached", mc, "-P", workloadPath(t),
		"-p", "recordcount=100", "-p", "operationcount=300", "--no-progress",
		"--securecached-arg=-U", "--securecached-arg=0"}
	if os.Geteuid() == 0 {
		args = append(args, "--memcached-arg=-u", "--memcached-arg=root", "--securecached-arg=-u", "--securecached-arg=root")
	}
	var out, errb bytes.Buffer
	if err := run(ctx, args, &out, &errb); err != nil {
		t.Fatalf("compare: %v\n%s", err, errb.String())
	}
	table := out.String()
	for _, want := range []string{"securecached/memcached", "run throughput (ops/s)", "READ p99 (us)"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	// Both sides ran the same seeded workload: identical operation counts.
	for _, line := range strings.Split(table, "\n") {
		if strings.Contains(line, "READ operations") && !strings.HasSuffix(strings.TrimSpace(line), "1.00") {
			t.Errorf("operation counts differ: %q", line)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{nil, {"nope"}, {"ycsb"}, {"ycsb", "delete"}, {"ycsb", "run", "--target", "udp://x:1"}, {"compare"}, {"sweep"}} {
		var out, errb bytes.Buffer
		if err := run(ctx, args, &out, &errb); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

// scbench runs the command with args and returns what it printed on
// stdout, failing the test if it returns an error.
func scbench(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(ctx, args, &out, &errb); err != nil {
		t.Fatalf("scbench %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// checkReport fails t for each wanted line missing from a YCSB report and
// for any operation that failed.
func checkReport(t *testing.T, report string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "Return=ERROR") || strings.Contains(report, "Return=NOT_FOUND") {
		t.Errorf("report has failures:\n%s", report)
	}
}
