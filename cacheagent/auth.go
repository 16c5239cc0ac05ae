package cacheagent

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"os"
)

// authFile is memcached's -Y file: one "user:password" per line.
type authFile struct {
	entries []authEntry
}

type authEntry struct{ user, pass []byte }

// loadAuthFile reads and checks the -Y file; memcached refuses to start when
// it cannot, and so does the agent.
func loadAuthFile(path string) (*authFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("could not load auth file: %w", err)
	}
	a := &authFile{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		user, pass, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(user) == 0 {
			return nil, fmt.Errorf("auth file %s line %d: want user:password", path, i+1)
		}
		a.entries = append(a.entries, authEntry{user: user, pass: pass})
	}
	if len(a.entries) == 0 {
		return nil, fmt.Errorf("auth file %s: no user:password entries", path)
	}
	return a, nil
}

// check compares in constant time per entry, so a wrong password does not
// reveal how much of it matched.
func (a *authFile) check(user, pass []byte) bool {
	ok := 0
	for _, e := range a.entries {
		u := subtle.ConstantTimeCompare(e.user, user)
		p := subtle.ConstantTimeCompare(e.pass, pass)
		ok |= u & p
	}
	return ok == 1
}
