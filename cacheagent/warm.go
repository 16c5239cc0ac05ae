package cacheagent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/sealstream"
)

// Sealed warm restart (-e FILE): memcached's restartable cache, except
// that the file lives outside the enclave, so it is sealed to the cache
// agent's enclave (its measurement, or with -o seal_policy=signer its
// signer) on this platform. A graceful stop (SIGUSR1, "shutdown
// graceful") writes the engine's items to it; the next start restores them
// and removes the file, so that a later crash cannot bring back items that
// were changed or deleted since. The items stream from the engine through
// sealstream's chunks to the file and back: the cache never exists twice
// in memory.

// warmLabel names what the sealed stream holds, so a stream sealed by the
// same enclave for another purpose is not taken for a cache.
const warmLabel = "securecached warm restart v1"

// warmIOBuffer is the file buffer on each side of the sealed stream.
const warmIOBuffer = 1 << 20

// ErrWarmUntrusted refuses -e on an untrusted cache agent: it has no
// enclave to seal the file to, and its items must not reach disk in clear.
var ErrWarmUntrusted = errors.New("-e: the warm restart file is sealed to the cache agent's enclave; an untrusted cache agent has none (run it trusted, or drop -e)")

func (a *Agent) sealPolicy() trust.SealPolicy {
	if a.as.set.Extended.SealPolicy == config.SealSigner {
		return trust.SealToSigner
	}
	return trust.SealToMeasurement
}

func (a *Agent) warmEnclave() (trust.Enclave, error) {
	if !a.ctx.Trusted() || a.hooks.Enclave == nil {
		return nil, ErrWarmUntrusted
	}
	enc, err := a.hooks.Enclave(a.ctx.Info())
	if err != nil {
		return nil, fmt.Errorf("-e: enclave: %w", err)
	}
	return enc, nil
}

// restoreWarm loads -e's file into the fresh engine, if there is one. A
// file that cannot be read (another build or platform, modified,
// truncated) is refused with the reason, and the cache starts empty; the
// file is left for the operator.
func (a *Agent) restoreWarm() error {
	path := a.as.set.MemoryFile
	enc, err := a.warmEnclave()
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		a.ctx.Log().Info("warm restart: no file yet, starting empty", "file", path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("-e %s: %w", path, err)
	}
	defer f.Close()
	start := time.Now()
	st, err := restoreSealed(a.engine, f, enc)
	if err != nil {
		a.ctx.Log().Warn(fmt.Sprintf("warm restart: %s refused, the cache starts empty: %v", path, warmReason(err)))
		a.engine, err = memcache.New(a.engine.Config(), time.Now())
		return err
	}
	a.ctx.Log().Info("warm restart: items restored", "file", path, "items", st.Restored,
		"expired", st.Expired, "dropped", st.Dropped, "took", time.Since(start).Round(time.Millisecond))
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("-e %s: remove after restoring: %w", path, err)
	}
	return nil
}

// restoreSealed reads a sealed item stream from r into c.
func restoreSealed(c *memcache.Cache, r io.Reader, enc trust.Enclave) (memcache.RestoreStats, error) {
	sr, err := sealstream.NewReader(bufio.NewReaderSize(r, warmIOBuffer), enc, warmLabel)
	if err != nil {
		return memcache.RestoreStats{}, err
	}
	return c.RestoreItems(sr)
}

// warmReason says in an operator's words why a file was refused.
func warmReason(err error) string {
	switch {
	case errors.Is(err, sealstream.ErrIdentity):
		return "it was sealed by another build or configuration (measurement), another signer, or on another platform, or its header was modified: " + err.Error()
	case errors.Is(err, sealstream.ErrTruncated):
		return "the file is truncated: " + err.Error()
	case errors.Is(err, sealstream.ErrTampered), errors.Is(err, sealstream.ErrTrailing):
		return "the file was modified: " + err.Error()
	case errors.Is(err, sealstream.ErrMalformed):
		return "not a warm restart file of this version: " + err.Error()
	}
	return err.Error()
}

// saveWarm writes the engine's items to -e's file, sealed: to a temporary
// file first, synced, then renamed over the old one, so a stop that fails
// half way never leaves a half-written file under the name.
func (a *Agent) saveWarm() error {
	path := a.as.set.MemoryFile
	enc, err := a.warmEnclave()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("-e: %w", err)
	}
	n, err := saveSealed(a.engine, f, enc, a.sealPolicy())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("-e %s: %w", path, err)
	}
	a.ctx.Log().Info("warm restart: items saved", "file", path, "items", n, "sealed to", a.sealPolicy())
	return nil
}

// saveSealed writes c's items to w as a sealed stream.
func saveSealed(c *memcache.Cache, w io.Writer, enc trust.Enclave, policy trust.SealPolicy) (int, error) {
	bw := bufio.NewWriterSize(w, warmIOBuffer)
	sw, err := sealstream.NewWriter(bw, enc, policy, warmLabel)
	if err != nil {
		return 0, err
	}
	n, err := c.SaveItems(sw)
	if err == nil {
		err = sw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	return n, err
}
