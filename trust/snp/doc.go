// Package snp is the AMD SEV-SNP backend: an agent's enclave is the
// confidential VM it runs in. Evidence carries the VM's attestation report,
// signed by the chip's VCEK (or the cloud's VLEK), with the certificate
// chain up to AMD's ARK as collateral; the Checker verifies that chain
// against AMD's roots (go-sev-guest's embedded copies unless the policy
// names others), the report's signature, and then the policy on what the
// report says: the launch digest, the TCB, and that the guest is not
// debuggable. Every claim comes out of the signed report.
//
// Evidence is produced through the kernel's configfs-tsm or /dev/sev-guest
// (go-sev-guest's client); sealing keys come from the firmware's derived
// key, bound to the launch measurement and guest policy.
//
// The package builds on go-sev-guest and trust; it must never import the
// runtime (diggi) or memcached code.
package snp
