package protocol

import "bytes"

// tokens holds a command line split the way memcached's tokenize_command
// splits it: on single spaces only (tabs belong to tokens), empty tokens
// skipped.
type tokens struct {
	all [][]byte
}

// split tokenizes line into t, reusing t's storage.
func (t *tokens) split(line []byte) {
	t.all = t.all[:0]
	for tok, rest := nextToken(cString(line)); tok != nil; tok, rest = nextToken(rest) {
		t.all = append(t.all, tok)
	}
}

// cString is line as memcached sees a command line, a C string: everything
// from the first NUL byte on is ignored.
func cString(line []byte) []byte {
	if i := bytes.IndexByte(line, 0); i >= 0 {
		return line[:i]
	}
	return line
}

// nextToken splits the first token off s, as tokenize_command does: tokens
// are separated by single spaces, and empty tokens are skipped. It returns
// nil at the end.
func nextToken(s []byte) (tok, rest []byte) {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i == len(s) {
		return nil, nil
	}
	j := i
	for j < len(s) && s[j] != ' ' {
		j++
	}
	if j == len(s) {
		return s[i:], nil
	}
	return s[i:j], s[j+1:]
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
