package conn

import (
	"strings"
	"testing"
)

func TestMetaCommands(t *testing.T) {
	runTranscripts(t, Settings{}, metaTranscripts())
}

// metaTranscripts are checked against our Conn and against memcached.
func metaTranscripts() []transcript {
	long := strings.Repeat("k", 251)
	return []transcript{
		{name: "mn mg ms", in: "mn\r\nmg k v\r\nms k 2\r\nhi\r\nmg k v\r\nmg k s v f t k O123\r\nmg nokey v O5 k\r\nmg nokey v q\r\nmg k q\r\nmn\r\n",
			want: "MN\r\nEN\r\nHD\r\nVA 2\r\nhi\r\nVA 2 s2 f0 t-1 kk O123\r\nhi\r\nEN O5 knokey\r\nHD\r\nMN\r\n"},
		{name: "mg no key", in: "mg\r\nmg " + long + " v\r\n", want: "ERROR\r\nCLIENT_ERROR bad command line format\r\n"},
		{name: "mg flag errors", in: "mg k v v\r\nmg k Z\r\nmg k a b c d e f g h i j k l m n o p q r s t u v w x y z\r\nmg !!! b\r\n",
			want: "CLIENT_ERROR duplicate flag\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR options flags are too long\r\nCLIENT_ERROR error decoding key\r\n"},
		{name: "ms flags", in: "ms k 2 T0 F5 c k O1\r\nhi\r\nmg k f v\r\n",
			want: "HD c1 kk O1\r\nVA 2 f5\r\nhi\r\n"},
		{name: "ms errors", in: "ms k\r\nms k abc\r\nhi\r\nms k 2 Z\r\nhi\r\nms k 2 T0 T1\r\nhi\r\nms k 2 Tx\r\nhi\r\nms k 2 MX\r\nhi\r\nmn\r\n",
			want: "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n" +
				"CLIENT_ERROR invalid flag\r\nCLIENT_ERROR duplicate flag\r\nCLIENT_ERROR bad token in command line format\r\n" +
				"CLIENT_ERROR invalid mode for ms M token\r\nMN\r\n"},
		{name: "ms modes", in: "ms k 2 q\r\nhi\r\nms k 2 ME\r\nhi\r\nms k 2 MR C999999\r\nhi\r\nms nokey 2 MA\r\nhi\r\nms k 2 MA q\r\nhi\r\nms k 2 MP\r\nab\r\nmg k v\r\nmn\r\n",
			want: "NS\r\nEX\r\nNS\r\nHD\r\nVA 6\r\nabhihi\r\nMN\r\n"},
		{name: "ms too large", in: "ms k 3000000\r\n" + strings.Repeat("x", 3000002) + "mn\r\n",
			want: "SERVER_ERROR object too large for cache\r\nMN\r\n"},
		{name: "ms too large drops old value", in: "ms k 1\r\nx\r\nms k 3000000 MA\r\n" + strings.Repeat("x", 3000002) + "mg k v\r\n",
			want: "HD\r\nSERVER_ERROR object too large for cache\r\nEN\r\n"},
		{name: "ms too large quiet", in: "ms k 3000000 q\r\n" + strings.Repeat("x", 3000002) + "mn\r\n",
			want: "SERVER_ERROR object too large for cache\r\nMN\r\n"},
		{name: "ms bad chunk quiet", in: "ms k 2 q\r\nhiXX\r\nmn\r\n", want: "CLIENT_ERROR bad data chunk\r\nERROR\r\nMN\r\n"},
		{name: "ms base64", in: "ms k 2 b\r\nhi\r\nms aGk= 2 b k O9\r\nhi\r\nmg aGk= b k v\r\nmd aGk= b k q\r\nmd aGk= b k\r\n",
			want: "CLIENT_ERROR error decoding key\r\nHD kaGk= b O9\r\nVA 2 kaGk= b\r\nhi\r\nNF kaGk= b\r\n"},
		{name: "md", in: "md k q\r\nmd k\r\nmd k O1 k\r\nmd k Zz\r\nms k 1\r\nx\r\nmd k q\r\nmd k\r\nmd " + long + "\r\nmn\r\n",
			want: "NF\r\nNF\r\nNF O1 kk\r\nCLIENT_ERROR invalid or duplicate flag\r\nHD\r\nNF\r\nCLIENT_ERROR bad command line format\r\nMN\r\n"},
		{name: "ma", in: "ma k\r\nma k N0 J10\r\nma k v\r\nma k MD D5 v t\r\nma k M+ q\r\nma k MX\r\nma k Dx\r\nma nokey q\r\nmn\r\n",
			want: "NF\r\nHD\r\nVA 2\r\n11\r\nVA 1 t-1\r\n6\r\nCLIENT_ERROR invalid mode for ma M token\r\nCLIENT_ERROR invalid or duplicate flag\r\nNF\r\nMN\r\n"},
		{name: "ma non numeric", in: "ms k 2\r\nhi\r\nma k\r\n", want: "HD\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"},
		{name: "ma cas", in: "ma k N0 J5 c\r\nma k c v\r\nma k C1 v\r\nma k C2 v c\r\n",
			want: "HD c1\r\nVA 1 c2\r\n6\r\nEX\r\nVA 1 c3\r\n7\r\n"},
		{name: "mg ttl", in: "ms k 2 T100\r\nhi\r\nmg k t v\r\nmg k T200 t\r\nmg k t\r\n",
			want: "HD\r\nVA 2 t100\r\nhi\r\nHD t200\r\nHD t200\r\n"},
		{name: "stale and win", in: "ms k 2 I\r\nhi\r\nmd k I T30\r\nmg k v t\r\nmg k v\r\nmd k q\r\nmg k v\r\nmd k\r\n",
			want: "HD\r\nHD\r\nVA 2 t30 X W\r\nhi\r\nVA 2 Z X\r\nhi\r\nEN\r\nNF\r\n"},
		{name: "vivify", in: "mg k N30 v t\r\nmg k v t\r\nmg k v\r\n", want: "VA 0 t30 W\r\n\r\nVA 0 t30 Z\r\n\r\nVA 0 Z\r\n\r\n"},
		// The E flag (set the item's CAS) postdates 1.6.18, which calls
		// it invalid; we follow protocol.txt.
		{name: "ms E", ours: true, in: "ms k 2 E5\r\nhi\r\nmg k c\r\nms k 2 C5 E9 c\r\nhi\r\n", want: "HD\r\nHD c5\r\nHD c9\r\n"},
		{name: "me", in: "ms k 2 T100\r\nhi\r\nme k\r\nmg k v\r\nme k\r\nme nokey\r\nme k b\r\nme\r\n",
			want: "HD\r\nME k exp=-100 la=0 cas=1 fetch=no cls=1 size=62\r\nVA 2\r\nhi\r\nME k exp=-100 la=0 cas=1 fetch=yes cls=1 size=62\r\n" +
				"EN\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n"},
		{name: "me base64", in: "ms aw== 2 b\r\nhi\r\nme aw== b\r\n", want: "HD\r\nME aw== exp=-1 la=0 cas=1 fetch=no cls=1 size=62\r\n"},
	}
}
