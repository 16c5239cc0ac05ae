package diggi

import (
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	c, err := LoadConfig("testdata/instance.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.Instance != "node1" || c.Address != "127.0.0.1:7000" || len(c.Agents) != 3 || c.QueueSize != 64 {
		t.Fatalf("parsed %+v", c)
	}
	if !c.Agents[1].Trusted || c.Agents[1].Options["memory"] != "64" || c.Agents[0].Trusted {
		t.Errorf("agents %+v", c.Agents)
	}
	if _, err := LoadConfig("testdata/missing.json"); err == nil {
		t.Error("missing file loaded")
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, json, want string }{
		{"unknown field", `{"instance":"a","agents":[],"agnets":[]}`, "unknown field"},
		{"no instance", `{"agents":[]}`, "instance has no name"},
		{"slash in name", `{"instance":"a/b","agents":[]}`, "without '/'"},
		{"agent without kind", `{"instance":"a","agents":[{"name":"x"}]}`, "has no kind"},
		{"duplicate agent", `{"instance":"a","agents":[{"name":"x","kind":"k"},{"name":"x","kind":"k"}]}`, "used twice"},
		{"bad queue size", `{"instance":"a","agents":[],"queue_size":-1}`, "queue_size"},
		{"trailing data", `{"instance":"a","agents":[]} {}`, "trailing"},
		{"not json", `instance: a`, "parse diggi config"},
		{"option not a string", `{"instance":"a","agents":[{"name":"x","kind":"k","options":{"m":64}}]}`, "parse diggi config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	o := Options{"n": "12", "b": "true", "d": "2s", "bad": "x"}
	if n, err := o.Int("n", 0); n != 12 || err != nil {
		t.Errorf("Int: %d %v", n, err)
	}
	if n, err := o.Int("missing", 5); n != 5 || err != nil {
		t.Errorf("Int default: %d %v", n, err)
	}
	if _, err := o.Int("bad", 0); err == nil {
		t.Error("Int of x succeeded")
	}
	if b, err := o.Bool("b", false); !b || err != nil {
		t.Errorf("Bool: %v %v", b, err)
	}
	if d, err := o.Duration("d", 0); d.Seconds() != 2 || err != nil {
		t.Errorf("Duration: %v %v", d, err)
	}
	if o.String("missing", "def") != "def" || o.String("n", "") != "12" {
		t.Error("String")
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"instance":"a","agents":[{"name":"x","kind":"k","trusted":true,"options":{"p":"1"}}]}`))
	f.Add([]byte(`{"instance":"a","id":7,"address":"127.0.0.1:1","queue_size":8,"agents":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted a config Validate rejects: %v", err)
		}
	})
}
