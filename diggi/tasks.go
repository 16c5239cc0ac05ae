package diggi

// taskQueue is a growable FIFO ring of tasks. It is only touched under the
// scheduler's mutex.
type taskQueue struct {
	buf        []func()
	head, size int
}

func (q *taskQueue) grow() {
	n := 2 * len(q.buf)
	if n == 0 {
		n = 16
	}
	nb := make([]func(), n)
	for i := 0; i < q.size; i++ {
		nb[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = nb, 0
}

func (q *taskQueue) push(t func()) {
	if q.size == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.size)%len(q.buf)] = t
	q.size++
}

func (q *taskQueue) pop() (func(), bool) {
	if q.size == 0 {
		return nil, false
	}
	t := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return t, true
}

func (q *taskQueue) empty() bool { return q.size == 0 }
