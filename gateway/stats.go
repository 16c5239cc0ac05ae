package gateway

// GroupStats are a gateway group's counters as memcached's "stats" reports
// them for its listener and workers: the cache agent a group relays to
// shows them (threads, rejected_connections, idle_kicks). They are the
// untrusted gateway's own counts; nothing in them comes from a client's
// data.
type GroupStats struct {
	Relays    int    // gateways in the group: memcached's worker threads
	Rejected  uint64 // clients refused at -c (maxconns_fast)
	IdleKicks uint64 // clients closed at idle_timeout
}

// SumStats adds up the groups of the given gateways that relay to the
// cache agent named backend, each group once.
func SumStats(gateways []*Agent, backend string) GroupStats {
	var s GroupStats
	seen := map[*group]bool{}
	for _, g := range gateways {
		if g.grp == nil || g.backend.Name != backend || seen[g.grp] {
			continue
		}
		seen[g.grp] = true
		s.Relays += int(g.grp.size.Load())
		s.Rejected += g.grp.rejected.Load()
		s.IdleKicks += g.grp.idleKicks.Load()
	}
	return s
}
