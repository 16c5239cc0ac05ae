package tdx

import (
	"encoding/json"
	"fmt"

	"github.com/securecached/securecached/trust"
)

// response is one answer of Intel's PCS: the issuer chain travels in a
// header, the signed document in the body.
type response struct {
	URL    string              `json:"url"`
	Header map[string][]string `json:"header,omitempty"`
	Body   []byte              `json:"body"`
}

// collateral is what travels beside a quote in trust.Evidence: the PCS
// responses that verify it, as fetched. Every document in it is signed by
// Intel and checked against the verifier's root; the envelope only saves
// the verifier the network.
type collateral struct {
	Responses []response `json:"responses"`
}

func parseCollateral(b []byte) (*collateral, error) {
	c := &collateral{}
	if len(b) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%w: tdx collateral: %v", trust.ErrEvidenceMalformed, err)
	}
	return c, nil
}

// Get serves the recorded responses, and nothing else: verification never
// reaches the network.
func (c *collateral) Get(url string) (map[string][]string, []byte, error) {
	for _, r := range c.Responses {
		if r.URL == url {
			return r.Header, r.Body, nil
		}
	}
	return nil, nil, fmt.Errorf("%s not in the evidence's collateral (verification is offline)", url)
}

// HTTPSGetter is go-tdx-guest's getter: headers and body of a URL.
type HTTPSGetter interface {
	Get(url string) (map[string][]string, []byte, error)
}

// recorder passes requests to a getter and keeps what it answered.
type recorder struct {
	g   HTTPSGetter
	col collateral
}

func (r *recorder) Get(url string) (map[string][]string, []byte, error) {
	h, b, err := r.g.Get(url)
	if err == nil {
		r.col.Responses = append(r.col.Responses, response{URL: url, Header: h, Body: b})
	}
	return h, b, err
}
