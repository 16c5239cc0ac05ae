package tdx

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/go-configfs-tsm/configfs/linuxtsm"
	"github.com/google/go-configfs-tsm/report"

	"github.com/google/go-tdx-guest/abi"
	"github.com/google/go-tdx-guest/client"
	pb "github.com/google/go-tdx-guest/proto/tdx"
	"github.com/google/go-tdx-guest/verify"
	tdxtrust "github.com/google/go-tdx-guest/verify/trust"

	"github.com/securecached/securecached/trust"
)

// collateralTTL is how long fetched collateral is reused: Intel's PCS
// updates TCB information rarely, and evidence is made on every attested
// handshake, which must not mean a round trip to Intel each time.
const collateralTTL = time.Hour

// Options configure a Backend. The zero value uses the machine's
// configfs-tsm and Intel's PCS.
type Options struct {
	// QuoteProvider produces quotes: a client.QuoteProvider (configfs-tsm,
	// by default) or a client.Device (/dev/tdx_guest).
	QuoteProvider any
	// Getter fetches collateral from Intel's PCS. Nil means over HTTPS;
	// tests give go-tdx-guest's offline sample getter.
	Getter HTTPSGetter
}

// Available reports whether this machine is a TD whose kernel offers
// quotes through configfs-tsm or /dev/tdx_guest.
func Available() bool {
	if configfsIsTDX() {
		return true
	}
	d, err := client.OpenDevice()
	if err != nil {
		return false
	}
	d.Close()
	return true
}

// configfsIsTDX reports whether configfs-tsm's report provider is TDX's.
// go-tdx-guest's own probe only checks that configfs-tsm exists, which an
// SEV-SNP guest's kernel offers too.
func configfsIsTDX() bool {
	c, err := linuxtsm.MakeClient()
	if err != nil {
		return false
	}
	r, err := report.Create(c, &report.Request{})
	if err != nil {
		return false
	}
	defer r.Destroy()
	p, err := r.ReadOption("provider")
	return err == nil && strings.TrimSpace(string(p)) == "tdx_guest"
}

// Backend launches every agent of an instance in the one TD it runs in.
type Backend struct {
	opts Options
	now  func() time.Time

	mu      sync.Mutex // guards the collateral cache
	cached  []byte
	fetched time.Time
}

// NewBackend returns a TDX backend.
func NewBackend(opts Options) (*Backend, error) {
	if opts.QuoteProvider == nil {
		if configfsIsTDX() {
			qp, err := client.GetQuoteProvider()
			if err != nil {
				return nil, fmt.Errorf("tdx: configfs-tsm: %w", err)
			}
			opts.QuoteProvider = qp
		} else {
			d, err := client.OpenDevice()
			if err != nil {
				return nil, fmt.Errorf("tdx: %w: no TDX provider in configfs-tsm and no /dev/tdx_guest (%v)", trust.ErrNoHardware, err)
			}
			opts.QuoteProvider = d
		}
	}
	if opts.Getter == nil {
		opts.Getter = tdxtrust.DefaultHTTPSGetter()
	}
	return &Backend{opts: opts, now: time.Now}, nil
}

// Name returns "tdx".
func (b *Backend) Name() string { return trust.BackendTDX }

// Launch returns the agent's view of the TD.
func (b *Backend) Launch(spec trust.LaunchSpec) (trust.Enclave, error) {
	return &enclave{Identity: trust.IdentityOf(spec), b: b}, nil
}

type enclave struct {
	trust.Identity
	b *Backend
}

func (e *enclave) Backend() string { return trust.BackendTDX }
func (e *enclave) Trusted() bool   { return true }

// Attest asks for a quote binding rd and adds the platform's collateral.
func (e *enclave) Attest(rd trust.ReportData) (*trust.Evidence, error) {
	raw, err := client.GetRawQuote(e.b.opts.QuoteProvider, rd)
	if err != nil {
		return nil, fmt.Errorf("tdx quote: %w", err)
	}
	quote, err := parseQuote(raw)
	if err != nil {
		return nil, err
	}
	col, err := e.b.collateral(quote)
	if err != nil {
		return nil, err
	}
	return evidence(raw, col, e.b.now()), nil
}

