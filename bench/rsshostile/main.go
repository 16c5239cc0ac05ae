// Command rsshostile drives one hostile load against a memcached-protocol
// server and reports the server's peak resident memory (VmRSS sampled from
// /proc/PID/status every 10 ms while the load runs). bench/rss-hostile.sh
// runs it against Debian's memcached and securecached side by side.
//
// Cases (-case):
//
//	incomplete  -conns clients each send a set of -size bytes and all of
//	            its value but the last KB, then hold it (run the server
//	            with -m 64 -I 32m)
//	noread      stores one -size value, then -conns clients pipeline
//	            "get" of it and never read a reply, while one clean client
//	            sets and gets every 50 ms and must keep being answered
//	            (the median and worst time of its set and get are printed)
//	multiget    stores -keys values of -size bytes, then two clients each
//	            send one get naming all of them and read every reply; the
//	            peak is printed beside the RSS after loading
//
// Every phase is bounded by -hold and by deadlines on each socket.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:11211", "server address")
	pid := flag.Int("pid", 0, "server process id, for /proc/PID/status")
	which := flag.String("case", "incomplete", "incomplete, noread or multiget")
	conns := flag.Int("conns", 40, "hostile connections (incomplete, noread)")
	size := flag.Int("size", 32<<20-1024, "value size in bytes")
	keys := flag.Int("keys", 10000, "keys stored and fetched (multiget)")
	hold := flag.Duration("hold", 4*time.Second, "how long the hostile load is held")
	flag.Parse()
	s := &sampler{pid: *pid}
	var out string
	var err error
	switch *which {
	case "incomplete":
		out, err = incomplete(*addr, s, *conns, *size, *hold)
	case "noread":
		out, err = noread(*addr, s, *conns, *size, *hold)
	case "multiget":
		out, err = multiget(*addr, s, *keys, *size)
	default:
		err = fmt.Errorf("unknown case %q", *which)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rsshostile:", err)
		os.Exit(1)
	}
	fmt.Println(out)
}

// sampler records the largest VmRSS seen while it runs.
type sampler struct {
	pid  int
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func (s *sampler) start() {
	s.peak.Store(0)
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := vmRSS(s.pid); err == nil && kb > s.peak.Load() {
				s.peak.Store(kb)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// end stops sampling and returns the peak in MB.
func (s *sampler) end() int64 {
	close(s.stop)
	<-s.done
	return s.peak.Load() >> 10
}

func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS")
}

func dial(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, 5*time.Second) }

func incomplete(addr string, s *sampler, conns, size int, hold time.Duration) (string, error) {
	s.start()
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	var wg sync.WaitGroup
	var sent, failed atomic.Int64
	cs := make([]net.Conn, conns)
	deadline := time.Now().Add(hold + 20*time.Second)
	for i := range cs {
		c, err := dial(addr)
		if err != nil {
			return "", err
		}
		cs[i] = c
		c.SetDeadline(deadline)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(c, "set hostile:%d 0 0 %d\r\n", i, size)
			left := size - 1024
			for left > 0 {
				n, err := c.Write(chunk[:min(left, len(chunk))])
				sent.Add(int64(n))
				left -= n
				if err != nil {
					failed.Add(1)
					return
				}
			}
		}()
	}
	wg.Wait()
	time.Sleep(hold)
	peak := s.end()
	for _, c := range cs {
		c.Close()
	}
	return fmt.Sprintf("peak_rss_mb=%d sent_mb=%d writers_failed=%d", peak, sent.Load()>>20, failed.Load()), nil
}

func store(w *bufio.Writer, r *bufio.Reader, key string, value []byte) error {
	fmt.Fprintf(w, "set %s 0 0 %d\r\n", key, len(value))
	w.Write(value)
	w.WriteString("\r\n")
	if err := w.Flush(); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if line != "STORED\r\n" {
		return fmt.Errorf("set %s: %q", key, strings.TrimSpace(line))
	}
	return nil
}

