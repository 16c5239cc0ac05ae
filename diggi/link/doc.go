// Package link carries Diggi messages between two instances (thesis §3.3):
// one long-lived, mutually authenticated TLS 1.3 connection per instance
// pair, whose certificates carry each instance's attestation evidence
// (RA-TLS, bound to the TLS key) and which is admitted only if the peer's
// evidence satisfies the cluster's policy (Trust). With Trust.CA the
// certificates are instead those an attestation-gated CA issued for each
// instance's name, and the chain to the CA stands for the CA's check of
// the instance's evidence. Inside the session a message whose source is
// not an agent of the peer instance is refused.
//
// On the connection, length-prefixed frames carry Diggi messages, many per
// write, plus per-destination credit and the membership layer's packets;
// the TLS records of one round of the writer reach the socket in one
// write (batch.go).
// Each remote agent is a diggi.RemoteAgent in the local routing table; the
// link's writer pops its queue only while it holds credit for that agent,
// and the receiving side returns credit as its mover takes messages from
// the diggi.Import for the destination. A slow agent therefore exhausts
// only its own credit: other agents sharing the link go on (no
// head-of-line blocking), and each sender's messages keep their order.
//
// The link never opens or seals agent payloads: two trusted agents keep
// their own attested channel end to end, and the link's TLS is an extra
// layer against outsiders. Nothing is retransmitted: when a connection
// fails, what it had not delivered is bounced (a request gets the
// runtime's error response), so nothing arrives twice or out of order.
//
// This package knows nothing about memcached or about membership; the
// cluster package dials, accepts and decides which peers exist.
package link
