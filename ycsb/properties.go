package ycsb

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Properties is a YCSB property set: the contents of a workload file (-P)
// with command-line overrides (-p name=value) applied on top.
type Properties map[string]string

// maxPropertyLine bounds one logical line of a property file, so a file
// without newlines cannot make the parser buffer without limit.
const maxPropertyLine = 1 << 20

// ParseProperties reads a Java .properties file: "key=value", "key: value"
// or "key value" lines, '#' and '!' comments, and lines continued with a
// trailing backslash. It is the subset of java.util.Properties that YCSB's
// workload files use, plus the common escapes (\t \n \\ \= \:).
func ParseProperties(r io.Reader) (Properties, error) {
	p := Properties{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxPropertyLine)
	var logical strings.Builder
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if logical.Len() == 0 {
			trimmed := strings.TrimLeft(line, " \t\f")
			if trimmed == "" || trimmed[0] == '#' || trimmed[0] == '!' {
				continue
			}
			line = trimmed
		} else {
			line = strings.TrimLeft(line, " \t\f")
		}
		if continues(line) {
			logical.WriteString(line[:len(line)-1])
			if logical.Len() > maxPropertyLine {
				return nil, fmt.Errorf("properties: line %d: continued line longer than %d bytes", lineNo, maxPropertyLine)
			}
			continue
		}
		logical.WriteString(line)
		k, v := splitProperty(logical.String())
		logical.Reset()
		p[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("properties: line %d: %w", lineNo+1, err)
	}
	if logical.Len() > 0 {
		k, v := splitProperty(logical.String())
		p[k] = v
	}
	return p, nil
}

// continues reports whether line ends in an odd number of backslashes.
func continues(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func splitProperty(s string) (key, value string) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i += 2
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
		i++
	}
	key = unescape(s[:i])
	rest := strings.TrimLeft(s[i:], " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	return key, unescape(rest)
}

func unescape(s string) string {
	if !strings.ContainsRune(s, '\\') {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// LoadPropertyFile parses the property file at path.
func LoadPropertyFile(path string) (Properties, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("workload file: %w", err)
	}
	defer f.Close()
	p, err := ParseProperties(f)
	if err != nil {
		return nil, fmt.Errorf("workload file %s: %w", path, err)
	}
	return p, nil
}

// Set applies one "-p name=value" override.
func (p Properties) Set(override string) error {
	k, v, ok := strings.Cut(override, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("property override %q: want name=value", override)
	}
	p[k] = v
	return nil
}

// Merge copies every property of q into p, q winning.
func (p Properties) Merge(q Properties) { maps.Copy(p, q) }

// Keys returns the property names in order, for printing.
func (p Properties) Keys() []string { return slices.Sorted(maps.Keys(p)) }

// String returns the property or def when it is absent.
func (p Properties) String(name, def string) string {
	if v, ok := p[name]; ok {
		return strings.TrimSpace(v)
	}
	return def
}

// Int64 returns the property as an integer, def when absent.
func (p Properties) Int64(name string, def int64) (int64, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("property %s=%q: not an integer", name, v)
	}
	return n, nil
}

// Float returns the property as a number, def when absent.
func (p Properties) Float(name string, def float64) (float64, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return 0, fmt.Errorf("property %s=%q: not a number", name, v)
	}
	return f, nil
}

// Bool returns the property as a boolean, def when absent. Like Java's
// Boolean.parseBoolean, "true" in any case is true; unlike it, anything
// other than true/false is an error rather than a silent false.
func (p Properties) Bool(name string, def bool) (bool, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("property %s=%q: want true or false", name, v)
}
