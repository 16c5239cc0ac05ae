// Command rss stores N distinct items of SIZE bytes in a memcached-protocol
// server and reports the server's resident memory (VmRSS from
// /proc/PID/status) and item count. bench/rss.sh runs it against Debian's
// memcached and securecached under the same -m.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:11211", "server address")
	pid := flag.Int("pid", 0, "server process id, for /proc/PID/status")
	n := flag.Int("n", 1_000_000, "items to store")
	size := flag.Int("size", 1024, "value size in bytes")
	flag.Parse()
	if err := run(*addr, *pid, *n, *size); err != nil {
		fmt.Fprintln(os.Stderr, "rss:", err)
		os.Exit(1)
	}
}

func run(addr string, pid, n, size int) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriterSize(c, 256<<10)
	value := bytes.Repeat([]byte("x"), size)
	start := time.Now()
	// Pipelined noreply sets in batches, each closed by "mn" so the
	// server's answers (only errors, then MN) never back up.
	const batch = 1000
	for i := 0; i < n; i += batch {
		for j := i; j < min(i+batch, n); j++ {
			fmt.Fprintf(w, "set key:%08d 0 0 %d noreply\r\n", j, size)
			w.Write(value)
			w.WriteString("\r\n")
		}
		w.WriteString("mn\r\n")
		if err := w.Flush(); err != nil {
			return err
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if line != "MN\r\n" {
			return fmt.Errorf("after item %d: server said %q", i, strings.TrimSpace(line))
		}
	}
	load := time.Since(start)
	items, err := stat(c, r, "curr_items")
	if err != nil {
		return err
	}
	rss, err := vmRSS(pid)
	if err != nil {
		return err
	}
	fmt.Printf("items=%s rss_kb=%d load_seconds=%.1f\n", items, rss, load.Seconds())
	return nil
}

func stat(c io.Writer, r *bufio.Reader, name string) (string, error) {
	if _, err := io.WriteString(c, "stats\r\n"); err != nil {
		return "", err
	}
	val := ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimSpace(line)
		if line == "END" {
			return val, nil
		}
		if f := strings.Fields(line); len(f) == 3 && f[1] == name {
			val = f[2]
		}
	}
}

func vmRSS(pid int) (int, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
