package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/auto"
)

// TestAutoBackendNoSilentFallback: on a machine without TEE hardware (CI),
// "auto" refuses to start trusted agents, and starts them on sim only when
// simulation is explicitly allowed, saying so.
func TestAutoBackendNoSilentFallback(t *testing.T) {
	if hw := auto.Detect(); hw != (auto.Hardware{}) {
		t.Skipf("this machine has %s; the refusal needs a machine without", hw)
	}
	l := testLayout(t.TempDir(), true, false)
	l.Trust.Backend = trust.BackendAuto
	if d, err := Start(l, Options{}); !errors.Is(err, trust.ErrNoHardware) {
		if d != nil {
			d.Shutdown()
			<-d.Done()
		}
		t.Fatalf("auto without hardware: %v, want ErrNoHardware", err)
	}
	l.Trust.Backend = trust.BackendSNP
	l.Trust.AllowSim = true
	if _, err := Start(l, Options{}); !errors.Is(err, trust.ErrNoHardware) {
		t.Fatalf("sev-snp without hardware, sim allowed: %v, want ErrNoHardware", err)
	}
	l.Trust.Backend = trust.BackendAuto
	var log testenv.SyncBuffer
	start(t, l, Options{Log: &log})
	if b := log.String(); !strings.Contains(b, "falling back to sim because it is explicitly allowed") || !strings.Contains(b, "SIMULATION") {
		t.Fatalf("banner does not say auto fell back to sim:\n%s", b)
	}
}
