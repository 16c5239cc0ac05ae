package main

import (
	"context"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ca"
	"github.com/securecached/securecached/trust/ratls"
)

// runningCA is "securecached ca" serving in the background.
type runningCA struct {
	url  string
	stop chan struct{}
	code chan int
	out  *testenv.SyncBuffer
}

var listeningRE = regexp.MustCompile(`listening on (https://\S+)`)

func startCACmd(t *testing.T, args ...string) *runningCA {
	t.Helper()
	r := &runningCA{stop: make(chan struct{}), code: make(chan int, 1), out: &testenv.SyncBuffer{}}
	go func() { r.code <- serveCA(append([]string{"--listen", "127.0.0.1:0"}, args...), r.out, r.out, r.stop) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(r.out.String()); m != nil {
			r.url = m[1]
			return r
		}
		select {
		case c := <-r.code:
			t.Fatalf("ca exited %d:\n%s", c, r.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ca did not start:\n%s", r.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *runningCA) close(t *testing.T) {
	t.Helper()
	close(r.stop)
	if c := <-r.code; c != 0 {
		t.Fatalf("ca exited %d:\n%s", c, r.out.String())
	}
}

// TestCACommand runs "securecached ca" with a policy accepting one sim
// platform: an instance there gets a certificate; the CA key is sealed
// and survives a restart (same ca.pem); a tampered sealed key stops it.
func TestCACommand(t *testing.T) {
	w := testsim.New(t)
	e := w.Launch(t, trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "cache"}, Signer: trust.Signer{3}})
	rootFile := filepath.Join(t.TempDir(), "simroot.pem")
	if err := os.WriteFile(rootFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.SimRoots()[0].Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args := []string{"--state-dir", dir, "--allow-simulated", "--sim-root", rootFile, "--signer", trust.Signer{3}.String(), "--allow-name", "localhost"}
	r := startCACmd(t, args...)
	if !strings.Contains(r.out.String(), "sealed to the CA's sim enclave") {
		t.Fatalf("key not sealed:\n%s", r.out.String())
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, caCertFile))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := trust.ParseCertificatesPEM(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	c := ca.NewClient(r.url, certs[0])
	key, _ := ratls.NewKey()
	cert, err := c.Obtain(context.Background(), e, key, []string{"localhost"})
	if err != nil {
		t.Fatalf("obtain: %v\n%s", err, r.out.String())
	}
	if err := cert.Leaf.CheckSignatureFrom(certs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Obtain(context.Background(), e, key, []string{"elsewhere.example"}); err == nil {
		t.Fatal("a name outside --allow-name was issued")
	}
	outsider := w.Launch(t, trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "cache"}, Signer: trust.Signer{4}})
	if _, err := c.Obtain(context.Background(), outsider, key, []string{"localhost"}); err == nil {
		t.Fatal("an instance of another signer got a certificate")
	}
	c.Close()
	r.close(t)

	r = startCACmd(t, args...)
	again, _ := os.ReadFile(filepath.Join(dir, caCertFile))
	r.close(t)
	if string(again) != string(caPEM) {
		t.Fatal("restart made a new CA: the sealed key was not reused")
	}

	blob, _ := os.ReadFile(filepath.Join(dir, caKeyFile))
	blob[len(blob)-1] ^= 1
	if err := os.WriteFile(filepath.Join(dir, caKeyFile), blob, 0o600); err != nil {
		t.Fatal(err)
	}
	out := &testenv.SyncBuffer{}
	if code := serveCA(append([]string{"--listen", "127.0.0.1:0"}, args...), out, out, make(chan struct{})); code != exitOSErr || !strings.Contains(out.String(), "cannot unseal") {
		t.Fatalf("tampered sealed key: exit %d:\n%s", code, out.String())
	}

	out = &testenv.SyncBuffer{}
	if code := serveCA([]string{"--listen", "0.0.0.0:0", "--state-dir", t.TempDir(), "--backend", "none", "--signer", trust.Signer{3}.String()}, out, out, make(chan struct{})); code != exitUsage || !strings.Contains(out.String(), "--name") {
		t.Fatalf("wildcard listen without --name: exit %d:\n%s", code, out.String())
	}

	// The none backend cannot seal: the key stays in memory, and says so.
	r = startCACmd(t, "--state-dir", t.TempDir(), "--backend", "none", "--allow-simulated", "--sim-root", rootFile)
	r.close(t)
	if !strings.Contains(r.out.String(), "IN MEMORY ONLY") {
		t.Fatalf("unsealable key not reported:\n%s", r.out.String())
	}
}
