package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/internal/testwire"
)

// runBinary runs securecached with args to completion (it must exit on its
// own within a few seconds) and returns its exit code and output.
func runBinary(t *testing.T, args ...string) (int, string) {
	t.Helper()
	bin := testenv.SecurecachedBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "STATE_DIRECTORY="+testenv.StateDir())
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("securecached %v did not exit: %s", args, out)
	}
	return testenv.ExitCode(err), string(out)
}

// TestFlagsRejected: settings that cannot work stop the binary at once with
// memcached's message and status 64.
func TestFlagsRejected(t *testing.T) {
	tests := []struct {
		args string
		want string
	}{
		{"-l 999.1.1.1", "Invalid listen address"},
		{"-B http", "Invalid value for binding protocol: http"},
		{"-c 0", "Maximum connections must be greater than 0"},
		{"-t 0", "Number of threads must be greater than 0"},
		{"-I 512", "Item max size cannot be less than 1024 bytes."},
		{"-I 64m -m 64", "Cannot set item size limit higher than 1/2 of memory max."},
		{"-f 1", "Factor must be greater than 1"},
		{"-n 0", "Chunk size must be greater than 0"},
		{"-p 70000", "Invalid port number 70000"},
		{"-U 11211", "UDP is not supported"},
		{"-d", "daemon mode"},
		{"-o hashpower=99", "Initial hashtable multiplier of 99 is too high"},
		{"--no-such-flag", "unknown flag"},
		{"-Y /nonexistent/auth", "could not load auth file"},
		{"-I 200m -m 1024", "higher than 128 megabytes"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			code, out := runBinary(t, strings.Fields(tt.args)...)
			if code != 64 && !(strings.HasPrefix(tt.args, "-Y") && code != 0) {
				t.Errorf("exit code %d, want 64; output:\n%s", code, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output %q does not contain %q", out, tt.want)
			}
		})
	}
}

func TestFlagsHelpAndVersion(t *testing.T) {
	code, out := runBinary(t, "-h")
	if code != 0 || !strings.Contains(out, "--memory-limit") || !strings.Contains(out, "idle_timeout") {
		t.Errorf("-h: exit %d, output:\n%s", code, out)
	}
	code, out = runBinary(t, "-V")
	if code != 0 || !strings.HasPrefix(out, "securecached ") || !strings.Contains(out, "memcached 1.6 compatible") {
		t.Errorf("-V: exit %d, output %q", code, out)
	}
}

// TestFlagsLicense: -i prints licenses and exits 0 before looking at the
// rest of the command line, as memcached's does.
func TestFlagsLicense(t *testing.T) {
	mc, err := exec.Command(testenv.Require(t, "memcached"), "-i", "-c", "0").CombinedOutput()
	if err != nil || !strings.Contains(string(mc), "license") && !strings.Contains(string(mc), "Copyright") {
		t.Fatalf("memcached -i: %v\n%s", err, mc)
	}
	code, out := runBinary(t, "-i", "-c", "0")
	if code != 0 || !strings.Contains(out, "Built with go") || !strings.Contains(out, "github.com/spf13/pflag") {
		t.Errorf("-i: exit %d, output:\n%s", code, out)
	}
}

// TestFlagsNoEffectAccepted: -N (NAPI ids) is memcached's and accepted
// with a warning; memcached's own -N needs NAPI-capable network cards
// (Debian's 1.6.18 crashes without them), so only securecached is run.
func TestFlagsNoEffectAccepted(t *testing.T) {
	s := testenv.StartSecurecached(t, "-N", "2", "-W")
	if !strings.Contains(s.Stderr(), "--napi_ids has no effect") {
		t.Errorf("stderr lacks the -N warning:\n%s", s.Stderr())
	}
}

// TestFlagsUnknownExtendedWarns: an unknown -o key is reported on stderr and
// the server starts anyway, as the issue asks.
func TestFlagsUnknownExtendedWarns(t *testing.T) {
	s := testenv.StartSecurecached(t, "-o", "no_such_option=3,idle_timeout=0", "-o", "modern")
	if !strings.Contains(s.Stderr(), "no_such_option=3: unknown extended option; ignored") ||
		!strings.Contains(s.Stderr(), "-o modern: memcached option has no effect") {
		t.Errorf("stderr lacks the warnings:\n%s", s.Stderr())
	}
}

// TestLargePages: -L gives every slab class its first page at start, as
// memcached's does (stats slabs: every class listed, total_malloced a page
// each), and the server's memory carries the MADV_HUGEPAGE hint ("hg" in
// smaps).
func TestLargePages(t *testing.T) {
	s := testenv.StartSecurecached(t, "-L", "-m", "64")
	c := s.Dial(t)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	testwire.Exchange(t, c, r, "set k 0 0 2\r\nhi\r\nget k\r\n", "STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n")
	slabs := stats(t, c, r, "stats slabs")
	malloced, classes := slabs["total_malloced"], map[string]bool{}
	for name := range slabs {
		if id, ok := strings.CutSuffix(name, ":chunk_size"); ok {
			classes[id] = true
		}
	}
	if want := strconv.Itoa(len(classes) << 20); len(classes) < 2 || malloced != want {
		t.Errorf("-L -m 64: %d classes with pages, total_malloced %q; want every class with one 1 MB page (%s)", len(classes), malloced, want)
	}
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("this kernel has no transparent huge pages")
	}
	smaps, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", s.PID()))
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	if !strings.Contains(string(smaps), " hg ") && !strings.Contains(string(smaps), " hg\n") {
		t.Errorf("no mapping of the server has the huge page hint (hg); stderr:\n%s", s.Stderr())
	}
}
