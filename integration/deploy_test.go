package integration

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securecached/securecached/internal/testenv"
)

const unitFile = "../deploy/securecached.service"

// unitSettings parses a systemd unit into section.key -> values.
func unitSettings(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: line %q is neither a section nor key=value", path, line)
			}
			out[section+"."+k] = append(out[section+"."+k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSystemdUnit checks what the unit promises operators: the state
// directory securecached reads from $STATE_DIRECTORY, private to the
// service; a reload that sends SIGHUP (which TestSignalsAsMemcached shows
// securecached survives); a graceful stop; the hardening options; and a
// command line securecached accepts.
func TestSystemdUnit(t *testing.T) {
	u := unitSettings(t, unitFile)
	want := map[string]string{
		"Service.StateDirectory":           "securecached",
		"Service.StateDirectoryMode":       "0700",
		"Service.ExecReload":               "/bin/kill -HUP $MAINPID",
		"Service.KillSignal":               "SIGUSR1",
		"Service.NoNewPrivileges":          "yes",
		"Service.ProtectSystem":            "strict",
		"Service.ProtectHome":              "yes",
		"Service.PrivateTmp":               "yes",
		"Service.CapabilityBoundingSet":    "",
		"Service.RestrictAddressFamilies":  "AF_INET AF_INET6 AF_UNIX",
		"Service.RestartPreventExitStatus": "64",
		"Install.WantedBy":                 "multi-user.target",
	}
	for k, v := range want {
		if got := u[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	exec1 := u["Service.ExecStart"]
	if len(exec1) != 1 {
		t.Fatalf("ExecStart = %q", exec1)
	}
	fields := strings.Fields(exec1[0])
	if fields[0] != "/usr/local/bin/securecached" {
		t.Errorf("ExecStart runs %s", fields[0])
	}
	// The flags must be ones securecached takes: -V after them makes
	// securecached parse them and exit 0 without starting.
	if code, out := runBinary(t, append(fields[1:], "-V")...); code != 0 {
		t.Errorf("securecached refuses the unit's flags %q: %d %s", fields[1:], code, out)
	}
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the unit, with
// ExecStart pointing at the securecached this test built (verify checks
// that the program exists).
func TestSystemdUnitVerifies(t *testing.T) {
	analyze := testenv.Require(t, "systemd-analyze")
	data, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(string(data), "/usr/local/bin/securecached", testenv.SecurecachedBinary(t))
	path := filepath.Join(t.TempDir(), "securecached.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
