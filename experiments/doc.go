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
// A phase is a ycsb.Plan shared by the client agents, run in one of two
// client models. YCSB's (Setup.Threads): each agent runs its clients'
// shares on goroutines of its own (blocking Go code outside the agent's
// baton; the Diggi sockets take the baton per operation), one outstanding
// request per client. The pipelined model (Setup.Window, the thesis's
// asynchronous client): each agent runs one ycsb.Pipeline from its own
// event loop on a raw diggi/posix socket, keeping Window transactions
// outstanding; the requests of every transaction started while handling
// one batch of responses go out in one write, so a Diggi message carries
// many operations each way, and every response is matched to its request
// and checked (pipecodec.go). Either way the plan merges the clients'
// measurements. With the thesis's coordination (§5.1.1)
// client agent 0 loads the records alone, then tells the other agents to
// start by a Diggi message.
package experiments
