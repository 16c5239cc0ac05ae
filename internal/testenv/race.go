package testenv

// RaceEnabled reports whether the tests, and so the securecached binary
// they build, run with the race detector, whose shadow memory multiplies
// the server's: tests that bound its memory allow for it.
func RaceEnabled() bool { return raceEnabled }
