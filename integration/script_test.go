package integration

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A session script (integration/testdata/*.script) is a readable list of
// requests; the harness runs it against Debian's memcached and securecached
// and compares what they answered. One directive per line:
//
//	# comment                    ignored (so are blank lines)
//	flags: -I 2m -C              extra server flags, before the first step
//	conn: NAME                   switch to connection NAME (opened on first use; default "main")
//	> TEXT                       send TEXT + "\r\n", then sync
//	>+ TEXT                      send TEXT + "\r\n" without syncing (pipelined with what follows)
//	>- TEXT                      send TEXT as is (no "\r\n"), then sync
//	>-+ TEXT                     send TEXT as is, without syncing
//	b> OP k=v ...                send a binary request (see parseBinRequest), then sync
//	b>+ OP k=v ...               the same without syncing
//	eof                          read until the server closes the connection
//	sleep: 2s                    pause (memcached's clock moves in whole seconds)
//
// TEXT escapes: \r \n \t \\ \xHH, ${rep:C:N} (byte C repeated N times), and
// $casN, the CAS value this server gave N-th (in first-seen order, counted
// from 1), so a script can use CAS without knowing either server's numbering.
//
// Syncing sends a no-op (text "mn", binary NOOP) after the request and reads
// until its answer, so every response is complete and attributed to its line.
type script struct {
	name  string
	flags []string
	steps []step
}

type stepKind uint8

const (
	stepSend stepKind = iota
	stepEOF
	stepSleep
)

type step struct {
	line   int
	src    string // the script line, for messages
	conn   string
	kind   stepKind
	binary bool
	sync   bool
	crlf   bool
	body   string // text template, or the binary request fields
	sleep  time.Duration
}

func loadScripts(pattern string) ([]script, error) {
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var out []script
	for _, f := range files {
		s, err := loadScript(f)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func loadScript(path string) (script, error) {
	f, err := os.Open(path)
	if err != nil {
		return script{}, err
	}
	defer f.Close()
	sc := script{name: strings.TrimSuffix(filepath.Base(path), ".script")}
	conn := "main"
	in := bufio.NewScanner(f)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; in.Scan(); n++ {
		line := in.Text()
		trimmed := strings.TrimSpace(line)
		st := step{line: n, src: line, conn: conn}
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			continue
		case strings.HasPrefix(line, "flags:"):
			if len(sc.steps) > 0 {
				return sc, fmt.Errorf("%s:%d: flags: must come before the first step", path, n)
			}
			sc.flags = append(sc.flags, strings.Fields(strings.TrimPrefix(line, "flags:"))...)
			continue
		case strings.HasPrefix(line, "conn:"):
			conn = strings.TrimSpace(strings.TrimPrefix(line, "conn:"))
			if conn == "" {
				return sc, fmt.Errorf("%s:%d: conn: needs a name", path, n)
			}
			continue
		case trimmed == "eof":
			st.kind = stepEOF
		case strings.HasPrefix(line, "sleep:"):
			d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(line, "sleep:")))
			if err != nil {
				return sc, fmt.Errorf("%s:%d: %v", path, n, err)
			}
			st.kind, st.sleep = stepSleep, d
		default:
			prefix, rest, ok := strings.Cut(line, " ")
			if !ok {
				prefix, rest = line, ""
			}
			switch prefix {
			case ">":
				st.sync, st.crlf = true, true
			case ">+":
				st.crlf = true
			case ">-":
				st.sync = true
			case ">-+":
			case "b>":
				st.binary, st.sync = true, true
			case "b>+":
				st.binary = true
			default:
				return sc, fmt.Errorf("%s:%d: unknown directive %q", path, n, line)
			}
			st.body = rest
		}
		sc.steps = append(sc.steps, st)
	}
	if err := in.Err(); err != nil {
		return sc, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// expand applies the text escapes. cas maps a $casN index to this server's
// CAS value.
func expand(s string, cas func(n int) (uint64, error)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'r':
				b.WriteByte('\r')
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '\\':
				b.WriteByte('\\')
			case 'x':
				if i+2 >= len(s) {
					return "", fmt.Errorf("short \\x escape in %q", s)
				}
				v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
				if err != nil {
					return "", fmt.Errorf("bad \\x escape in %q", s)
				}
				b.WriteByte(byte(v))
				i += 2
			default:
				return "", fmt.Errorf("unknown escape \\%c in %q", s[i], s)
			}
		case strings.HasPrefix(s[i:], "${rep:"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${rep:...} in %q", s)
			}
			parts := strings.SplitN(s[i+len("${rep:"):i+end], ":", 2)
			if len(parts) != 2 || len(parts[0]) != 1 {
				return "", fmt.Errorf("bad ${rep:C:N} in %q", s)
			}
			n, err := strconv.Atoi(parts[1])
			if err != nil || n < 0 || n > 64<<20 {
				return "", fmt.Errorf("bad repeat count in %q", s)
			}
			b.WriteString(strings.Repeat(parts[0], n))
			i += end
		case strings.HasPrefix(s[i:], "$cas"):
			j := i + len("$cas")
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			n, err := strconv.Atoi(s[i+len("$cas") : j])
			if err != nil {
				return "", fmt.Errorf("bad $casN in %q", s)
			}
			v, err := cas(n)
			if err != nil {
				return "", err
			}
			b.WriteString(strconv.FormatUint(v, 10))
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
