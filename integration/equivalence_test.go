package integration

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securecached/securecached/internal/testenv"
)

var dumpDir = flag.String("dump", "", "write each script's memcached transcript to DIR/<name>.memcached, for reading")

// TestEquivalence runs every testdata/*.script against a fresh Debian
// memcached and a fresh securecached (trusted and untrusted) with the same flags and requires the
// normalised responses to be identical, step by step.
func TestEquivalence(t *testing.T) {
	scripts, err := loadScripts("testdata/*.script")
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) == 0 {
		t.Fatal("no testdata/*.script files")
	}
	for _, sc := range scripts {
		t.Run(sc.name, func(t *testing.T) {
			mc := testenv.StartMemcached(t, sc.flags...)
			want, err := runScript(sc, mc.Network(), mc.Addr)
			if *dumpDir != "" {
				writeTranscript(t, filepath.Join(*dumpDir, sc.name+".memcached"), want)
			}
			if err != nil {
				t.Fatalf("memcached: %v", err)
			}
			if os.Getenv("SECURECACHED_EQUIV_MEMCACHED_ONLY") == "1" {
				return // validating scripts against memcached alone
			}
			eachTrust(t, func(t *testing.T, trust []string) {
				scd := testenv.StartSecurecached(t, append(trust, sc.flags...)...)
				got, err := runScript(sc, scd.Network(), scd.Addr)
				if err != nil {
					t.Fatalf("securecached: %v", err)
				}
				compareTranscripts(t, want, got)
			})
		})
	}
}

func compareTranscripts(t *testing.T, want, got []entry) {
	t.Helper()
	bad := 0
	for i := 0; i < len(want) || i < len(got); i++ {
		switch {
		case i >= len(got):
			t.Errorf("line %d %q: securecached transcript ended early", want[i].line, want[i].src)
			return
		case i >= len(want):
			t.Errorf("line %d %q: securecached answered a step memcached did not", got[i].line, got[i].src)
			return
		}
		if want[i].got != got[i].got {
			t.Errorf("line %d: %s\n%s--- memcached:\n%s--- securecached:\n%s", want[i].line, clip(want[i].src),
				firstDiff(want[i].got, got[i].got), clip(want[i].got), clip(got[i].got))
			if bad++; bad >= 10 {
				t.Error("stopping after 10 differences")
				return
			}
		}
	}
}

// firstDiff names the first response line that differs, which long
// outputs (stats) would otherwise bury.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("first difference at response line %d: memcached %q, securecached %q\n", i+1, clip(a), clip(b))
		}
	}
	return ""
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + fmt.Sprintf("...(%d more bytes)\n", len(s)-2000)
	}
	return s
}

func writeTranscript(t *testing.T, path string, es []entry) {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%d: %s\n%s", e.line, e.src, e.got)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
