// Package cluster makes Diggi instances into a cluster (thesis §3.1): it
// listens for links (diggi/link), keeps membership and failure detection
// with hashicorp/memberlist, and keeps one link up to every live member.
//
// Memberlist's traffic never leaves the authenticated links: its packets
// are frames of the member's link and its streams are TLS connections
// admitted by the same attestation policy (see transport), so an instance
// the policy refuses cannot join, probe or gossip. Of each pair of
// members, the one with the smaller instance name dials the link and
// redials it with backoff while the other stays alive; a member declared
// dead loses its link and its agents leave the directory, so the
// directory (discovery by name and kind) spans the live members.
//
// This package must never import memcached code or the trust layers above
// trust/ratls.
package cluster
