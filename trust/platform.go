package trust

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Platform is the identity of one simulated machine: a platform signing
// key certified by a SimRoot, and a seal secret from which sealing keys
// derive. On real hardware both live in the CPU; here they live in a file
// in the instance's state directory, which is why sim protects nothing
// against the host (see SECURITY.md).
type Platform struct {
	key        ed25519.PrivateKey
	cert       *x509.Certificate
	sealSecret [32]byte
}

// Files in a state directory.
const (
	PlatformFile = "platform.pem"
	SimRootFile  = "simroot.pem"
)

const sealSecretBlock = "DIGGI SIM SEAL SECRET"

// NewPlatform creates a platform identity certified by root.
func NewPlatform(root *SimRoot) (*Platform, error) {
	if root == nil {
		return nil, fmt.Errorf("%w: a sim root is needed to certify a new platform", ErrPlatform)
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate platform key: %w", err)
	}
	p := &Platform{key: key}
	if _, err := rand.Read(p.sealSecret[:]); err != nil {
		return nil, fmt.Errorf("generate seal secret: %w", err)
	}
	der, err := root.issuePlatform(pub, hex.EncodeToString(pub[:8]))
	if err != nil {
		return nil, err
	}
	if p.cert, err = x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("parse platform certificate: %w", err)
	}
	return p, nil
}

// Certificate returns the platform certificate.
func (p *Platform) Certificate() *x509.Certificate { return p.cert }

// MarshalPEM encodes the platform for storage. The output is secret.
func (p *Platform) MarshalPEM() ([]byte, error) {
	k, err := x509.MarshalPKCS8PrivateKey(p.key)
	if err != nil {
		return nil, fmt.Errorf("marshal platform key: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.cert.Raw})...)
	return append(out, pem.EncodeToMemory(&pem.Block{Type: sealSecretBlock, Bytes: p.sealSecret[:]})...), nil
}

// ParsePlatformPEM decodes what MarshalPEM wrote. If root is not nil the
// platform certificate must have been issued by it.
func ParsePlatformPEM(data []byte, root *x509.Certificate) (*Platform, error) {
	blocks := pemBlocks(data)
	keyDER, certDER, secret := blocks["PRIVATE KEY"], blocks["CERTIFICATE"], blocks[sealSecretBlock]
	if keyDER == nil || certDER == nil || secret == nil {
		return nil, fmt.Errorf("%w: need PRIVATE KEY, CERTIFICATE and %s blocks", ErrPlatform, sealSecretBlock)
	}
	k, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, fmt.Errorf("%w: platform key: %v", ErrPlatform, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: platform key is %T, want ed25519", ErrPlatform, k)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("%w: platform certificate: %v", ErrPlatform, err)
	}
	if !key.Public().(ed25519.PublicKey).Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%w: platform key does not match its certificate", ErrPlatform)
	}
	if root != nil {
		if err := cert.CheckSignatureFrom(root); err != nil {
			return nil, fmt.Errorf("%w: platform certificate not issued by the given sim root: %v", ErrPlatform, err)
		}
	}
	if len(secret) != 32 {
		return nil, fmt.Errorf("%w: seal secret is %d bytes, want 32", ErrPlatform, len(secret))
	}
	p := &Platform{key: key, cert: cert}
	copy(p.sealSecret[:], secret)
	if subtle.ConstantTimeCompare(p.sealSecret[:], make([]byte, 32)) == 1 {
		return nil, fmt.Errorf("%w: seal secret is all zero", ErrPlatform)
	}
	return p, nil
}

// LoadOrCreateSimRoot reads dir/simroot.pem, creating it on first start.
func LoadOrCreateSimRoot(dir string) (*SimRoot, error) {
	path := filepath.Join(dir, SimRootFile)
	data, err := os.ReadFile(path)
	if err == nil {
		r, err := ParseSimRootPEM(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return r, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read sim root: %w", err)
	}
	r, err := NewSimRoot()
	if err != nil {
		return nil, err
	}
	out, err := r.MarshalPEM()
	if err != nil {
		return nil, err
	}
	if err := writeSecretFile(path, out); err != nil {
		return nil, err
	}
	return r, nil
}

// LoadOrCreatePlatform reads dir/platform.pem, creating it (certified by
// root) on first start, so that restarts keep the same platform identity
// and can unseal what earlier runs sealed. root may be nil when the file
// exists; when given, the stored platform must chain to it.
func LoadOrCreatePlatform(dir string, root *SimRoot) (*Platform, error) {
	path := filepath.Join(dir, PlatformFile)
	var rootCert *x509.Certificate
	if root != nil {
		rootCert = root.cert
	}
	data, err := os.ReadFile(path)
	if err == nil {
		p, err := ParsePlatformPEM(data, rootCert)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return p, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read platform: %w", err)
	}
	p, err := NewPlatform(root)
	if err != nil {
		return nil, err
	}
	out, err := p.MarshalPEM()
	if err != nil {
		return nil, err
	}
	if err := writeSecretFile(path, out); err != nil {
		return nil, err
	}
	return p, nil
}

// writeSecretFile writes data readable by the owner only, atomically: a
// crash leaves either no file or a complete one, never a torn identity.
func writeSecretFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	// Link, not rename: if another process created the file meanwhile,
	// keep theirs and fail rather than silently replacing an identity.
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("install %s: %w", path, err)
	}
	return nil
}
