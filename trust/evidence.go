package trust

import (
	"encoding/binary"
	"fmt"
	"time"
)

// EvidenceVersion is the only evidence format version this code produces
// and accepts. Version 2 added the vendor report and its collateral.
const EvidenceVersion = 2

// maxEvidenceSize bounds decoding: evidence comes from the untrusted side.
// It must hold a TDX quote with its collateral (the largest evidence) and
// still fit one Noise handshake message (64 KiB) with the keys around it.
const maxEvidenceSize = 60 << 10

var evidenceMagic = [4]byte{'D', 'G', 'E', 'V'}

// signatureContext separates evidence signatures from anything else the
// platform key might sign.
const signatureContext = "diggi-evidence-v1\x00"

// Evidence is the envelope every backend's attestation travels in.
//
// Sim evidence is an attestation report of its own: what runs
// (Measurement, Signer), what it vouches for (ReportData), when, and a
// signature by the platform key whose certificate (PlatformCert) chains to
// a root the verifier trusts. Simulated evidence says so, and verifiers
// refuse it unless told otherwise.
//
// Hardware evidence (sev-snp, tdx) carries the vendor's own signed report
// in Report and what verifies it in Collateral (the VCEK chain; the PCK
// chain's collateral). Its Measurement, Signer, ReportData and Signature
// stay zero: the verifier derives every claim from the vendor-signed
// report and refuses an envelope that claims anything itself. Only
// IssuedAt is the producer's word; freshness of hardware evidence comes
// from the nonce in its report data.
type Evidence struct {
	Version      uint16
	Backend      string // "sim", "sev-snp", "tdx"
	Simulated    bool
	Measurement  Measurement
	Signer       Signer
	ReportData   ReportData
	IssuedAt     time.Time
	PlatformCert []byte // DER; signed by the backend's root
	Report       []byte // the vendor-signed report (SNP report, TDX quote)
	Collateral   []byte // backend-defined; what verifies Report
	Signature    []byte // by the platform key over SignedBytes
}

// SignedBytes returns the bytes the platform key signs: a context label and
// every field except the signature, in their wire encoding.
func (e *Evidence) SignedBytes() []byte {
	b := make([]byte, 0, len(signatureContext)+256+len(e.PlatformCert))
	b = append(b, signatureContext...)
	return e.appendBody(b)
}

func (e *Evidence) appendBody(b []byte) []byte {
	b = append(b, evidenceMagic[:]...)
	b = binary.BigEndian.AppendUint16(b, e.Version)
	b = append(b, byte(len(e.Backend)))
	b = append(b, e.Backend...)
	var flags byte
	if e.Simulated {
		flags |= 1
	}
	b = append(b, flags)
	b = append(b, e.Measurement[:]...)
	b = append(b, e.Signer[:]...)
	b = append(b, e.ReportData[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.IssuedAt.UnixNano()))
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.PlatformCert)))
	b = append(b, e.PlatformCert...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Report)))
	b = append(b, e.Report...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Collateral)))
	b = append(b, e.Collateral...)
	return b
}

// Marshal encodes the evidence. It fails if a field does not fit the format.
func (e *Evidence) Marshal() ([]byte, error) {
	if len(e.Backend) > 255 {
		return nil, fmt.Errorf("%w: backend name of %d bytes", ErrEvidenceMalformed, len(e.Backend))
	}
	if len(e.PlatformCert) > 0xffff || len(e.Signature) > 0xffff {
		return nil, fmt.Errorf("%w: certificate or signature too long", ErrEvidenceMalformed)
	}
	if len(e.Report)+len(e.Collateral) > maxEvidenceSize {
		return nil, fmt.Errorf("%w: report and collateral exceed %d bytes", ErrEvidenceMalformed, maxEvidenceSize)
	}
	b := e.appendBody(make([]byte, 0, 256+len(e.PlatformCert)+len(e.Report)+len(e.Collateral)+len(e.Signature)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.Signature)))
	b = append(b, e.Signature...)
	if len(b) > maxEvidenceSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrEvidenceMalformed, len(b), maxEvidenceSize)
	}
	return b, nil
}

// UnmarshalEvidence decodes evidence produced by Marshal. It checks the
// format only; Verifier.Verify decides whether to believe it.
func UnmarshalEvidence(b []byte) (*Evidence, error) {
	if len(b) > maxEvidenceSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrEvidenceMalformed, len(b), maxEvidenceSize)
	}
	r := reader{b: b}
	magic := r.take(4)
	if r.err == nil && string(magic) != string(evidenceMagic[:]) {
		return nil, fmt.Errorf("%w: bad magic", ErrEvidenceMalformed)
	}
	e := &Evidence{}
	e.Version = r.u16()
	if r.err == nil && e.Version != EvidenceVersion {
		return nil, fmt.Errorf("%w: version %d", ErrEvidenceVersion, e.Version)
	}
	e.Backend = string(r.take(int(r.u8())))
	flags := r.u8()
	if r.err == nil && flags&^1 != 0 {
		return nil, fmt.Errorf("%w: unknown flags %#x", ErrEvidenceMalformed, flags)
	}
	e.Simulated = flags&1 != 0
	copy(e.Measurement[:], r.take(32))
	copy(e.Signer[:], r.take(32))
	copy(e.ReportData[:], r.take(64))
	e.IssuedAt = time.Unix(0, int64(r.u64()))
	e.PlatformCert = append([]byte(nil), r.take(int(r.u16()))...)
	e.Report = append([]byte(nil), r.take(int(r.u32()))...)
	e.Collateral = append([]byte(nil), r.take(int(r.u32()))...)
	e.Signature = append([]byte(nil), r.take(int(r.u16()))...)
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEvidenceMalformed, r.err)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrEvidenceMalformed, len(r.b))
	}
	return e, nil
}

// reader consumes a byte slice; the first short read sets err and every
// later read returns zero values, so decoders check err once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = fmt.Errorf("truncated: need %d bytes, have %d", n, len(r.b))
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	v := r.take(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (r *reader) u16() uint16 {
	v := r.take(2)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint16(v)
}

func (r *reader) u32() uint32 {
	v := r.take(4)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

func (r *reader) u64() uint64 {
	v := r.take(8)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
