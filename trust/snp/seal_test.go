package snp

import (
	"bytes"
	"errors"
	"testing"

	labi "github.com/google/go-sev-guest/client/linuxabi"
	test "github.com/google/go-sev-guest/testing"

	"github.com/securecached/securecached/trust"
)

// fakeDevice is go-sev-guest's fake /dev/sev-guest answering the one
// derived-key request sealing makes with key.
func fakeDevice(key byte) *test.Device {
	req := sealKeyRequest()
	abiReq := &labi.SnpDerivedKeyReqABI{RootKeySelect: 0, GuestFieldSelect: req.GuestFieldSelect.ABI()}
	return &test.Device{Keys: map[string][]byte{test.DerivedKeyRequestToString(abiReq): bytes.Repeat([]byte{key}, 32)}}
}

// TestSealToFirmwareKey seals with the firmware-derived key: the same VM
// (same derived key) and agent unseal, another VM image (another derived
// key) or another agent cannot, and a signer-bound seal is refused.
func TestSealToFirmwareKey(t *testing.T) {
	chip := newFakeChip(t)
	spec := trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "cache"}, Config: []byte("a")}
	launch := func(key byte, spec trust.LaunchSpec) trust.Enclave {
		t.Helper()
		e, err := chip.backend(t, guest{}, Options{Device: fakeDevice(key)}).Launch(spec)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := launch(1, spec)
	blob, err := e.Seal(trust.SealToMeasurement, []byte("secret"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, []byte("secret")) {
		t.Fatal("sealed blob holds the plaintext")
	}
	pt, err := launch(1, spec).Unseal(blob, []byte("aad"))
	if err != nil || string(pt) != "secret" {
		t.Fatalf("same VM, same agent: %q, %v", pt, err)
	}
	if _, err := launch(2, spec).Unseal(blob, []byte("aad")); !errors.Is(err, trust.ErrUnseal) {
		t.Fatalf("another VM image unsealed: %v", err)
	}
	other := spec
	other.Config = []byte("b")
	if _, err := launch(1, other).Unseal(blob, []byte("aad")); !errors.Is(err, trust.ErrUnseal) {
		t.Fatalf("another agent unsealed: %v", err)
	}
	if _, err := e.Seal(trust.SealToSigner, []byte("x"), nil); !errors.Is(err, trust.ErrSealUnsupported) {
		t.Fatalf("seal to signer: %v", err)
	}
}
