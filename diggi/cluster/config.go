package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/trust"
)

// ErrConfig marks a cluster section that cannot work.
var ErrConfig = errors.New("cluster config")

// Config is the cluster section of a layout file: where this instance's
// link listens, which peers to join first, and which peers are admitted.
// The instance's name is the diggi configuration's "instance".
//
//	"cluster": {"listen": "10.0.0.1:7100", "seeds": ["10.0.0.2:7100"],
//	            "signers": ["<hex>"], "allow_simulated": true,
//	            "sim_roots": ["/var/lib/securecached/simroot.pem"]}
type Config struct {
	// Listen is the link's listening address (IP:port; port 0 picks one).
	Listen string `json:"listen"`
	// Advertise is the address peers dial (IP:port); Listen's if empty.
	Advertise string `json:"advertise,omitempty"`
	// Seeds are link addresses of instances to join at start and to try
	// again while they are not members (a partition that heals).
	Seeds []string `json:"seeds,omitempty"`
	// Window is the credit per destination agent (link.DefaultWindow).
	Window int `json:"window,omitempty"`
	// The policy a peer's evidence must satisfy: its measurement and/or
	// signer (hex) must be listed; simulated evidence counts only with
	// AllowSimulated, from a platform under one of SimRoots (PEM files;
	// a deployment adds its own sim root).
	Measurements   []string `json:"measurements,omitempty"`
	Signers        []string `json:"signers,omitempty"`
	AllowSimulated bool     `json:"allow_simulated,omitempty"`
	SimRoots       []string `json:"sim_roots,omitempty"`
	// The policy for peers on confidential VMs: SEV-SNP launch digests
	// and minimum TCB (bootloader:tee:snp:microcode), TDX
	// MRTD:RTMR0:RTMR1:RTMR2:RTMR3 and minimum TEE TCB SVN (hex). Their
	// evidence is checked with the vendor's verifier, on the link and by
	// every trusted agent whose peer runs there; a backend not listed is
	// not admitted.
	SNPMeasurements []string `json:"snp_measurements,omitempty"`
	SNPMinTCB       string   `json:"snp_min_tcb,omitempty"`
	TDXMeasurements []string `json:"tdx_measurements,omitempty"`
	TDXMinTCB       string   `json:"tdx_min_tcb,omitempty"`
	// AdmitUntrusted admits instances that present no evidence (their
	// agents are all untrusted: a gateway on an ordinary host).
	AdmitUntrusted bool `json:"admit_untrusted,omitempty"`
	// CA, if set, puts the links on certificates of an attestation-gated
	// CA (securecached ca) instead of RA-TLS evidence (see CAConfig).
	CA *CAConfig `json:"ca,omitempty"`
	// Peers describe the other instances' agents as their layouts do
	// ("instance" and "agents"). A trusted agent verifies a remote peer
	// against this description (its measurement, its trust flag), never
	// against what the runtime or a link announces.
	Peers []diggi.Config `json:"peers,omitempty"`
}

// CAConfig names the attestation-gated CA whose certificates the links
// present and accept. The instance attests its link key to the CA and
// presents the certificate issued for its instance name; a peer is
// admitted as attested when its certificate chains to the CA's and names
// the instance it says it is. The CA's policy, which checked the peer's
// evidence at issuance, then stands in for the measurements and signers
// above; those still admit peers that present RA-TLS evidence.
type CAConfig struct {
	// URL is the CA's address (https://host:port).
	URL string `json:"url"`
	// Cert is a PEM file with the CA's certificate (its ca.pem).
	Cert string `json:"cert"`
}

// ParseConfig decodes a cluster section; unknown fields are errors. An
// empty "listen" takes defaultListen (the Diggi configuration's address).
func ParseConfig(data []byte, defaultListen string) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if c.Listen == "" {
		c.Listen = defaultListen
	}
	return c, c.Validate()
}

// Validate checks the addresses and the window.
func (c *Config) Validate() error {
	if err := checkIPPort("listen", c.Listen); err != nil {
		return err
	}
	if c.Advertise != "" {
		if err := checkIPPort("advertise", c.Advertise); err != nil {
			return err
		}
	}
	for _, s := range c.Seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("%w: seed %q: %v", ErrConfig, s, err)
		}
	}
	if c.Window < 0 || c.Window > 1<<16 {
		return fmt.Errorf("%w: window %d out of range [0, %d]", ErrConfig, c.Window, 1<<16)
	}
	if c.CA != nil && (c.CA.URL == "" || c.CA.Cert == "") {
		return fmt.Errorf("%w: ca needs url and cert", ErrConfig)
	}
	for i := range c.Peers {
		if err := c.Peers[i].Validate(); err != nil {
			return fmt.Errorf("%w: peer %d: %w", ErrConfig, i, err)
		}
	}
	return nil
}

func checkIPPort(what, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %s %q: %v", ErrConfig, what, addr, err)
	}
	if net.ParseIP(host) == nil {
		return fmt.Errorf("%w: %s %q: host must be an IP address (membership advertises it)", ErrConfig, what, addr)
	}
	return nil
}

// Policy is the trust.Policy the section describes. It is empty (no
// attested peer admitted) when it lists neither measurements nor signers.
func (c *Config) Policy() (trust.Policy, bool, error) {
	p := trust.Policy{AllowSimulated: c.AllowSimulated}
	for _, s := range c.Measurements {
		m, err := trust.ParseMeasurement(s)
		if err != nil {
			return p, false, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		p.Measurements = append(p.Measurements, m)
	}
	for _, s := range c.Signers {
		g, err := trust.ParseSigner(s)
		if err != nil {
			return p, false, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		p.Signers = append(p.Signers, g)
	}
	for _, f := range c.SimRoots {
		data, err := os.ReadFile(f)
		if err != nil {
			return p, false, fmt.Errorf("%w: sim root: %w", ErrConfig, err)
		}
		certs, err := trust.ParseCertificatesPEM(data)
		if err != nil {
			return p, false, fmt.Errorf("%w: sim root %s: %w", ErrConfig, f, err)
		}
		p.SimRoots = append(p.SimRoots, certs...)
	}
	return p, len(p.Measurements)+len(p.Signers) > 0, nil
}
