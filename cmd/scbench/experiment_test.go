package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
)

// TestExperimentsShort runs every experiment in its short form, as CI
// does, and checks the files each one must write: a CSV with its rows, a
// readable PNG and its entry in summary.json with real numbers.
func TestExperimentsShort(t *testing.T) {
	bin := testenv.SecurecachedBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"experiment", "all", "--short", "--out", dir, "--securecached", bin, "--no-progress", "--seed", "7"}, &out, &errb); err != nil {
		t.Fatalf("experiment all: %v\n%s\n%s", err, out.String(), errb.String())
	}
	var summary map[string]map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &summary); err != nil {
		t.Fatalf("summary.json: %v\n%s", err, b)
	}
	for _, x := range experimentList {
		rows := readCSV(t, filepath.Join(dir, x.name+".csv"))
		if len(rows) < 3 {
			t.Errorf("%s.csv has %d rows", x.name, len(rows))
		}
		checkPNG(t, filepath.Join(dir, x.name+".png"))
		if summary[x.name] == nil {
			t.Errorf("summary.json has no %s", x.name)
		}
	}

	// Every measured throughput is a positive number, and no run failed
	// where nothing was killed.
	fig := summary["fig5.1"]
	for _, k := range []string{"trusted_YCSB_model_max_ops_s", "trusted_pipelined_window_16_max_ops_s"} {
		if v, _ := fig[k].(float64); v <= 0 {
			t.Errorf("fig5.1 %s = %v", k, fig[k])
		}
	}
	for _, k := range []string{"trusted_YCSB_model_errors", "trusted_pipelined_window_16_errors"} {
		if v, _ := fig[k].(float64); v != 0 {
			t.Errorf("fig5.1 %s = %v", k, fig[k])
		}
	}
	fig = summary["fig5.3"]
	pipe53 := fmt.Sprintf("trusted_pipelined_window_%d", remoteWindow)
	for _, k := range []string{"trusted_YCSB_model_max_ops_s", pipe53 + "_max_ops_s",
		"trusted_YCSB_model_cpu_us_per_op", pipe53 + "_cpu_us_per_op", pipe53 + "_switches_per_op", pipe53 + "_cpu_bound_ops_s"} {
		if v, _ := fig[k].(float64); v <= 0 {
			t.Errorf("fig5.3 %s = %v", k, fig[k])
		}
	}
	for _, k := range []string{"trusted_YCSB_model_errors", pipe53 + "_errors"} {
		if v, ok := fig[k].(float64); !ok || v != 0 {
			t.Errorf("fig5.3 %s = %v", k, fig[k])
		}
	}
	// Figs. 5.5/5.6: a second figure, real throughput in both models, no
	// errors, and the emulated wire's round trips measured.
	checkPNG(t, filepath.Join(dir, "fig5.6.png"))
	fig = summary["fig5.5"]
	pipe55 := fmt.Sprintf("pipelined_w%d", remoteWindow)
	for _, k := range []string{"ycsb_ops_s", pipe55 + "_ops_s", "ycsb_bound_ops_s", "m1_wire_rtt_p50_ms", "m4_wire_rtt_p50_ms",
		"ycsb_cpu_us_per_op", "ycsb_switches_per_op", pipe55 + "_cpu_us_per_op",
		"ycsb_cache_cpu_us_per_op", "ycsb_wire_cpu_us_per_op", "ycsb_hosts_cpu_us_per_op", "ycsb_wire_packets_per_op", "ycsb_wire_sleeps_per_op",
		"ycsb_cpu_bound_ops_s", pipe55 + "_cpu_bound_ops_s", "ycsb_cpu_us_per_op_for_80pct_of_bound"} {
		if v, _ := fig[k].(float64); v <= 0 {
			t.Errorf("fig5.5 %s = %v", k, fig[k])
		}
	}
	if v := fig["ycsb_limited_by"]; v != "cpu" && v != "latency" {
		t.Errorf("fig5.5 ycsb_limited_by = %v", v)
	}
	if v, ok := fig["errors"].(float64); !ok || v != 0 {
		t.Errorf("fig5.5 errors = %v", fig["errors"])
	}
	multi := summary["multi"]
	for _, k := range []string{"instances_1_ops_s", "instances_2_ops_s", "rehash_ops_s_after", "no_rehash_ops_s_before",
		"instances_1_loadgen_cores", "instances_1_server_cores", "instances_2_server_cores",
		"pipelined_instances_1_ops_s", "pipelined_instances_2_ops_s", "speedup_2_vs_1", "pipelined_speedup_2_vs_1"} {
		if v, _ := multi[k].(float64); v <= 0 {
			t.Errorf("multi %s = %v", k, multi[k])
		}
	}
	// Each instance runs in a CPU budget of its own (a cgroup), or the
	// summary says why not. A kernel or container without a cgroup cpu
	// controller cannot be given one by installing anything, so only
	// where the controller exists must CI (as root) have budgets.
	if v, _ := multi["cpu_budget_cores_per_instance"].(float64); v <= 0 {
		if _, _, cgErr := cgroupRoot(); os.Getenv(testenv.RequireToolsEnv) == "1" && cgErr == nil {
			t.Errorf("multi ran without CPU budgets: %v", multi["cpu_budget"])
		} else {
			t.Logf("multi ran without CPU budgets: %v", multi["cpu_budget"])
		}
	} else if v, _ := multi["instances_1_throttled"].(float64); v <= 0 {
		t.Errorf("a budgeted instance was never throttled: %v", multi)
	}
	// Without rehash the killed instance's keys fail; with rehash they
	// move, so once the client has noticed, gets of them miss instead.
	if v, _ := multi["no_rehash_errors_after_kill"].(float64); v <= 0 {
		t.Errorf("no errors after killing an instance without rehash: %v", multi)
	}
	if v, _ := multi["rehash_misses_after_kill"].(float64); v <= 0 {
		t.Errorf("no misses after rehashing a killed instance's keys: %v", multi)
	}
	for _, k := range []string{"rehash_stop_sending_ms", "no_rehash_stop_sending_ms"} {
		if v, ok := multi[k].(float64); !ok || v < 0 || v > 2000 {
			t.Errorf("multi %s = %v: the client did not stop sending to the killed instance within 2 s", k, multi[k])
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 400 {
		t.Errorf("%s is %v", path, b.Size())
	}
}

// TestExperimentCacheEnvIsChecked: --cache-env takes KEY=VALUE only.
func TestExperimentCacheEnvIsChecked(t *testing.T) {
	for _, bad := range []string{"GOMAXPROCS", "=1"} {
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"experiment", "fig5.3", "--out", t.TempDir(), "--cache-env", bad}, &out, &errb)
		if !errors.Is(err, errUsage) {
			t.Errorf("--cache-env %q: %v, want a usage error", bad, err)
		}
	}
}

// TestFig55CPUBound: the CPU bound is the cores' time over the CPU per
// operation of the whole point, and only the total row has one.
func TestFig55CPUBound(t *testing.T) {
	r := fig55Row{machine: "all", reply: hostReply{Ops: 1000}, cost: cost{CPU: 100 * time.Millisecond}} // 100 us per op
	if got, want := r.cpuBound(), float64(runtime.NumCPU())*1e4; got != want {
		t.Errorf("cpuBound = %v, want %v", got, want)
	}
	r.machine = "m1"
	if got := r.cpuBound(); got != 0 {
		t.Errorf("a machine's row has a CPU bound: %v", got)
	}
	var buf bytes.Buffer
	if err := writeFig55CSV(&buf, []fig55Row{{machine: "all", model: "ycsb", clients: 12, reply: hostReply{Ops: 1000}, cost: cost{CPU: 100 * time.Millisecond}}}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "cpu_bound_ops_sec")
	if col < 0 || rows[1][col] != strconv.FormatFloat(float64(runtime.NumCPU())*1e4, 'f', 1, 64) {
		t.Errorf("CSV: %v", rows)
	}
}
