package ketama

import (
	"crypto/md5"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
)

// Server is one cache server as the distribution sees it.
type Server struct {
	// Addr is "host:port". The host is used exactly as written (libmemcached
	// hashes the name it was given, not a resolved address), so every client
	// must spell a server the same way.
	Addr string
	// Weight scales the server's share of the ring; it must be at least 1.
	Weight uint32
}

// Picker maps a key to the index of a server in the list it was built from.
type Picker interface {
	Pick(key []byte) int
}

// ErrNoServers is returned when a distribution is built over no servers.
var ErrNoServers = errors.New("ketama: no servers")

// pointsPerServer is MEMCACHED_POINTS_PER_SERVER_KETAMA; libmemcached
// hands out points in groups of four, one per 32-bit word of an MD5 digest.
const (
	pointsPerServer = 160
	pointsPerHash   = 4
	defaultPort     = 11211
)

type point struct {
	value uint32
	index int
}

// Ring is libmemcached's weighted ketama continuum
// (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED). It is immutable and safe for
// concurrent use.
type Ring struct {
	points []point
	n      int
	hash   Hash
}

// NewRing builds the continuum for servers. Indexes returned by Pick are
// positions in servers.
func NewRing(servers []Server) (*Ring, error) {
	if len(servers) == 0 {
		return nil, ErrNoServers
	}
	var total uint64
	for _, s := range servers {
		if s.Weight == 0 {
			return nil, fmt.Errorf("ketama: server %s: weight must be at least 1", s.Addr)
		}
		total += uint64(s.Weight)
	}
	live := len(servers)
	r := &Ring{n: live, hash: HashMD5}
	for i, s := range servers {
		host, port, err := splitHostPort(s.Addr)
		if err != nil {
			return nil, err
		}
		n := serverPoints(s.Weight, total, live)
		for j := 0; j < n/pointsPerHash; j++ {
			d := md5.Sum([]byte(pointName(host, port, j)))
			for w := range pointsPerHash {
				r.points = append(r.points, point{value: md5Word(&d, w), index: i})
			}
		}
	}
	r.sort()
	return r, nil
}

// unweightedPoints is MEMCACHED_POINTS_PER_SERVER.
const unweightedPoints = 100

// NewRingUnweighted builds libmemcached's plain ketama continuum
// (MEMCACHED_BEHAVIOR_KETAMA): 100 points per server, each the hash h of
// the server's "host:port-N" name, and keys hashed with h too. libmemcached
// switches to the weighted ring as soon as a server has a weight above 1,
// so weights are refused here.
func NewRingUnweighted(servers []Server, h Hash) (*Ring, error) {
	if len(servers) == 0 {
		return nil, ErrNoServers
	}
	if h < 0 || int(h) >= len(hashNames) {
		return nil, fmt.Errorf("ketama: unknown hash %d", int(h))
	}
	r := &Ring{n: len(servers), hash: h}
	for i, s := range servers {
		if s.Weight > 1 {
			return nil, fmt.Errorf("ketama: server %s: unweighted ring with weight %d (use NewRing)", s.Addr, s.Weight)
		}
		host, port, err := splitHostPort(s.Addr)
		if err != nil {
			return nil, err
		}
		for j := range unweightedPoints {
			r.points = append(r.points, point{value: Sum(h, []byte(pointName(host, port, j))), index: i})
		}
	}
	r.sort()
	return r, nil
}

// pointName is the name libmemcached hashes for a server's j-th point:
// "host-j" on the default port, "host:port-j" otherwise.
func pointName(host string, port, j int) string {
	if port == defaultPort {
		return host + "-" + strconv.Itoa(j)
	}
	return host + ":" + strconv.Itoa(port) + "-" + strconv.Itoa(j)
}

// sort orders the continuum as libmemcached's qsort does: by value, then
// by server index.
func (r *Ring) sort() {
	slices.SortFunc(r.points, func(a, b point) int {
		if a.value != b.value {
			if a.value < b.value {
				return -1
			}
			return 1
		}
		return a.index - b.index
	})
}

// serverPoints reproduces libmemcached's float32 arithmetic for a server's
// share of points: floor(weight/total * 160/4 * live + 1e-10) * 4. Each step
// is converted to float32 on purpose, so the Go compiler cannot fuse or
// widen anything and a weight list rounds exactly as it does in C.
func serverPoints(weight uint32, total uint64, live int) int {
	pct := float32(weight) / float32(total)
	x := float32(pct * float32(pointsPerServer))
	x = float32(x / float32(pointsPerHash))
	x = float32(x * float32(live))
	x = float32(x + float32(0.0000000001))
	return int(uint32(float32(math.Floor(float64(x))) * pointsPerHash))
}

func splitHostPort(addr string) (string, int, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("ketama: server %q: %w", addr, err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("ketama: server %q: bad port", addr)
	}
	return host, port, nil
}

// Pick returns the server for key: the first point at or after the key's
// hash (MD5 for the weighted ring), wrapping to the first point.
func (r *Ring) Pick(key []byte) int {
	if r.n == 1 || len(r.points) == 0 {
		return 0
	}
	h := Sum(r.hash, key)
	i, _ := slices.BinarySearchFunc(r.points, h, func(p point, h uint32) int {
		if p.value < h {
			return -1
		}
		return 1
	})
	if i == len(r.points) {
		i = 0
	}
	return r.points[i].index
}

// Len is the number of servers the ring was built over.
func (r *Ring) Len() int { return r.n }

// Modulo is libmemcached's MEMCACHED_DISTRIBUTION_MODULA and the thesis's
// hash-modulo mode: hash(key) mod the number of servers. Like libmemcached
// it ignores weights.
type Modulo struct {
	n    int
	hash Hash
}

// NewModulo returns a modulo distribution over n servers using hash h.
func NewModulo(n int, h Hash) (*Modulo, error) {
	if n <= 0 {
		return nil, ErrNoServers
	}
	if h < 0 || int(h) >= len(hashNames) {
		return nil, fmt.Errorf("ketama: unknown hash %d", int(h))
	}
	return &Modulo{n: n, hash: h}, nil
}

// Pick returns hash(key) mod n.
func (m *Modulo) Pick(key []byte) int {
	if m.n == 1 {
		return 0
	}
	return int(Sum(m.hash, key) % uint32(m.n))
}

// Len is the number of servers.
func (m *Modulo) Len() int { return m.n }
