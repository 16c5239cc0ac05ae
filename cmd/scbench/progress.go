package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// isTerminal reports whether f is a character device (a terminal), without
// pulling in a terminal library.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressLine returns a ycsb.Options.Progress callback that redraws one
// status line on w, or nil when w is not a terminal.
func progressLine(f *os.File, label string) func(done, total int64, elapsed time.Duration) {
	if !isTerminal(f) {
		return nil
	}
	return func(done, total int64, elapsed time.Duration) {
		writeProgress(f, label, done, total, elapsed)
	}
}

func writeProgress(w io.Writer, label string, done, total int64, elapsed time.Duration) {
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	eta := "?"
	if rate > 0 && total > done {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	} else if total <= done {
		eta = "0s"
	}
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	fmt.Fprintf(w, "\r%s: %d/%d ops (%.0f%%), %.0f ops/s, elapsed %s, ETA %s   ",
		label, done, total, pct, rate, elapsed.Round(time.Second), eta)
	if done >= total {
		fmt.Fprintln(w)
	}
}
