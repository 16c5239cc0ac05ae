package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testcert"
	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/trust"
)

// TestYCSBOverTLS runs YCSB against securecached -Z through tls:// targets:
// verified against the certificate's CA, then by RA-TLS evidence, which is
// refused unless simulated evidence is allowed.
func TestYCSBOverTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cert := testcert.Write(t)
	srv := testenv.StartSecurecached(t, cert.Flags()...)
	common := []string{"-P", workloadPath(t), "-p", "recordcount=100", "-p", "operationcount=200", "--threads", "2", "--no-progress",
		"--target", "tls://" + srv.Addr, "--tls-ca", cert.Cert, "--tls-server-name", testcert.ServerName}
	checkReport(t, scbench(t, ctx, append([]string{"ycsb", "load"}, common...)...), "[INSERT], Return=OK, 100\n")
	checkReport(t, scbench(t, ctx, append([]string{"ycsb", "run"}, common...)...), "[READ], Operations, ")

	state := t.TempDir()
	attested := testenv.StartSecurecached(t, "-Z", "--state-dir", state)
	ratlsArgs := []string{"ycsb", "load", "-P", workloadPath(t), "-p", "recordcount=50", "--no-progress", "--threads", "2",
		"--target", "tls://" + attested.Addr, "--ratls"}
	var out, errb bytes.Buffer
	if err := run(ctx, ratlsArgs, &out, &errb); err == nil || !strings.Contains(err.Error()+errb.String()+out.String(), trust.ErrSimulatedRefused.Error()) {
		t.Errorf("RA-TLS without --allow-simulated: err %v, output %s%s", err, out.String(), errb.String())
	}
	checkReport(t, scbench(t, ctx, append(ratlsArgs, "--allow-simulated", "--sim-root", filepath.Join(state, "simroot.pem"))...),
		"[INSERT], Return=OK, 50\n")
}

// TestCompareSecurecached compares Debian's memcached and securecached in
// the clear, then both serving TLS with the same self-signed certificate
// (--tls), then with securecached serving its RA-TLS certificate
// (--ratls). securecached's state goes to a temporary directory, not to
// $STATE_DIRECTORY.
func TestCompareSecurecached(t *testing.T) {
	mc := testenv.Require(t, "memcached")
	sc := testenv.SecurecachedBinary(t)
	home := t.TempDir()
	t.Setenv("STATE_DIRECTORY", home)
	for _, mode := range []string{"plain", "--tls", "--ratls"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			args := []string{"compare", "--memcached", mc, "--securecached", sc, "-P", workloadPath(t),
				"-p", "recordcount=100", "-p", "operationcount=300", "--no-progress"}
			if mode != "plain" {
				args = append(args, mode)
			}
			table := scbench(t, ctx, args...)
			for _, want := range []string{"securecached/memcached", "run throughput (ops/s)"} {
				if !strings.Contains(table, want) {
					t.Errorf("table lacks %q:\n%s", want, table)
				}
			}
			for _, line := range strings.Split(table, "\n") {
				f := strings.Fields(line)
				if strings.HasPrefix(line, "READ errors") || (len(f) > 3 && f[0] == "READ" && f[1] == "errors") {
					if f[2] != "0" || f[3] != "0" {
						t.Errorf("errors: %q", line)
					}
				}
			}
			if left, _ := os.ReadDir(home); len(left) != 0 {
				t.Errorf("compare wrote %d entries to $STATE_DIRECTORY", len(left))
			}
		})
	}
}

// TestTLSFlagsNeedTLSTargets: the TLS flags are refused for tcp:// and
// inproc targets rather than silently ignored.
func TestTLSFlagsNeedTLSTargets(t *testing.T) {
	for _, target := range []string{"tcp://127.0.0.1:1", "inproc"} {
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"ycsb", "run", "--target", target, "--tls-insecure", "-p", "operationcount=1"}, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), "needs tls:// targets") {
			t.Errorf("--tls-insecure with %s: %v", target, err)
		}
	}
}
