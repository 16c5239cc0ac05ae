package ycsb

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseProperties(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Properties
	}{
		{"equals", "a=1\nb = 2 \n", Properties{"a": "1", "b": "2 "}},
		{"colon and space", "a: 1\nb 2\n", Properties{"a": "1", "b": "2"}},
		{"comments", "# c\n! d\n  \na=x # not a comment\n", Properties{"a": "x # not a comment"}},
		{"continuation", "list=a,\\\n   b,\\\n   c\n", Properties{"list": "a,b,c"}},
		{"escaped separator", `a\=b=c`, Properties{"a=b": "c"}},
		{"escapes", `k=tab\there`, Properties{"k": "tab\there"}},
		{"empty value", "k=\n", Properties{"k": ""}},
		{"last wins", "k=1\nk=2", Properties{"k": "2"}},
		{"even backslashes do not continue", "k=a\\\\\nj=b", Properties{"k": `a\`, "j": "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProperties(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPropertyOverrides(t *testing.T) {
	p, err := ParseProperties(strings.NewReader("recordcount=1000\nreadproportion=0.95\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"recordcount=50", "fieldlength=1024", "x=a=b"} {
		if err := p.Set(o); err != nil {
			t.Fatal(err)
		}
	}
	if p["recordcount"] != "50" || p["fieldlength"] != "1024" || p["x"] != "a=b" || p["readproportion"] != "0.95" {
		t.Errorf("overrides not applied: %v", p)
	}
	for _, bad := range []string{"novalue", "=1", ""} {
		if err := p.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}

func TestNewWorkloadErrors(t *testing.T) {
	tests := []Properties{
		{"recordcount": "x"},
		{"readproportion": "lots"},
		{"readallfields": "maybe"},
		{"requestdistribution": "gaussian"},
		{"fieldlengthdistribution": "histogram"},
		{"fieldcount": "0"},
		{"readproportion": "0", "updateproportion": "0"},
		{"recordcount": "10", "insertstart": "5", "insertcount": "10"},
		{"minfieldlength": "10", "fieldlength": "5"},
		{"fieldnameprefix": `f"`},
		{"hdrhistogram.percentiles": "50,101"},
	}
	for _, p := range tests {
		if _, err := NewWorkload(p); !errors.Is(err, ErrBadWorkload) {
			t.Errorf("%v: err = %v, want ErrBadWorkload", p, err)
		}
	}
}

// TestBundledWorkloads checks every file in workloads/ parses, and that
// workload B is YCSB's: 95% reads, 5% updates, zipfian, 1000 records.
func TestBundledWorkloads(t *testing.T) {
	files, err := filepath.Glob("../workloads/workload*")
	if err != nil || len(files) < 6 {
		t.Fatalf("want workloads a-f, found %v (%v)", files, err)
	}
	for _, f := range files {
		p, err := LoadPropertyFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewWorkload(p); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	p, err := LoadPropertyFile("../workloads/workloadb")
	if err != nil {
		t.Fatal(err)
	}
	want := Properties{
		"recordcount": "1000", "operationcount": "1000",
		"workload":      "site.ycsb.workloads.CoreWorkload",
		"readallfields": "true", "readproportion": "0.95", "updateproportion": "0.05",
		"scanproportion": "0", "insertproportion": "0", "requestdistribution": "zipfian",
	}
	if !maps.Equal(p, want) {
		t.Errorf("workloadb = %v, want %v", p, want)
	}
	if _, err := os.Stat("../workloads/workloadb"); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseProperties(f *testing.F) {
	f.Add("a=1\nb: 2\n# c\nlist=x,\\\n y\n")
	f.Add(`k\=v=\t\\`)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParseProperties(strings.NewReader(in))
		if err != nil {
			return
		}
		for k, v := range p {
			if len(k)+len(v) > len(in) {
				t.Fatalf("property %q=%q longer than the input", k, v)
			}
		}
	})
}
