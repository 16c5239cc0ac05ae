package server

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/trust"
)

func TestCheckStateDirRefusesLoosePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix mode bits")
	}
	tests := []struct {
		name     string
		dirMode  os.FileMode
		file     string
		fileMode os.FileMode
		want     string // "" accepted, else part of the error
	}{
		{"private and empty", 0o700, "", 0, ""},
		{"private with keys", 0o700, trust.PlatformFile, 0o600, ""},
		{"directory others may list", 0o755, trust.PlatformFile, 0o600, "warn"},
		{"directory writable by others", 0o757, "", 0, "must be mode 0700"},
		{"directory writable by the group", 0o770, "", 0, "mode 0770"},
		{"platform key readable", 0o700, trust.PlatformFile, 0o644, "must be mode 0600"},
		{"sim root group-readable", 0o700, trust.SimRootFile, 0o640, trust.SimRootFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if tt.file != "" {
				p := filepath.Join(dir, tt.file)
				if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
				os.Chmod(p, tt.fileMode)
			}
			os.Chmod(dir, tt.dirMode)
			warning, err := checkStateDir(dir)
			switch {
			case tt.want == "warn":
				if err != nil || !strings.Contains(warning, "0700 is recommended") || !strings.Contains(warning, dir) {
					t.Errorf("warning %q, error %v; want a warning naming %s", warning, err, dir)
				}
			case tt.want == "" && (err != nil || warning != ""):
				t.Errorf("refused or warned: %v %q", err, warning)
			case tt.want != "" && (err == nil || !errors.Is(err, ErrStatePermissions) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want ErrStatePermissions mentioning %q", err, tt.want)
			}
		})
	}
}

func TestStartRefusesOpenStateDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix mode bits")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	args := []string{"-l", "127.0.0.1", "-p", "0"}
	set, err := config.Parse(args)
	if err != nil {
		t.Fatal(err)
	}
	l := DefaultLayout(args, set, false, dir)
	d, err := Start(l, Options{})
	if err == nil {
		d.Shutdown()
		t.Fatal("started with a state directory writable by everyone")
	}
	if !errors.Is(err, ErrStatePermissions) || !strings.Contains(err.Error(), dir) {
		t.Errorf("error %v does not name %s", err, dir)
	}
}
