package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/securecached/securecached/trust"
)

// ErrStatePermissions is wrapped by the error Start returns when the state
// directory or a key file in it is open to other users.
var ErrStatePermissions = errors.New("state directory permissions")

// checkStateDir refuses a key file that users other than its owner can
// read, and a state directory they can write: the files are the sim
// platform's signing key and seal secret, and whoever reads them, or
// replaces them, can forge evidence and unseal data. A directory others
// may list but not change is accepted with a warning (the files in it are
// 0600; that is what a umask of 022 and systemd's default
// StateDirectoryMode give): 0700 is recommended. It names the path and the mode to set rather than
// tightening the mode itself: a loose mode means the files may already
// have leaked or been replaced, which the operator must know. Windows has
// no such mode bits; there the check is skipped.
func checkStateDir(dir string) (warning string, err error) {
	if runtime.GOOS == "windows" {
		return "", nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("state directory: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return "", fmt.Errorf("%w: state directory %s is mode %04o, writable by other users, who could replace the platform's keys; it must be mode 0700 (chmod 700 %s; under systemd, StateDirectoryMode=0700)",
			ErrStatePermissions, dir, perm, dir)
	}
	for _, name := range []string{trust.SimRootFile, trust.PlatformFile} {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // created 0600 on first start
		}
		if err != nil {
			return "", fmt.Errorf("state directory: %w", err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			return "", fmt.Errorf("%w: key file %s is mode %04o, readable by other users; it must be mode 0600 (chmod 600 %s), and a key that was readable may have leaked",
				ErrStatePermissions, path, perm, path)
		}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Sprintf("WARNING: state directory %s is mode %04o: other users can list it; 0700 is recommended (chmod 700 %s)", dir, perm, dir), nil
	}
	return "", nil
}
