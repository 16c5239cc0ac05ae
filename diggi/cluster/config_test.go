package cluster

import (
	"errors"
	"testing"
)

func TestParseConfig(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{`{"listen": "127.0.0.1:7100", "seeds": ["127.0.0.1:7101", "node2:7100"], "window": 128}`, true},
		{`{"listen": "[::1]:0", "admit_untrusted": true}`, true},
		{`{"listen": "localhost:7100"}`, false}, // membership advertises an IP
		{`{"listen": "127.0.0.1"}`, false},      // no port
		{`{"listen": "127.0.0.1:7100", "seeds": ["x"]}`, false},
		{`{"listen": "127.0.0.1:7100", "window": -1}`, false},
		{`{"peers": [{"instance": "b", "agents": [{"name": "c", "kind": "k"}]}]}`, true}, // listen defaults
		{`{"listen": "127.0.0.1:7100", "peers": [{"instance": "", "agents": []}]}`, false},
		{`{"listen": "127.0.0.1:7100", "sedes": []}`, false}, // typo
		{`{"listen": "127.0.0.1:7100", "ca": {"url": "https://127.0.0.1:8443", "cert": "ca.pem"}}`, true},
		{`{"listen": "127.0.0.1:7100", "ca": {"url": "https://127.0.0.1:8443"}}`, false},        // no cert
		{`{"listen": "127.0.0.1:7100", "ca": {"cert": "ca.pem"}}`, false},                       // no url
		{`{"listen": "127.0.0.1:7100", "snp_measurements": ["ab"], "tdx_min_tcb": "00"}`, true}, // checked at start
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.in), "127.0.0.1:7100")
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok=%v", c.in, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v is not ErrConfig", c.in, err)
		}
	}
	c, err := ParseConfig([]byte(`{"listen": "127.0.0.1:7100", "signers": ["`+"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"+`"]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	p, ok, err := c.Policy()
	if err != nil || !ok || len(p.Signers) != 1 {
		t.Fatalf("policy %+v %v %v", p, ok, err)
	}
	if _, _, err := (&Config{Listen: "127.0.0.1:1", Signers: []string{"zz"}}).Policy(); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad signer: %v", err)
	}
}
