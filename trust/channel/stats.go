package channel

import "sync/atomic"

// Stats counts a channel's records. Refusals are by reason.
type Stats struct {
	Sealed    uint64
	Opened    uint64
	Rekeys    uint64 // key ratchets, both directions
	Malformed uint64
	Tampered  uint64
	Replayed  uint64
	Gaps      uint64
	Broken    uint64 // records refused because the direction was already broken
}

// Refused is the total of all refusals.
func (s Stats) Refused() uint64 {
	return s.Malformed + s.Tampered + s.Replayed + s.Gaps + s.Broken
}

type counters struct {
	sealed, opened, rekeys                           atomic.Uint64
	malformed, tampered, replayed, gaps, brokenCount atomic.Uint64
}

func (k *counters) count(err error) {
	switch err {
	case ErrMalformed:
		k.malformed.Add(1)
	case ErrTampered:
		k.tampered.Add(1)
	case ErrReplay:
		k.replayed.Add(1)
	case ErrGap:
		k.gaps.Add(1)
	case ErrBroken:
		k.brokenCount.Add(1)
	}
}

// Stats returns a snapshot of the channel's counters. Safe to call from
// any goroutine.
func (c *Channel) Stats() Stats {
	k := &c.stats
	return Stats{
		Sealed: k.sealed.Load(), Opened: k.opened.Load(), Rekeys: k.rekeys.Load(),
		Malformed: k.malformed.Load(), Tampered: k.tampered.Load(), Replayed: k.replayed.Load(),
		Gaps: k.gaps.Load(), Broken: k.brokenCount.Load(),
	}
}
