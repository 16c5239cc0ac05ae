package integration

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/internal/testwire"
)

// TestConfigFileLayout: a configuration file with two cache agents, a
// trusted one behind TLS (-Z in its args: an RA-TLS certificate) and an
// untrusted plaintext one, each behind its
// own gateway; the caches are separate.
func TestConfigFileLayout(t *testing.T) {
	secure, bulk := testenv.FreePort(t), testenv.FreePort(t)
	layout := fmt.Sprintf(`{
  "diggi": {"instance": "node1", "agents": [
    {"name": "secure", "kind": "securecached", "trusted": true, "options": {"args": "-m 32 -Z"}},
    {"name": "bulk", "kind": "securecached", "options": {"args": "-m 64"}},
    {"name": "gw-secure", "kind": "gateway", "options": {"listen": "127.0.0.1:%d", "backend": "secure:11211"}},
    {"name": "gw-bulk", "kind": "gateway", "options": {"listen": "127.0.0.1:%d", "backend": "bulk:11211"}}
  ]},
  "trust": {"backend": "sim", "state_dir": %q}
}`, secure, bulk, t.TempDir())
	path := filepath.Join(t.TempDir(), "layout.json")
	if err := os.WriteFile(path, []byte(layout), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testenv.StartSecurecachedAt(t, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(bulk)), "--config", path)
	dial := func(port int) net.Conn {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 5*time.Second)
		if err != nil {
			t.Fatalf("%v\n%s", err, s.Stderr())
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	b := dial(bulk)
	br := bufio.NewReader(b)
	testwire.Exchange(t, b, br, "set k 0 0 4\r\nbulk\r\n", "STORED\r\n")
	testwire.Exchange(t, b, br, "stats settings\r\n", "STAT maxbytes 67108864\r\n") // -m 64 from its own args
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "END\r\n" {
			break
		}
	}

	sc := tls.Client(dial(secure), &tls.Config{InsecureSkipVerify: true})
	sr := bufio.NewReader(sc)
	testwire.Exchange(t, sc, sr, "get k\r\n", "END\r\n") // a different cache
	testwire.Exchange(t, sc, sr, "set k 0 0 6\r\nsecure\r\nget k\r\n", "STORED\r\nVALUE k 0 6\r\nsecure\r\nEND\r\n")
	testwire.Exchange(t, b, br, "get k\r\n", "VALUE k 0 4\r\nbulk\r\nEND\r\n")
}