// NewEvidence wraps a quote made elsewhere (a saved one, a vendor's
// sample) in evidence, with its collateral fetched through getter.
func NewEvidence(raw []byte, getter HTTPSGetter, issued time.Time) (*trust.Evidence, error) {
	quote, err := parseQuote(raw)
	if err != nil {
		return nil, err
	}
	col, err := fetchCollateral(quote, getter, issued)
	if err != nil {
		return nil, err
	}
	return evidence(raw, col, issued), nil
}

func evidence(raw, col []byte, issued time.Time) *trust.Evidence {
	return &trust.Evidence{
		Version:    trust.EvidenceVersion,
		Backend:    trust.BackendTDX,
		IssuedAt:   issued,
		Report:     raw,
		Collateral: col,
	}
}

// parseQuote decodes a version 4 quote. go-tdx-guest's parser panics on
// some malformed quotes (slicing past the end of the signed data; found by
// FuzzCheck, kept in testdata/fuzz): a quote comes from the other side of
// a trust boundary and must be refused, not crash the verifier.
func parseQuote(raw []byte) (quote *pb.QuoteV4, err error) {
	defer func() {
		if r := recover(); r != nil {
			quote, err = nil, fmt.Errorf("%w: tdx quote: the parser failed: %v", trust.ErrEvidenceMalformed, r)
		}
	}()
	q, err := abi.QuoteToProto(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: tdx quote: %v", trust.ErrEvidenceMalformed, err)
	}
	quote, ok := q.(*pb.QuoteV4)
	if !ok {
		return nil, fmt.Errorf("%w: tdx quote of type %T", trust.ErrEvidenceMalformed, q)
	}
	return quote, nil
}

// verifyQuote runs go-tdx-guest's verification, which walks structures of
// the quote and its collateral that parseQuote did not check; a panic in
// it is a refusal too (see parseQuote).
func verifyQuote(quote *pb.QuoteV4, opts *verify.Options) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: tdx quote: verification failed: %v", trust.ErrEvidenceMalformed, r)
		}
	}()
	return verify.TdxQuote(quote, opts)
}

// collateral returns the platform's PCS responses, fetched again when the
// cache is older than collateralTTL.
func (b *Backend) collateral(quote *pb.QuoteV4) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if b.cached != nil && now.Sub(b.fetched) < collateralTTL {
		return b.cached, nil
	}
	raw, err := fetchCollateral(quote, b.opts.Getter, now)
	if err != nil {
		return nil, err
	}
	b.cached, b.fetched = raw, now
	return raw, nil
}

// fetchCollateral lets go-tdx-guest's verifier fetch what the quote needs
// from the PCS (it knows which documents those are) and records what it
// got. The verdict here does not matter, the remote verifier's does; but
// every document must have been fetched.
func fetchCollateral(quote *pb.QuoteV4, getter HTTPSGetter, now time.Time) ([]byte, error) {
	rec := &recorder{g: getter}
	err := verifyQuote(quote, &verify.Options{Now: now, TrustedRoots: IntelRoots(), GetCollateral: true, CheckRevocations: true, Getter: rec})
	// TCB info, QE identity, PCK CRL, root CA CRL.
	if len(rec.col.Responses) < 4 {
		return nil, fmt.Errorf("tdx collateral: fetched %d of 4 documents: %v", len(rec.col.Responses), err)
	}
	return json.Marshal(&rec.col)
}

// Seal is refused: TDX gives a TD no key bound to its measurement (there
// is no equivalent of SGX's EGETKEY or SNP's derived key), and a key the
// guest made up would live in the guest image or on disk.
func (e *enclave) Seal(trust.SealPolicy, []byte, []byte) ([]byte, error) {
	return nil, fmt.Errorf("tdx seal: %w: TDX offers no measurement-bound key; use a key broker that releases keys on attestation", trust.ErrSealUnsupported)
}

// Unseal is refused for the same reason.
func (e *enclave) Unseal([]byte, []byte) ([]byte, error) {
	return nil, fmt.Errorf("tdx unseal: %w", trust.ErrSealUnsupported)
}
