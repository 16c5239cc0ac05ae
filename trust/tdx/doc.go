// Package tdx is the Intel TDX backend: an agent's enclave is the trust
// domain (TD) it runs in. Evidence carries the TD's quote, signed by the
// platform's quoting enclave whose PCK certificate chains to Intel's SGX
// root, with the collateral from Intel's PCS (TCB information, QE
// identity, CRLs, each signed by Intel) recorded beside it, so that a
// verifier needs no network. The Checker verifies quote and collateral
// (go-tdx-guest's verify package, with Intel's root unless the policy
// names another), then the policy on what the quote says: MRTD and the
// RTMRs, the TEE TCB SVN, and that the TD is not debuggable. Every claim
// comes out of the signed quote.
//
// TDX offers a guest no sealing key bound to its measurement: the backend
// refuses to seal rather than invent one.
//
// The package builds on go-tdx-guest and trust; it must never import the
// runtime (diggi) or memcached code.
package tdx
