//go:build race

package testenv

// raceEnabled: tests built with -race also build securecached with -race,
// so the real server under real clients is checked for data races too.
const raceEnabled = true
