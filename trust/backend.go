package trust

// Backend names.
const (
	BackendNone = "none"
	BackendSim  = "sim"
	BackendSNP  = "sev-snp"
	BackendTDX  = "tdx"
	// BackendAuto is not a backend but a request: the TEE hardware
	// present (see trust/auto).
	BackendAuto = "auto"
)

// LaunchSpec describes the agent an enclave is created for.
type LaunchSpec struct {
	Identity CodeIdentity
	Config   []byte // canonical configuration bytes; part of the measurement
	Signer   Signer
}

// Identity is what every backend's enclave knows of its agent from the
// launch: the measurement (code identity and configuration) and the
// signer. Backends embed it for the Enclave methods of the same names.
type Identity struct {
	m Measurement
	s Signer
}

// IdentityOf measures spec.
func IdentityOf(spec LaunchSpec) Identity {
	return Identity{m: Measure(spec.Identity, spec.Config), s: spec.Signer}
}

// Measurement is the agent's measurement.
func (i Identity) Measurement() Measurement { return i.m }

// Signer is the agent's signer.
func (i Identity) Signer() Signer { return i.s }

// Backend creates enclaves for agents. A real TEE backend (SEV-SNP, TDX,
// SGX) implements this and Enclave; agents and channels only see these two
// interfaces, so adding one touches no agent code.
type Backend interface {
	// Name is the backend's name as it appears in evidence ("sim").
	Name() string
	// Launch creates the enclave an agent runs in.
	Launch(spec LaunchSpec) (Enclave, error)
}

// Enclave is one agent's view of its trusted execution environment.
type Enclave interface {
	// Backend is the backend's name.
	Backend() string
	// Trusted reports whether the agent runs in a (possibly simulated)
	// enclave. Untrusted enclaves cannot attest or seal.
	Trusted() bool
	Measurement() Measurement
	Signer() Signer
	// Attest produces evidence that binds reportData to this enclave.
	Attest(reportData ReportData) (*Evidence, error)
	// Seal encrypts plaintext so that only an enclave with the same
	// measurement (SealToMeasurement) or signer (SealToSigner) on the same
	// platform can unseal it. aad is authenticated, not encrypted.
	Seal(policy SealPolicy, plaintext, aad []byte) ([]byte, error)
	// Unseal reverses Seal.
	Unseal(blob, aad []byte) ([]byte, error)
}
