package conn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func authTranscripts() []transcript {
	return []transcript{
		// Within one batch of input each authentication-phase reply
		// replaces the previous one, as in memcached.
		{name: "unauthenticated", whole: true, in: "get k\r\nversion\r\n", want: "CLIENT_ERROR unauthenticated\r\n"},
		{name: "unauthenticated alone", in: "get k\r\n", want: "CLIENT_ERROR unauthenticated\r\n"},
		{name: "login", in: "set x 0 0 12\r\nalice secret\r\nversion\r\n", want: "STORED\r\nVERSION 1.6.18\r\n"},
		{name: "bad password", in: "set x 0 0 11\r\nalice wrong\r\n", want: "CLIENT_ERROR authentication failure\r\n"},
		{name: "bad password then command", whole: true, in: "set x 0 0 11\r\nalice wrong\r\nget k\r\n",
			want: "CLIENT_ERROR unauthenticated\r\n"},
		{name: "bad token format", in: "set x 0 0 5\r\nalice\r\n", want: "CLIENT_ERROR bad authentication token format\r\n"},
		{name: "bad termination", in: "set x 0 0 5\r\nalicexx", want: "CLIENT_ERROR bad command line termination\r\n"},
		{name: "short set", in: "set x 0 0\r\n", want: "CLIENT_ERROR unauthenticated\r\n"},
		{name: "junk closes", in: strings.Repeat("x", 2100), want: "", closed: true},
		{name: "binary refused", in: breq(0x0a, "", "", ""), want: "CLIENT_ERROR unauthenticated\r\n"},
	}
}

func TestASCIIAuth(t *testing.T) {
	runTranscripts(t, Settings{ASCIIAuth: true}, authTranscripts())
	r := newRig(t, Settings{ASCIIAuth: true})
	r.run("set x 0 0 12\r\nalice secret\r\nset x 0 0 11\r\nalice wrong\r\n", 0)
	if r.shared.AuthCmds.Load() != 1 || r.shared.AuthErrors.Load() != 0 {
		t.Fatalf("auth_cmds=%d auth_errors=%d after one login", r.shared.AuthCmds.Load(), r.shared.AuthErrors.Load())
	}
}

func TestASCIIAuthMatchesMemcached(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memcached")
	}
	file := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(file, []byte("alice:secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// memcached drops to user nobody before reading the file.
	os.Chmod(filepath.Dir(file), 0o755)
	os.Chmod(filepath.Dir(filepath.Dir(file)), 0o755)
	addr := refServer(t, "-Y", file)
	for _, tt := range authTranscripts() {
		t.Run(tt.name, func(t *testing.T) {
			got, closed := refRun(t, addr, tt.in)
			if got != tt.want || closed != tt.closed {
				t.Fatalf("memcached:\ngot  %q closed=%v\nwant %q closed=%v", got, closed, tt.want, tt.closed)
			}
		})
	}
}
