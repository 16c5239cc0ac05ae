package diggi

import (
	"fmt"
	"testing"
)

func dumpInstance(t *testing.T, in *Instance) {
	for _, a := range in.agents {
		st := a.ctx.mm.Stats()
		a.ctx.sched.mu.Lock()
		fmt.Printf("%s: stats=%+v in=%d out=%d armed=%v moverWaiting=%v senderWaiting=%v inReady=%v overflow=%d held=%v tasks=%d ready=%d parked=%d draining=%v\n",
			a.ctx.info.Name, st, a.ep.in.len(), a.ep.out.len(), a.ep.armed.Load(), a.ep.moverWaiting.Load(), a.ep.senderWaiting.Load(), a.ep.inReady.Load(), len(a.ep.overflow),
			a.ctx.sched.held, a.ctx.sched.tasks.size, len(a.ctx.sched.ready), len(a.ctx.sched.parked), a.ctx.mm.draining)
		a.ctx.sched.mu.Unlock()
	}
}
