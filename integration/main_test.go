package integration

import (
	"os"
	"testing"

	"github.com/securecached/securecached/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Cleanup()
	os.Exit(code)
}
