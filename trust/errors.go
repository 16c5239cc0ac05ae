package trust

import "errors"

// Sentinel errors. Callers branch on these with errors.Is; the returned
// errors wrap them with context.
var (
	// ErrUntrusted is returned when an untrusted ("none") enclave is asked
	// for something only a trusted one can do: attest or seal.
	ErrUntrusted = errors.New("trust: agent is not trusted")

	// ErrEvidenceMalformed means evidence bytes could not be decoded.
	ErrEvidenceMalformed = errors.New("trust: malformed evidence")
	// ErrEvidenceVersion means the evidence has a version this code does not know.
	ErrEvidenceVersion = errors.New("trust: unsupported evidence version")
	// ErrUnknownBackend means no verifier is registered for the evidence's backend.
	ErrUnknownBackend = errors.New("trust: no verifier for evidence backend")
	// ErrSimulatedRefused means the evidence is simulated and the policy
	// does not allow simulation.
	ErrSimulatedRefused = errors.New("trust: simulated evidence refused by policy")
	// ErrBadSignature means the evidence signature or its platform
	// certificate chain did not verify.
	ErrBadSignature = errors.New("trust: evidence signature invalid")
	// ErrReportDataMismatch means the evidence does not bind the expected
	// key and nonce: a replayed, stale or substituted report.
	ErrReportDataMismatch = errors.New("trust: report data does not bind the expected key and nonce")
	// ErrEvidenceExpired means the evidence is older than the policy's maximum age.
	ErrEvidenceExpired = errors.New("trust: evidence expired")
	// ErrEvidenceFromFuture means the evidence's timestamp is ahead of the
	// verifier's clock by more than the allowed skew.
	ErrEvidenceFromFuture = errors.New("trust: evidence issued in the future")
	// ErrMeasurementNotAllowed means the measurement is not in the policy.
	ErrMeasurementNotAllowed = errors.New("trust: measurement not allowed by policy")
	// ErrSignerNotAllowed means the signer is not in the policy.
	ErrSignerNotAllowed = errors.New("trust: signer not allowed by policy")
	// ErrEmptyPolicy means a policy allows neither a measurement nor a
	// signer; it would accept nothing (or, worse, everything), so it is refused.
	ErrEmptyPolicy = errors.New("trust: policy allows no measurement and no signer")

	// ErrDebugNotAllowed means a vendor report comes from a guest the host
	// may debug (decrypt, single-step). No policy accepts it.
	ErrDebugNotAllowed = errors.New("trust: debug-enabled guest refused")
	// ErrTCBBelowMinimum means the platform's trusted computing base (its
	// firmware and microcode security versions) is older than the policy
	// or the vendor's collateral allows.
	ErrTCBBelowMinimum = errors.New("trust: TCB below the minimum")
	// ErrCollateral means what verifies a vendor report (certificates,
	// CRLs, TCB information) is missing, expired, revoked or not signed by
	// the vendor.
	ErrCollateral = errors.New("trust: collateral missing, expired or revoked")
	// ErrNoHardware means no TEE device was found and the configuration
	// does not allow falling back to simulation.
	ErrNoHardware = errors.New("trust: no TEE hardware found")
	// ErrSealUnsupported means the backend offers no sealing key for the
	// asked policy (TDX has no key bound to the measurement).
	ErrSealUnsupported = errors.New("trust: sealing not available on this backend")

	// ErrSealedMalformed means a sealed blob could not be decoded.
	ErrSealedMalformed = errors.New("trust: malformed sealed blob")
	// ErrSealVersion means the sealed blob has an unknown version.
	ErrSealVersion = errors.New("trust: unsupported sealed blob version")
	// ErrUnseal means the blob did not authenticate: a different
	// measurement, signer or platform sealed it, or it was modified.
	ErrUnseal = errors.New("trust: cannot unseal (wrong identity, platform, or tampered)")

	// ErrPlatform means the platform identity is missing, corrupt or
	// inconsistent with its root.
	ErrPlatform = errors.New("trust: invalid platform identity")
)
