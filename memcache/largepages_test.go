package memcache

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestLargeChunkTake: pages are cut in order from segments that start on
// a huge page boundary and carry the huge page hint, until -m is used up;
// for 1 MB pages (the default), pages larger than 1 MB (-I above 1m) and
// pages larger than a segment.
func TestLargeChunkTake(t *testing.T) {
	for _, tc := range []struct{ page, pages int }{{1 << 20, 130}, {3 << 20, 50}, {100 << 20, 3}} {
		t.Run(fmt.Sprintf("page=%dMB", tc.page>>20), func(t *testing.T) {
			p := newLargeChunk(int64(tc.pages * tc.page))
			var pages [][]byte
			for {
				b := p.take(tc.page)
				if b == nil {
					break
				}
				pages = append(pages, b)
			}
			if len(pages) != tc.pages {
				t.Fatalf("%d pages, want %d", len(pages), tc.pages)
			}
			perSegment := max(largeSegment/tc.page, 1)
			for i, b := range pages {
				if len(b) != tc.page || cap(b) != tc.page {
					t.Fatalf("page %d: len %d cap %d, want %d", i, len(b), cap(b), tc.page)
				}
				if i%perSegment == 0 {
					if addr(b)%hugePageSize != 0 {
						t.Fatalf("page %d at %#x starts a segment but is not 2 MB aligned", i, addr(b))
					}
				} else if addr(b) != addr(pages[i-1])+uintptr(tc.page) {
					t.Fatalf("page %d at %#x does not follow page %d at %#x", i, addr(b), i-1, addr(pages[i-1]))
				}
			}
			if !haveTHP() {
				return
			}
			if p.advise != nil {
				t.Fatalf("huge page hint refused: %v", p.advise)
			}
			for _, i := range []int{0, perSegment, len(pages) - 1} {
				if i >= len(pages) {
					continue
				}
				if flags := vmFlags(t, addr(pages[i])); !strings.Contains(" "+flags+" ", " hg ") {
					t.Errorf("page %d: mapping flags %q lack hg (MADV_HUGEPAGE)", i, flags)
				}
			}
		})
	}
}

func TestLargePagesCache(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.MaxBytes = 64 << 20; cfg.Preallocate = true })
	if on, err := c.LargePages(); !on || (haveTHP() && err != nil) {
		t.Fatalf("LargePages() = %v, %v with -L", on, err)
	}
	for pi := 2; pi < len(c.pageMem); pi++ {
		if addr(c.pageMem[pi]) != addr(c.pageMem[pi-1])+uintptr(c.pageSize) {
			t.Fatalf("page %d is not cut right after page %d", pi, pi-1)
		}
	}
	set(t, c, "a", kb)
	if v, ok := c.Get([]byte("a")); !ok || string(v.Value) != kb {
		t.Fatal("get after set on -L memory failed")
	}
	checkInvariants(t, c)
}

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

func TestLargePagesOffByDefault(t *testing.T) {
	c := newTestCache(t, nil)
	if on, err := c.LargePages(); on || err != nil {
		t.Fatalf("LargePages() = %v, %v without -L", on, err)
	}
}

// haveTHP reports whether the kernel has transparent huge pages (the hint
// fails with EINVAL without them).
func haveTHP() bool {
	_, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled")
	return runtime.GOOS == "linux" && err == nil
}

// vmFlags returns the VmFlags line of the mapping holding addr, from
// /proc/self/smaps.
func vmFlags(t *testing.T, addr uintptr) string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := parseRange(line); ok {
			in = addr >= lo && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmFlags:"))
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return ""
}

// parseRange reads an smaps mapping header ("lo-hi perms ...").
func parseRange(line string) (lo, hi uintptr, ok bool) {
	r, _, found := strings.Cut(line, " ")
	a, b, found2 := strings.Cut(r, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	l, err1 := strconv.ParseUint(a, 16, 64)
	h, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uintptr(l), uintptr(h), true
}
