package protocol

import "bytes"

// tokens holds a command line split the way memcached's tokenize_command
// splits it: on single spaces only (tabs belong to tokens), empty tokens
// skipped.
type tokens struct {
	all [][]byte
}

// split tokenizes line into t, reusing t's storage. Memcached treats the line
// as a C string, so everything from the first NUL byte on is ignored.
func (t *tokens) split(line []byte) {
	if i := bytes.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	t.all = t.all[:0]
	start := -1
	for i, b := range line {
		if b == ' ' {
			if start >= 0 {
				t.all = append(t.all, line[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		t.all = append(t.all, line[start:])
	}
}

// ntokens is memcached's token count for the line: the tokens it splits off
// (at most MaxTokens-1) plus the terminal slot.
func (t *tokens) ntokens() int {
	n := len(t.all)
	if n > MaxTokens-1 {
		n = MaxTokens - 1
	}
	return n + 1
}

// at returns token i of the first MaxTokens-1, or nil where memcached's token
// array holds the terminal (or a value past it, which it never reads).
func (t *tokens) at(i int) []byte {
	if i < 0 || i >= len(t.all) || i >= MaxTokens-1 {
		return nil
	}
	return t.all[i]
}
