package conn

import "testing"

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
		// The engine's memory limit is fixed at startup.
		{name: "cache_memlimit", ours: true, in: "cache_memlimit 100\r\ncache_memlimit 64 noreply\r\n",
			want: "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n"},
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
		// metadump needs an item walk the engine does not offer.
		{name: "metadump", ours: true, in: "lru_crawler metadump all\r\n", want: "ERROR metadump not allowed\r\n"},
	}
}
