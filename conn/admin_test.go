package conn

import (
	"strings"
	"testing"
)

func TestAdminCommands(t *testing.T) {
	runTranscripts(t, Settings{}, adminTranscripts())
}

func adminTranscripts() []transcript {
	return []transcript{
		{name: "lru_crawler", in: "lru_crawler crawl all\r\nlru_crawler crawl x\r\nlru_crawler tocrawl 5\r\nlru_crawler tocrawl x\r\n" +
			"lru_crawler sleep 2000000\r\nlru_crawler sleep 10\r\nlru_crawler\r\nlru_crawler foo bar\r\nlru_crawler enable\r\n",
			want: "OK\r\nBADCLASS invalid class id\r\nOK\r\nCLIENT_ERROR bad command line format\r\n" +
				"CLIENT_ERROR sleep must be one second or less\r\nOK\r\nERROR\r\nERROR\r\nERROR failed to start lru crawler thread\r\n"},
		{name: "cache_memlimit errors", in: "cache_memlimit 2\r\ncache_memlimit x\r\ncache_memlimit 2000000000\r\ncache_memlimit\r\n",
			want: "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\nERROR\r\nMEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\nERROR\r\n"},
		{name: "cache_memlimit", in: "cache_memlimit 100\r\ncache_memlimit 64 noreply\r\ncache_memlimit 8\r\n",
			want: "OK\r\nOK\r\n"},
		{name: "slabs automove", in: "slabs automove 0\r\nslabs automove 3\r\nslabs automove x\r\nslabs automove ratio 0.5\r\n" +
			"slabs automove ratio x\r\nslabs automove ratio\r\nslabs automove 1 noreply\r\n",
			want: "OK\r\nERROR\r\nCLIENT_ERROR bad command line format\r\nOK\r\nERROR\r\nERROR\r\n"},
		{name: "slabs reassign", in: "slabs reassign 1 2\r\nslabs reassign 1 1\r\nslabs reassign 0 99\r\nslabs reassign -1 5\r\n" +
			"slabs reassign x 1\r\nslabs reassign 0 1\r\nslabs reassign -2 1\r\nslabs reassign 1\r\n",
			want: "NOSPARE source class has no spare pages\r\nSAME src and dst class are identical\r\nBADCLASS invalid src or dst class id\r\n" +
				"BADCLASS invalid src or dst class id\r\nCLIENT_ERROR bad command line format\r\nNOSPARE source class has no spare pages\r\n" +
				"BADCLASS invalid src or dst class id\r\nERROR\r\n"},
		{name: "debug-only commands", in: "misbehave\r\ndebugtime 1\r\nverbosity noreply\r\nverbosity 1 noreply\r\nverbosity 1 2 3\r\n",
			want: "ERROR\r\nERROR\r\nERROR\r\n"},
		{name: "metadump empty", in: "lru_crawler metadump all\r\n", want: "END\r\n"},
		{name: "metadump bad class", in: "lru_crawler metadump 99\r\n", want: "BADCLASS invalid class id\r\n"},
		{name: "metadump pipelined", whole: true, in: "version\r\nlru_crawler metadump all\r\n",
			want: "VERSION 1.6.18\r\nERROR cannot pipeline other commands before metadump\r\n"},
		{name: "lru", in: "lru tune 10 25 0.1 2.0\r\nlru tune 10 25 0.1\r\nlru tune 50 50 0.1 2.0\r\nlru tune 10 10 0 1\r\n" +
			"lru tune x 1 1 1\r\nlru mode flat\r\nlru mode segmented\r\nlru mode bogus\r\nlru temp_ttl 30\r\nlru temp_ttl -1\r\n" +
			"lru temp_ttl x\r\nlru foo\r\nlru mode flat noreply\r\n",
			want: "OK\r\nERROR\r\nERROR hot and warm pcts must not exceed 80\r\nERROR hot/warm age factors must be greater than 0\r\n" +
				"ERROR\r\nOK\r\nOK\r\nERROR\r\nOK\r\nOK\r\nERROR\r\nERROR\r\n"},
		{name: "stats sizes and extstore", in: "stats sizes\r\nstats sizes_enable\r\nstats sizes\r\nset b 0 0 3\r\nabc\r\nstats sizes\r\n" +
			"stats sizes_disable\r\nstats sizes\r\nstats extstore\r\n",
			want: "STAT sizes_status disabled\r\nEND\r\nSTAT sizes_status enabled\r\nEND\r\nSTORED\r\nSTAT 64 1\r\nEND\r\n" +
				"STAT sizes_status disabled\r\nSTAT sizes_status disabled\r\nEND\r\nEND\r\n"},
	}
}

// TestLruSettingsShow: what lru tune|mode|temp_ttl set is what "stats
// settings" reports, as in memcached.
func TestLruSettingsShow(t *testing.T) {
	r := newRig(t, Settings{})
	r.run("lru tune 10 25 0.1 2.5\r\nlru mode flat\r\nlru temp_ttl 30\r\n", 0)
	out := r.run("stats settings\r\n", 0)
	for _, want := range []string{"STAT hot_lru_pct 10\r\n", "STAT warm_lru_pct 25\r\n", "STAT hot_max_factor 0.10\r\n",
		"STAT warm_max_factor 2.50\r\n", "STAT lru_segmented no\r\n", "STAT temp_lru yes\r\n", "STAT temporary_ttl 30\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats settings lacks %q", want)
		}
	}
}
