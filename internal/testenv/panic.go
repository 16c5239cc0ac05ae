package testenv

import "testing"

// MustPanic fails t unless f panics: for the misuses an API refuses by
// panicking (a buffer released twice, overlapping seal buffers).
func MustPanic(t testing.TB, what string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}
