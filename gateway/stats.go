package gateway

// GroupStats are gateway groups' counters as memcached's "stats" reports
// them for its listener and workers: the cache agent a group relays to
// shows them (threads, rejected_connections, idle_kicks). They are the
// untrusted gateway's own counts; nothing in them comes from a client's
// data.
type GroupStats struct {
	Relays    int    // gateways in the group: memcached's worker threads
	Rejected  uint64 // clients refused at -c (maxconns_fast)
	IdleKicks uint64 // clients closed at idle_timeout
}

// SumStats adds up the counts of the given gateways that relay to the
// cache agent named backend: each gateway is one relay.
func SumStats(gateways []*Agent, backend string) GroupStats {
	var s GroupStats
	for _, g := range gateways {
		if g.backend.Name != backend {
			continue
		}
		s.Relays++
		s.Rejected += g.rejected.Load()
		s.IdleKicks += g.idleKicks.Load()
	}
	return s
}
