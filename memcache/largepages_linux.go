package memcache

import (
	"fmt"
	"syscall"
)

// adviseHugePages asks for transparent huge pages on b, which must be
// aligned to hugePageSize. With THP in "madvise" mode (Debian's default)
// only advised memory gets them.
func adviseHugePages(b []byte) error {
	if err := syscall.Madvise(b, syscall.MADV_HUGEPAGE); err != nil {
		return fmt.Errorf("madvise(MADV_HUGEPAGE): %w", err)
	}
	return nil
}