func noread(addr string, s *sampler, conns, size int, hold time.Duration) (string, error) {
	c0, err := dial(addr)
	if err != nil {
		return "", err
	}
	defer c0.Close()
	c0.SetDeadline(time.Now().Add(hold + 30*time.Second))
	r0, w0 := bufio.NewReader(c0), bufio.NewWriter(c0)
	value := bytes.Repeat([]byte("v"), size)
	if err := store(w0, r0, "big", value); err != nil {
		return "", err
	}
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := dial(addr)
		if err != nil {
			return "", err
		}
		cs[i] = c
	}
	s.start()
	stop := time.Now().Add(hold)
	var wg sync.WaitGroup
	reqs := bytes.Repeat([]byte("get big\r\n"), 1000)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetWriteDeadline(stop)
			for time.Now().Before(stop) {
				if _, err := c.Write(reqs); err != nil {
					return
				}
			}
		}()
	}
	// The clean client: one set and one get every 50 ms; each answer
	// must come within 2 s.
	small := []byte("clean-value")
	served, missed := 0, 0
	var took []time.Duration
	for time.Now().Before(stop) {
		t0 := time.Now()
		c0.SetDeadline(t0.Add(2 * time.Second))
		err := store(w0, r0, "clean", small)
		if err == nil {
			w0.WriteString("get clean\r\n")
			if err = w0.Flush(); err == nil {
				var got []byte
				got, err = readValue(r0)
				if err == nil && !bytes.Equal(got, small) {
					err = fmt.Errorf("clean get returned %q", got)
				}
			}
		}
		if err != nil {
			missed++
			break // the connection's state is unknown after a timeout
		}
		served++
		took = append(took, time.Since(t0))
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	peak := s.end()
	for _, c := range cs {
		c.Close()
	}
	slices.Sort(took)
	var median, worst time.Duration
	if len(took) > 0 {
		median, worst = took[len(took)/2], took[len(took)-1]
	}
	return fmt.Sprintf("peak_rss_mb=%d clean_served=%d clean_timed_out=%d clean_median_ms=%d clean_worst_ms=%d",
		peak, served, missed, median.Milliseconds(), worst.Milliseconds()), nil
}

// readValue reads one "VALUE ... END" reply of a single-key get.
func readValue(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	f := strings.Fields(line)
	if len(f) < 4 || f[0] != "VALUE" {
		return nil, fmt.Errorf("get: %q", strings.TrimSpace(line))
	}
	n, _ := strconv.Atoi(f[3])
	v := make([]byte, n+2)
	if _, err := io.ReadFull(r, v); err != nil {
		return nil, err
	}
	if end, err := r.ReadString('\n'); err != nil || end != "END\r\n" {
		return nil, fmt.Errorf("get: no END (%q, %v)", end, err)
	}
	return v[:n], nil
}

func multiget(addr string, s *sampler, keys, size int) (string, error) {
	c0, err := dial(addr)
	if err != nil {
		return "", err
	}
	defer c0.Close()
	c0.SetDeadline(time.Now().Add(5 * time.Minute))
	r0, w0 := bufio.NewReader(c0), bufio.NewWriterSize(c0, 1<<20)
	value := bytes.Repeat([]byte("m"), size)
	const batch = 100
	for i := 0; i < keys; i += batch {
		for j := i; j < min(i+batch, keys); j++ {
			fmt.Fprintf(w0, "set mk:%06d 0 0 %d noreply\r\n", j, size)
			w0.Write(value)
			w0.WriteString("\r\n")
		}
		w0.WriteString("mn\r\n")
		if err := w0.Flush(); err != nil {
			return "", err
		}
		if line, err := r0.ReadString('\n'); err != nil || line != "MN\r\n" {
			return "", fmt.Errorf("loading at %d: %q %v", i, line, err)
		}
	}
	time.Sleep(2 * time.Second)
	loaded, err := vmRSS(s.pid)
	if err != nil {
		return "", err
	}
	var line strings.Builder
	line.WriteString("get")
	for j := range keys {
		fmt.Fprintf(&line, " mk:%06d", j)
	}
	line.WriteString("\r\n")
	s.start()
	var wg sync.WaitGroup
	hits := make([]int, 2)
	errs := make([]error, 2)
	for k := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(addr)
			if err != nil {
				errs[k] = err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Minute))
			if _, err := io.WriteString(c, line.String()); err != nil {
				errs[k] = err
				return
			}
			r := bufio.NewReaderSize(c, 1<<20)
			for {
				l, err := r.ReadSlice('\n')
				if err != nil {
					errs[k] = err
					return
				}
				if string(l) == "END\r\n" {
					return
				}
				f := strings.Fields(string(l))
				if len(f) < 4 {
					errs[k] = fmt.Errorf("multiget: %q", l)
					return
				}
				n, _ := strconv.Atoi(f[3])
				if _, err := r.Discard(n + 2); err != nil {
					errs[k] = err
					return
				}
				hits[k]++
			}
		}()
	}
	wg.Wait()
	peak := s.end()
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	return fmt.Sprintf("loaded_rss_mb=%d peak_rss_mb=%d peak/loaded=%.2f hits=%d+%d",
		loaded>>10, peak, float64(peak)/float64(loaded>>10), hits[0], hits[1]), nil
}
