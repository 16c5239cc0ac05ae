package trust

import "fmt"

// NoneBackend launches untrusted agents. Their enclaves can neither attest
// nor seal: there is nothing to vouch for them.
type NoneBackend struct{}

// Name returns "none".
func (NoneBackend) Name() string { return BackendNone }

// Launch returns an untrusted enclave.
func (NoneBackend) Launch(spec LaunchSpec) (Enclave, error) {
	return noneEnclave{m: Measure(spec.Identity, spec.Config), s: spec.Signer}, nil
}

type noneEnclave struct {
	m Measurement
	s Signer
}

func (noneEnclave) Backend() string            { return BackendNone }
func (noneEnclave) Trusted() bool              { return false }
func (e noneEnclave) Measurement() Measurement { return e.m }
func (e noneEnclave) Signer() Signer           { return e.s }

func (noneEnclave) Attest(ReportData) (*Evidence, error) {
	return nil, fmt.Errorf("attest: %w", ErrUntrusted)
}

func (noneEnclave) Seal(SealPolicy, []byte, []byte) ([]byte, error) {
	return nil, fmt.Errorf("seal: %w", ErrUntrusted)
}

func (noneEnclave) Unseal([]byte, []byte) ([]byte, error) {
	return nil, fmt.Errorf("unseal: %w", ErrUntrusted)
}
