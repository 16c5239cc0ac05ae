package integration

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testcert"
	"github.com/securecached/securecached/internal/testenv"
)

// tlsServed connects with cfg and asks for the version. It returns nil when
// the server answered, or the error that ended the attempt. In TLS 1.3 the
// server checks the client's certificate after the client's handshake has
// returned, so a refusal shows on the first read, not in Handshake.
func tlsServed(t *testing.T, s *testenv.Server, cfg *tls.Config) error {
	t.Helper()
	c := tls.Client(s.Dial(t), cfg)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := c.Handshake(); err != nil {
		return err
	}
	// A refusing server may reset the connection before the request is
	// written, but the alert it sent first is still there to read.
	_, werr := c.Write([]byte("version\r\n"))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	if !strings.HasPrefix(line, "VERSION ") {
		return fmt.Errorf("answer %q", line)
	}
	return nil
}

// TestTLSClientVerification: ssl_ca_cert with ssl_verify_mode 2 (require)
// refuses clients without a certificate or with one from another CA and
// serves those the CA signed; mode 1 (request) serves clients without a
// certificate but still refuses a certificate it cannot verify, as
// OpenSSL's SSL_VERIFY_PEER does in memcached. Each refusal must be the
// TLS alert memcached sends (not a dropped connection), and the server
// must still serve a good client afterwards.
func TestTLSClientVerification(t *testing.T) {
	f := testcert.Write(t)
	ca := testcert.NewCA(t, "client-ca")
	other := testcert.NewCA(t, "other-ca")
	good := ca.Client(t, "good client")
	bad := other.Client(t, "bad client")
	// GetClientCertificate sends the certificate whatever CAs the server
	// names: with Certificates, Go's client would withhold a certificate
	// the server's list does not cover, and the "other CA" case would test
	// a client without a certificate instead.
	cfg := func(certs ...tls.Certificate) *tls.Config {
		return &tls.Config{RootCAs: f.Pool, ServerName: testcert.ServerName,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				if len(certs) == 0 {
					return &tls.Certificate{}, nil
				}
				return &certs[0], nil
			}}
	}
	clients := []struct {
		name string
		cfg  *tls.Config
	}{
		{"no certificate", cfg()},
		{"certificate from the CA", cfg(good)},
		{"certificate from another CA", cfg(bad)},
	}
	// alert is the TLS alert each client gets, "" when it is served: what
	// memcached 1.6.18 (OpenSSL) sends.
	for _, mode := range []struct {
		verify string
		alert  map[string]string
	}{
		{"2", map[string]string{"no certificate": "certificate required", "certificate from another CA": "unknown certificate authority"}},
		{"1", map[string]string{"certificate from another CA": "unknown certificate authority"}},
	} {
		t.Run("ssl_verify_mode="+mode.verify, func(t *testing.T) {
			flags := []string{"-Z", "-o", "ssl_chain_cert=" + f.Cert + ",ssl_key=" + f.Key +
				",ssl_ca_cert=" + ca.File + ",ssl_verify_mode=" + mode.verify}
			bothServers(t, flags, func(t *testing.T, s *testenv.Server) {
				for _, c := range clients {
					err := tlsServed(t, s, c.cfg)
					want := mode.alert[c.name]
					switch {
					case want == "" && err != nil:
						t.Errorf("%s: refused: %v", c.name, err)
					case want != "" && err == nil:
						t.Errorf("%s: served, want alert %q", c.name, want)
					case want != "" && err.Error() != "remote error: tls: "+want:
						t.Errorf("%s: refused with %v, want alert %q", c.name, err, want)
					}
				}
				if err := tlsServed(t, s, cfg(good)); err != nil {
					t.Errorf("good client after the refusals: %v", err)
				}
			})
		})
	}
}
