package proctime

import (
	"syscall"
	"time"
)

// Times returns the user and system CPU time of the whole process.
func Times() (user, system time.Duration, err error) {
	h, err := syscall.GetCurrentProcess()
	if err != nil {
		return 0, 0, err
	}
	var creation, exit, kernel, usr syscall.Filetime
	if err := syscall.GetProcessTimes(h, &creation, &exit, &kernel, &usr); err != nil {
		return 0, 0, err
	}
	return intervals(usr), intervals(kernel), nil
}

// intervals reads a FILETIME that holds a duration (100 ns intervals), not
// a date.
func intervals(f syscall.Filetime) time.Duration {
	return time.Duration(uint64(f.HighDateTime)<<32|uint64(f.LowDateTime)) * 100
}
