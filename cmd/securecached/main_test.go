package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunExitsEarly(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"-h"}, 0, "--max-item-size", ""},
		{[]string{"-V"}, 0, "securecached 0.1.0 (memcached 1.6 compatible)\n", ""},
		{[]string{"-B", "http"}, exitUsage, "", "Invalid value for binding protocol: http"},
		{[]string{"-I", "200m", "-m", "1024", "-l", "127.0.0.1:0"}, exitUsage, "", "cannot exceed"},
		{[]string{"-Y", "/nonexistent/auth", "-l", "127.0.0.1:0"}, exitOSErr, "", "could not load auth file"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(tt.args, &out, &errb)
		if code != tt.code {
			t.Errorf("run(%v) = %d, want %d (stderr %q)", tt.args, code, tt.code, errb.String())
		}
		if !strings.Contains(out.String(), tt.out) || !strings.Contains(errb.String(), tt.err) {
			t.Errorf("run(%v): stdout %q stderr %q, want %q / %q", tt.args, out.String(), errb.String(), tt.out, tt.err)
		}
	}
}
