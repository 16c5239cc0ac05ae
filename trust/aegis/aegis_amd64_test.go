//go:build amd64 && !purego

package aegis

import (
	"testing"
	"unsafe"
)

// The assembly addresses asmBlocks by hard-coded offsets.
func TestAsmBlocksLayout(t *testing.T) {
	var b asmBlocks
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"adTail", unsafe.Offsetof(b.adTail), 0},
		{"msgTail", unsafe.Offsetof(b.msgTail), 32},
		{"lens", unsafe.Offsetof(b.lens), 64},
		{"adTailLen", unsafe.Offsetof(b.adTailLen), 80},
		{"msgTailLen", unsafe.Offsetof(b.msgTailLen), 88},
		{"mid", unsafe.Offsetof(b.mid), 96},
		{"midLen", unsafe.Offsetof(b.midLen), 128},
	} {
		if f.got != f.want {
			t.Errorf("asmBlocks.%s at offset %d, aegis_amd64.s expects %d", f.name, f.got, f.want)
		}
	}
}
