package snp

import (
	"encoding/json"
	"fmt"

	"github.com/securecached/securecached/trust"
)

// collateral is what travels beside an SNP report in trust.Evidence: the
// certificates that verify it, so a verifier needs no network. The ARK and
// ASK here are only hints; the verifier trusts its own roots.
type collateral struct {
	// Product is the producer's CPU product ("Milan-B0"), needed to pick
	// the root for reports (version 2) that do not name it.
	Product string `json:"product,omitempty"`
	VCEK    []byte `json:"vcek,omitempty"`
	VLEK    []byte `json:"vlek,omitempty"`
	ASK     []byte `json:"ask,omitempty"`
	ARK     []byte `json:"ark,omitempty"`
	// CRLs maps a CRL distribution point to the ARK-signed list fetched
	// from it, for policies that check revocation.
	CRLs map[string][]byte `json:"crls,omitempty"`
}

func (c *collateral) marshal() ([]byte, error) { return json.Marshal(c) }

func parseCollateral(b []byte) (*collateral, error) {
	c := &collateral{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%w: sev-snp collateral: %v", trust.ErrEvidenceMalformed, err)
	}
	return c, nil
}

// crlGetter serves the CRLs carried in the evidence, and nothing else:
// verification never reaches the network.
type crlGetter map[string][]byte

func (g crlGetter) Get(url string) ([]byte, error) {
	if b, ok := g[url]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%s not in the evidence's collateral (verification is offline)", url)
}
