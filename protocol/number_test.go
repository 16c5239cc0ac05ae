package protocol

import "testing"

func TestParseNumbers(t *testing.T) {
	tests := []struct {
		in    string
		u32   uint32
		u32ok bool
		i32   int32
		i32ok bool
		u64   uint64
		u64ok bool
	}{
		{"0", 0, true, 0, true, 0, true},
		{"+5", 5, true, 5, true, 5, true},
		{"-0", 0, true, 0, true, 0, true},
		{"-1", 0, false, -1, true, 0, false},
		{"4294967297", 1, true, 1, true, 4294967297, true},
		{"\t7", 7, true, 7, true, 7, true},
		{"7\t", 7, true, 7, true, 7, true},
		{"7\r", 7, true, 7, true, 7, true},
		{"7x", 0, false, 0, false, 0, false},
		{"", 0, false, 0, false, 0, false},
		{"-", 0, false, 0, false, 0, false},
		{"x", 0, false, 0, false, 0, false},
		{"0x10", 0, false, 0, false, 0, false},
		{"18446744073709551615", 4294967295, true, 0, false, 18446744073709551615, true},
		{"18446744073709551616", 0, false, 0, false, 0, false},
		{"9223372036854775807", 4294967295, true, -1, true, 9223372036854775807, true},
		{"9223372036854775808", 0, true, 0, false, 9223372036854775808, true},
		{"-9223372036854775808", 0, false, 0, true, 0, false},
		// strtoull negates modulo 2^64; memcached only refuses a '-' when
		// the result looks negative.
		{"-18446744073709551615", 1, true, 0, false, 1, true},
	}
	for _, tt := range tests {
		if v, ok := ParseUint32([]byte(tt.in)); v != tt.u32 || ok != tt.u32ok {
			t.Errorf("ParseUint32(%q) = %d, %v; want %d, %v", tt.in, v, ok, tt.u32, tt.u32ok)
		}
		if v, ok := ParseInt32([]byte(tt.in)); v != tt.i32 || ok != tt.i32ok {
			t.Errorf("ParseInt32(%q) = %d, %v; want %d, %v", tt.in, v, ok, tt.i32, tt.i32ok)
		}
		if v, ok := ParseUint64([]byte(tt.in)); v != tt.u64 || ok != tt.u64ok {
			t.Errorf("ParseUint64(%q) = %d, %v; want %d, %v", tt.in, v, ok, tt.u64, tt.u64ok)
		}
	}
}
