// Package testsim sets up the sim trust backend for tests outside package
// trust: a fresh sim root, a platform it certifies, and a backend that
// launches enclaves on that platform, plus the policy that accepts them.
package testsim
