package cluster

// kill stops a node the way kill -9 stops its process: membership ends
// without a leave message, and every connection and the listener close at
// once.
func (n *Node) kill() { _ = n.stop(false) }
