// Package experiments runs the thesis's in-process experiments (§5.2,
// Figure 5.1): N YCSB client agents and one SecureCached cache agent in one
// Diggi instance, the clients reaching the cache over Diggi sockets through
// package client, trusted (every agent in a simulated enclave, every
// message between them encrypted) or untrusted.
//
// It sits above diggi, cacheagent, client and ycsb: client and ycsb know
// nothing of Diggi; a YCSB client agent gives client a Diggi socket dialer
// (netconn.Dialer) as its DialFunc and drives ycsb's plan with it.
//
// A phase is a ycsb.Plan shared by the client agents: each agent runs its
// clients' shares on goroutines of its own (blocking Go code outside the
// agent's baton; the Diggi sockets take the baton per operation) and the
// plan merges their measurements. With the thesis's coordination (§5.1.1)
// client agent 0 loads the records alone, then tells the other agents to
// start by a Diggi message.
package experiments
