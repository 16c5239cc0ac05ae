#!/bin/sh
# gen.sh rebuilds ketama/testdata/*.golden from libmemcached itself.
# Run from the repository root: sh tools/ketamagen/gen.sh
# Needs gcc and libmemcached-dev (Debian 1.1.4).
set -eu
out=ketama/testdata
bin=$(mktemp -d)/ketamagen
trap 'rm -rf "$(dirname "$bin")"' EXIT
gcc -O2 -Wall -o "$bin" tools/ketamagen/ketamagen.c -lmemcached

# Each file records its own ketamagen arguments in a "# ketamagen ..." header;
# ketama/golden_test.go reads that header to rebuild the distribution and,
# when gcc and libmemcached-dev exist, to rerun the generator and compare.
"$bin" ketama 127.0.0.1:11211:1,127.0.0.1:11212:1,127.0.0.1:11213:1 3000 >"$out/ketama_equal3.golden"
"$bin" ketama 10.0.0.1:11211:1,10.0.0.2:11211:2,10.0.0.3:11311:5,cache.example:11211:3 3000 >"$out/ketama_weighted4.golden"
"$bin" ketama a:1:7,b:2:1,c:3:13,d:4:2,e:5:1,f:6:9,g:11211:4 3000 >"$out/ketama_weighted7.golden"
"$bin" ketama-unweighted default 127.0.0.1:11211:1,127.0.0.1:11212:1,127.0.0.1:11213:1 3000 >"$out/ketama_unweighted_default3.golden"
"$bin" ketama-unweighted md5 10.0.0.1:11211:1,10.0.0.2:11211:1,10.0.0.3:11311:1,cache.example:11211:1 3000 >"$out/ketama_unweighted_md5_4.golden"
"$bin" modula default 10.0.0.1:11211:1,10.0.0.2:11211:1,10.0.0.3:11211:1,10.0.0.4:11211:1 2000 >"$out/modula_default4.golden"
"$bin" modula md5 a:1:1,b:2:1,c:3:1 2000 >"$out/modula_md5_3.golden"
"$bin" modula crc a:1:1,b:2:1,c:3:1,d:4:1,e:5:1 2000 >"$out/modula_crc5.golden"
"$bin" modula fnv1a_32 a:1:1,b:2:1,c:3:1 2000 >"$out/modula_fnv1a_32_3.golden"
"$bin" modula fnv1_32 a:1:1,b:2:1,c:3:1 2000 >"$out/modula_fnv1_32_3.golden"
"$bin" modula fnv1a_64 a:1:1,b:2:1,c:3:1 2000 >"$out/modula_fnv1a_64_3.golden"
"$bin" modula fnv1_64 a:1:1,b:2:1,c:3:1 2000 >"$out/modula_fnv1_64_3.golden"
