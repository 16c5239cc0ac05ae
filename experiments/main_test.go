package experiments

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// trustModes are the two deployments every in-process test covers.
var trustModes = []struct {
	name    string
	trusted bool
}{{"trusted", true}, {"untrusted", false}}
