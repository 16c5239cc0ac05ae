package conn

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSlabsCommandsDriveTheEngine: automove settings show in stats
// settings, and a reassign moves a page that the next ticks carry out.
func TestSlabsCommandsDriveTheEngine(t *testing.T) {
	r := newRig(t, Settings{MemoryFile: "/var/lib/securecached/cache.sealed"})
	out := r.run("slabs automove 2\r\nslabs automove ratio 0.5\r\nstats settings\r\n", 0)
	for _, want := range []string{"OK\r\nOK\r\n", "STAT slab_reassign yes\r\n", "STAT slab_automove 2\r\n",
		"STAT slab_automove_ratio 0.50\r\n", "STAT slab_automove_window 30\r\n", "STAT memory_file /var/lib/securecached/cache.sealed\r\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in\n%s", want, out)
		}
	}
	var in strings.Builder
	for i := range 25000 { // several pages of 100-byte values
		in.WriteString("set k" + strconv.Itoa(i) + " 0 0 100 noreply\r\n" + strings.Repeat("v", 100) + "\r\n")
	}
	r.run(in.String(), 0)
	cls := 0
	for _, line := range strings.Split(r.run("stats slabs\r\n", 0), "\r\n") {
		var id, pages int
		if n, _ := fmt.Sscanf(line, "STAT %d:total_pages %d", &id, &pages); n == 2 && pages > 1 {
			cls = id
		}
	}
	if cls == 0 {
		t.Fatalf("no class with a spare page")
	}
	if got := r.run("slabs reassign "+strconv.Itoa(cls)+" 0\r\nslabs reassign "+strconv.Itoa(cls)+" 0\r\n", 0); got != "OK\r\nBUSY currently processing reassign request\r\n" {
		t.Fatalf("reassign: %q", got)
	}
	r.cache.Tick(epoch.Add(time.Second))
	stats := r.run("stats\r\n", 0)
	for _, want := range []string{"STAT slabs_moved 1\r\n", "STAT slab_global_page_pool 1\r\n", "STAT slab_reassign_running 0\r\n"} {
		if !strings.Contains(stats, want) {
			t.Fatalf("missing %q in\n%s", want, stats)
		}
	}
}
