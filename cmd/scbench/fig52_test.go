package main

import (
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/securecached/securecached/internal/netns"
	"github.com/securecached/securecached/internal/testenv"
)

// TestExperimentFig52 runs fig5.2's short form (two payload sizes) and checks
// the files it writes: the CSV's columns and one row per payload and
// sender count with positive rates, and a PNG.
func TestExperimentFig52(t *testing.T) {
	testenv.Require(t, "ip")
	testenv.Require(t, "iperf3")
	if err := netns.Available(); err != nil {
		if os.Getenv(testenv.RequireToolsEnv) == "1" {
			t.Fatalf("%v and %s=1", err, testenv.RequireToolsEnv)
		}
		t.Skip(err)
	}
	out := t.TempDir()
	err := run(context.Background(), []string{"experiment", "fig5.2", "--short", "--no-progress", "--out", out,
		"--securecached", testenv.SecurecachedBinary(t)}, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(out, "fig5.2.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"payload_bytes", "senders", "mbit_s", "msgs_s", "iperf3_mbit_s"}
	if len(recs) != 1+2*3 || len(recs[0]) != len(want) {
		t.Fatalf("fig5.2.csv: %d rows, header %v", len(recs), recs[0])
	}
	for i, h := range want {
		if recs[0][i] != h {
			t.Fatalf("header %v, want %v", recs[0], want)
		}
	}
	for _, r := range recs[1:] {
		for _, col := range []int{2, 3, 4} {
			if v, err := strconv.ParseFloat(r[col], 64); err != nil || v <= 0 {
				t.Fatalf("row %v: column %s is %q", r, want[col], r[col])
			}
		}
	}
	for _, name := range []string{"fig5.2.png", "fig5.2-rtt.csv", "fig5.2-latency.csv"} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
