package config

import (
	"errors"
	"os"
	"strconv"
	"strings"
)

// errSizeSyntax says what a size looks like; ParseSize wraps it.
var errSizeSyntax = errors.New("want a number of bytes with an optional k or m suffix, such as 1m or 512k")

// ParseSize reads memcached's -I syntax: a byte count, optionally followed by
// k or m (either case) for KiB or MiB. Unlike memcached's atoi we refuse
// trailing junk, so a typo is reported instead of silently becoming a tiny size.
func ParseSize(s string) (int, error) {
	s = strings.TrimSpace(s)
	mult := 1
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, s = 1<<10, s[:n-1]
		case 'm', 'M':
			mult, s = 1<<20, s[:n-1]
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, errSizeSyntax
	}
	if v > (1<<40)/int64(mult) {
		return 0, errors.New("size is too large")
	}
	return int(v) * mult, nil
}

// fileMode turns a validated octal mask into permission bits.
func fileMode(mask uint64) os.FileMode { return os.FileMode(mask) & os.ModePerm }
