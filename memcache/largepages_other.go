//go:build !linux

package memcache

import "errors"

// adviseHugePages is Linux's transparent huge page hint; elsewhere -L still
// allocates -m as one chunk, with the system's default page size.
func adviseHugePages([]byte) error {
	return errors.New("transparent huge pages are a Linux feature")
}
