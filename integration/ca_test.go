package integration

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/trust"
)

// TestCACommandServesStockClients runs the binaries: "securecached ca"
// with a policy accepting the instance's sim platform, then securecached
// -Z pointed at it; a stock TLS client verifies the server with nothing
// but the CA's ca.pem. SIGTERM stops the CA cleanly.
func TestCACommandServesStockClients(t *testing.T) {
	bin := testenv.SecurecachedBinary(t)
	instanceState, caState := t.TempDir(), t.TempDir()
	if _, err := trust.LoadOrCreateSimRoot(instanceState); err != nil {
		t.Fatal(err)
	}
	ca := exec.Command(bin, "ca", "--listen", "127.0.0.1:0", "--state-dir", caState,
		"--allow-simulated", "--sim-root", filepath.Join(instanceState, trust.SimRootFile))
	stdout, err := ca.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var caLog testenv.SyncBuffer
	ca.Stderr = &caLog
	if err := ca.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		ca.Process.Kill()
	})
	urls := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (https://\S+)`)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			if m := re.FindStringSubmatch(s.Text()); m != nil {
				urls <- m[1]
			}
		}
		exited <- ca.Wait()
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-exited:
		t.Fatalf("securecached ca exited: %v\n%s", err, caLog.String())
	case <-time.After(30 * time.Second):
		t.Fatal("securecached ca did not start")
	}
	caPEM := filepath.Join(caState, "ca.pem")
	s := testenv.StartSecurecached(t, "-Z", "--state-dir", instanceState,
		"--ca-url", url, "--ca-cert", caPEM, "--ca-name", "localhost")

	data, err := os.ReadFile(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(data)
	c, err := tls.Dial("tcp", s.Addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("stock TLS client with the CA's certificate: %v\n%s", err, caLog.String())
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "VERSION ") {
		t.Fatalf("version over TLS: %q, %v", line, err)
	}
	c.Close()

	ca.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("securecached ca after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("securecached ca did not stop on SIGTERM")
	}
}
