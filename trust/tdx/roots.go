package tdx

import (
	"crypto/x509"
	_ "embed"
	"encoding/pem"
)

// intelRootPEM is Intel's SGX Root CA, to which every PCK certificate
// chains: the certificate Intel publishes at
// https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.pem,
// byte for byte the one go-tdx-guest embeds. Naming it here makes the
// trust anchor explicit (and spares go-tdx-guest's warning, printed on
// standard output, each time it falls back to its own copy).
//
//go:embed intel_sgx_root.pem
var intelRootPEM []byte

// IntelRoots returns a pool holding Intel's SGX Root CA.
func IntelRoots() *x509.CertPool {
	b, _ := pem.Decode(intelRootPEM)
	if b == nil {
		panic("tdx: embedded Intel root is not PEM")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		panic("tdx: embedded Intel root: " + err.Error())
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return pool
}
