package main

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestYCSBInproc runs load and run with client agents in this process,
// trusted and untrusted, and checks YCSB's report.
func TestYCSBInproc(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	common := []string{"-P", workloadPath(t), "-p", "recordcount=200", "-p", "operationcount=600",
		"--target", "inproc", "--threads", "3", "--no-progress", "--cache-args", "-m 16"}
	for _, trusted := range []string{"true", "false"} {
		t.Run("trusted="+trusted, func(t *testing.T) {
			checkReport(t, scbench(t, ctx, append([]string{"ycsb", "load", "--trusted", trusted}, common...)...),
				"[INSERT], Return=OK, 200\n", "[OVERALL], Clients, 3\n")
			checkReport(t, scbench(t, ctx, append([]string{"ycsb", "run", "--trusted", trusted, "--preload", "--pipeline", "2"}, common...)...),
				"# preload (client 0)\n", "[INSERT], Return=OK, 200\n", "[OVERALL], Clients, 6\n", "[READ], AverageLatency(us), ")
			// The pipelined model: one event-driven client per agent.
			checkReport(t, scbench(t, ctx, append([]string{"ycsb", "run", "--trusted", trusted, "--preload", "--window", "8"}, common...)...),
				"# preload (client 0)\n", "[INSERT], Return=OK, 200\n", "[OVERALL], Clients, 3\n", "[READ], Return=OK, ",
				"# inproc: 3 client agents, "+map[string]string{"true": "trusted", "false": "untrusted"}[trusted]+", pipelined model: one event-driven client per agent, window 8\n")
		})
	}
}

// TestSweepInproc sweeps trusted and untrusted agents onto one chart.
func TestSweepInproc(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	pngPath, csvPath := filepath.Join(dir, "sweep.png"), filepath.Join(dir, "sweep.csv")
	args := []string{"sweep", "--target", "inproc", "--clients", "1,2", "-P", workloadPath(t),
		"-p", "recordcount=100", "--ops-per-client", "200", "--png", pngPath, "--csv", csvPath, "--no-progress"}
	var out, errb bytes.Buffer
	if err := run(ctx, args, &out, &errb); err != nil {
		t.Fatalf("sweep: %v\n%s", err, errb.String())
	}
	csvData, err := os.ReadFile(csvPath)
	if err != nil || strings.Count(string(csvData), "\ntrusted,") != 2 || strings.Count(string(csvData), "\nuntrusted,") != 2 {
		t.Errorf("csv:\n%s (%v)", csvData, err)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatal(err)
	}
}

func TestInprocUsageErrors(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"ycsb", "run", "--target", "inproc", "--trusted", "both"},
		{"ycsb", "run", "--target", "inproc", "--trusted", "maybe"},
		{"ycsb", "run", "--target", "inproc", "--pipeline", "0"},
		{"ycsb", "run", "--target", "inproc", "--window", "-1"},
		{"ycsb", "run", "--target", "inproc", "--window", "4", "--pipeline", "2"},
		{"ycsb", "run", "--target", "inproc", "--window", "4", "--protocol", "text"},
		{"ycsb", "run", "--target", "inproc", "--distribution", "modulo"},
	} {
		var out, errb bytes.Buffer
		if err := run(ctx, args, &out, &errb); !errors.Is(err, errUsage) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}
