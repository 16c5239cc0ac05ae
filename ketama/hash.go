package ketama

import (
	"crypto/md5"
	"fmt"
	"hash/crc32"
)

// Hash names one of libhashkit's key hashes. The modulo distribution uses
// it to turn a key into a number; weighted ketama always uses MD5.
type Hash int

// The hashes libmemcached offers through MEMCACHED_BEHAVIOR_HASH that this
// package reproduces. The names follow libmemcached's.
const (
	HashDefault Hash = iota // Bob Jenkins' one-at-a-time, libmemcached's default
	HashMD5
	HashCRC
	HashFNV1_32
	HashFNV1a_32
	HashFNV1_64
	HashFNV1a_64
)

var hashNames = [...]string{
	HashDefault:  "default",
	HashMD5:      "md5",
	HashCRC:      "crc",
	HashFNV1_32:  "fnv1_32",
	HashFNV1a_32: "fnv1a_32",
	HashFNV1_64:  "fnv1_64",
	HashFNV1a_64: "fnv1a_64",
}

func (h Hash) String() string {
	if h < 0 || int(h) >= len(hashNames) {
		return fmt.Sprintf("Hash(%d)", int(h))
	}
	return hashNames[h]
}

// ParseHash returns the Hash called name (as String prints it).
func ParseHash(name string) (Hash, error) {
	for i, n := range hashNames {
		if n == name {
			return Hash(i), nil
		}
	}
	return 0, fmt.Errorf("ketama: unknown hash %q (want one of %v)", name, hashNames)
}

// signExtend mirrors libhashkit's `(uint32_t) key[x]` on a platform where
// char is signed (x86, the platform whose results we match): bytes above
// 0x7f become 0xffffff80 and up, which changes every hash of such a key.
func signExtend(b byte) uint32 { return uint32(int32(int8(b))) }

// Sum hashes key the way libhashkit's hashkit_digest does for h.
func Sum(h Hash, key []byte) uint32 {
	switch h {
	case HashMD5:
		d := md5.Sum(key)
		return md5Word(&d, 0)
	case HashCRC:
		return (crc32.ChecksumIEEE(key) >> 16) & 0x7fff
	case HashFNV1_32:
		v := uint32(fnv32Offset)
		for _, b := range key {
			v *= fnv32Prime
			v ^= signExtend(b)
		}
		return v
	case HashFNV1a_32:
		v := uint32(fnv32Offset)
		for _, b := range key {
			v ^= signExtend(b)
			v *= fnv32Prime
		}
		return v
	case HashFNV1_64:
		v := uint64(fnv64Offset)
		for _, b := range key {
			v *= fnv64Prime
			v ^= uint64(int64(int8(b)))
		}
		return uint32(v)
	case HashFNV1a_64:
		// libhashkit's "fnv1a_64" runs in 32 bits with the 64-bit
		// constants truncated; reproduce that rather than real FNV-1a-64.
		v := uint32(fnv64Offset & 0xffffffff)
		for _, b := range key {
			v ^= signExtend(b)
			v *= uint32(fnv64Prime & 0xffffffff)
		}
		return v
	default:
		return oneAtATime(key)
	}
}

const (
	fnv32Offset = 2166136261
	fnv32Prime  = 16777619
	fnv64Offset = 0xcbf29ce484222325
	fnv64Prime  = 0x100000001b3
)

func oneAtATime(key []byte) uint32 {
	var v uint32
	for _, b := range key {
		v += signExtend(b)
		v += v << 10
		v ^= v >> 6
	}
	v += v << 3
	v ^= v >> 11
	v += v << 15
	return v
}

// md5Word reads the i-th little-endian 32-bit word of an MD5 digest, which
// is how libmemcached turns a digest into ring points and key hashes.
func md5Word(d *[md5.Size]byte, i int) uint32 {
	return uint32(d[4*i]) | uint32(d[4*i+1])<<8 | uint32(d[4*i+2])<<16 | uint32(d[4*i+3])<<24
}
