package trust

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// SimBackend launches simulated enclaves on a Platform. The structures are
// real (measurement, signed evidence, derived sealing keys); the isolation
// is not: see SECURITY.md.
type SimBackend struct {
	platform *Platform
	now      func() time.Time
}

// NewSimBackend returns a sim backend on platform.
func NewSimBackend(platform *Platform) (*SimBackend, error) {
	if platform == nil {
		return nil, fmt.Errorf("sim backend: %w: no platform", ErrPlatform)
	}
	return &SimBackend{platform: platform, now: time.Now}, nil
}

// Name returns "sim".
func (b *SimBackend) Name() string { return BackendSim }

// Launch measures the agent and returns its simulated enclave.
func (b *SimBackend) Launch(spec LaunchSpec) (Enclave, error) {
	return &simEnclave{
		platform: b.platform,
		Identity: IdentityOf(spec),
		now:      b.now,
	}, nil
}

type simEnclave struct {
	Identity
	platform *Platform
	now      func() time.Time
}

func (e *simEnclave) Backend() string { return BackendSim }
func (e *simEnclave) Trusted() bool   { return true }

func (e *simEnclave) Attest(rd ReportData) (*Evidence, error) {
	ev := &Evidence{
		Version:      EvidenceVersion,
		Backend:      BackendSim,
		Simulated:    true,
		Measurement:  e.m,
		Signer:       e.s,
		ReportData:   rd,
		IssuedAt:     e.now(),
		PlatformCert: e.platform.cert.Raw,
	}
	ev.Signature = ed25519.Sign(e.platform.key, ev.SignedBytes())
	return ev, nil
}

func (e *simEnclave) Seal(policy SealPolicy, plaintext, aad []byte) ([]byte, error) {
	return seal(BackendSim, policy, plaintext, aad, e.sealKey)
}

func (e *simEnclave) Unseal(blob, aad []byte) ([]byte, error) {
	return unseal(BackendSim, blob, aad, e.sealKey)
}

// sealKey derives the AEAD key for policy from the platform seal secret and
// the identity the policy names, the way SGX's EGETKEY mixes the CPU's
// fused secret with MRENCLAVE or MRSIGNER.
func (e *simEnclave) sealKey(policy SealPolicy, salt []byte) ([]byte, error) {
	var id []byte
	switch policy {
	case SealToMeasurement:
		id = e.m[:]
	case SealToSigner:
		id = e.s[:]
	default:
		return nil, fmt.Errorf("%w: unknown seal policy %d", ErrSealedMalformed, policy)
	}
	return DeriveSealKey(e.platform.sealSecret[:], policy, id, salt)
}
